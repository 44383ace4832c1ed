"""Processing in a child process of the server, reporting back over a pipe.

Python runs one core per process. In one process, answering devices and snapping and
counting their pings share that core, and each halves the other's rate; the embedded
deployment (one machine, SQLite, no Redis) would leave its second core idle. So
``fleet serve`` starts ``fleet worker --report`` as its child:

- the server writes a byte to the child's standard input after each commit that stored
  fixes (the child wakes at once instead of polling);
- the child writes each processing result as one JSON line to its standard output, and
  the server hands it to its broadcaster, as the in-process worker would;
- the child exits when its input closes (the server is gone, however it died), and the
  server starts a new child if its child dies.

Nothing is lost if either dies: the queue of pings is in the database.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from fleet.broadcast import BinUpdate, LivePosition
from fleet.config import SETTINGS
from fleet.pipeline import ProcessResult

if TYPE_CHECKING:
    from flask import Flask

    from fleet.runtime import Runtime

__all__ = ["WorkerProcess", "decode_result", "encode_result", "report_forever"]

log = logging.getLogger(__name__)

#: The child's lower CPU priority: answering devices comes before processing, which
#: catches up when the load drops.
NICE = 5
#: Wait before starting a new child after one died.
RESTART_S = 1.0


def encode_result(result: ProcessResult) -> bytes:
    """One JSON line for the pipe."""
    position = result.position
    doc = {
        "processed": result.processed,
        "position": None if position is None else _position_json(position),
        "bins": [[b.bin_id, b.last_serviced_at.isoformat(), b.service_class] for b in result.bins],
        "route_ids": sorted(result.route_ids),
        "alerts": result.alerts,
    }
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def decode_result(line: bytes) -> ProcessResult:
    """The ``ProcessResult`` of one line written by ``encode_result``."""
    doc = json.loads(line)
    position = doc["position"]
    return ProcessResult(
        processed=doc["processed"],
        position=None if position is None else _position(position),
        bins=[BinUpdate(b, datetime.fromisoformat(t), c) for b, t, c in doc["bins"]],
        route_ids=set(doc["route_ids"]),
        alerts=doc["alerts"],
    )


def _position_json(p: LivePosition) -> dict[str, Any]:
    return {**dataclasses.asdict(p), "fix_time": p.fix_time.isoformat()}


def _position(doc: dict[str, Any]) -> LivePosition:
    return LivePosition(**{**doc, "fix_time": datetime.fromisoformat(doc["fix_time"])})


class WorkerProcess:
    """The server's side: starts the child, wakes it, publishes what it reports."""

    def __init__(self, app: Flask, runtime: Runtime) -> None:
        self._app = app
        self._runtime = runtime
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child and the thread (a greenlet under gevent) that reads it."""
        self._spawn()
        self._runtime.worker.signal = self.wake
        threading.Thread(target=self._read_forever, daemon=True, name="worker-pipe").start()

    def wake(self) -> None:
        """Tell the child that pings are queued; never blocks or fails the request that
        calls it: a full pipe already holds a wake, a closed one means the child died
        and is being replaced."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            return
        try:
            os.write(proc.stdin.fileno(), b"\n")
        except (BlockingIOError, OSError, ValueError):
            pass

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(10)

    def _spawn(self) -> None:
        config = self._app.config
        env = dict(os.environ)
        for setting in SETTINGS:
            value = config.get(setting.name)
            if value is not None:
                env[f"FLEET_{setting.name}"] = str(value)
        command = [sys.executable, "-m", "fleet", "worker", "--report"]
        proc = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        self._proc = proc
        log.info("processing in child process %d", proc.pid)

    def _read_forever(self) -> None:
        """Publish what the child reports; when it ends, start another (and keep trying:
        a server without its child would acknowledge pings nobody processes)."""
        while self._proc is not None:
            proc = self._proc
            try:
                self._publish_all(proc)
            except Exception:
                log.exception("reading the processing child failed")
            if self._proc is not proc:  # stopped on purpose
                return
            proc.kill()
            log.warning("processing child exited with %s; starting another", proc.wait())
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            time.sleep(RESTART_S)
            try:
                self._spawn()
            except Exception:
                log.exception("could not start a processing child; retrying")

    def _publish_all(self, proc: subprocess.Popen[bytes]) -> None:
        from fleet.worker import publish

        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                result = decode_result(line)
            except (ValueError, KeyError, TypeError):
                log.exception("unreadable line from the processing child: %r", line[:200])
                continue
            publish(self._runtime, result)


def report_forever(app: Flask) -> None:
    """The child's side: process queued pings, each result a line on standard output,
    woken by each line on standard input; exit when standard input closes."""
    from fleet.runtime import get_runtime

    os.nice(NICE)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not break the pipe
    runtime = get_runtime(app)
    worker = runtime.worker

    def report(result: ProcessResult) -> None:
        out.write(encode_result(result))
        out.flush()

    worker.report = report
    worker.started = True
    threading.Thread(
        target=_wake_on_input, args=(worker.wake, sys.stdin.buffer), daemon=True
    ).start()
    with app.app_context():
        worker.run_forever()


def _wake_on_input(wake: Any, stream: IO[bytes]) -> None:
    """Each chunk of input wakes the worker; the end of input ends the process."""
    try:
        read = _reader(stream)
        while read():
            wake()
    finally:
        os._exit(0)


def _reader(stream: IO[bytes]) -> Any:
    """A read that lets other greenlets run while it waits, under gevent or not."""
    fd = stream.fileno()
    try:
        from gevent import monkey
        from gevent.os import make_nonblocking, nb_read
    except ImportError:
        return lambda: os.read(fd, 4096)
    if not monkey.is_module_patched("socket"):
        return lambda: os.read(fd, 4096)
    make_nonblocking(fd)
    return lambda: nb_read(fd, 4096)
