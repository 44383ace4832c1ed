"""Run the app: the main port, and optionally a second port where every path is OsmAnd.

Under gevent (the default for ``fleet serve``) one process holds thousands of open
sockets cheaply; the caller must have monkey-patched before anything else started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


__all__ = ["patch_for_gevent", "run", "osmand_only"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def patch_for_gevent() -> str:
    """Monkey-patch the standard library if gevent is installed; returns the async mode."""
    try:
        from gevent import monkey
    except ImportError:
        return "threading"
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    return "gevent"


def osmand_only(app: Flask) -> WSGIApp:
    """A WSGI app that treats every path as /osmand, as a Traccar server's OsmAnd port does."""
    from fleet.api.osmand import OsmAndEndpoint

    return OsmAndEndpoint(app, app.wsgi_app, every_path=True)


def run(
    app: Flask, *, host: str, port: int, osmand_port: int | None = None, worker: str = "process"
) -> None:
    """Serve until interrupted, flushing live updates once per interval.

    ``worker``: where pings are snapped and counted: ``process``, a child process (the
    second core); ``inline``, this process; ``none``, separate ``fleet worker``
    processes that report through the message queue.
    """
    from fleet.extensions import socketio
    from fleet.runtime import get_runtime, start_flusher, start_worker

    runtime = get_runtime(app)
    if worker == "process":
        from fleet.worker_process import WorkerProcess

        WorkerProcess(app, runtime).start()
    elif worker == "inline":
        start_worker(app)
    else:
        runtime.worker.external = True
    start_flusher(app)
    if osmand_port is not None:
        _serve_osmand(app, host, osmand_port)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=False)


def _serve_osmand(app: Flask, host: str, port: int) -> None:
    if app.config.get("ASYNC_MODE") == "gevent":
        from gevent.pywsgi import WSGIServer

        WSGIServer((host, port), osmand_only(app), log=None).start()
        return
    import threading

    from werkzeug.serving import make_server

    server = make_server(host, port, osmand_only(app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="osmand").start()
