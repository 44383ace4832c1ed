"""Socket.IO namespaces: ``/live`` for everyone, ``/dispatch`` for signed-in dispatchers.

Broadcasts go out in batches from ``fleet.broadcast``; here a client that joins is
given the current state at once, so a map never waits for the next truck to move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import current_user
from flask_socketio import emit

from fleet.broadcast import live_position, position_payload
from fleet.extensions import socketio
from fleet.runtime import get_runtime
from fleet.store.queries import live_states

__all__ = ["current_positions", "register"]


def current_positions(public_only: bool) -> list[dict[str, Any]]:
    runtime = get_runtime()
    reference = runtime.reference.get()
    now = datetime.now(UTC)
    with runtime.db.read() as session:
        states = live_states(session)
    positions = [live_position(s, reference, now) for s in states]
    return [
        position_payload(p) for p in positions if p is not None and (p.public or not public_only)
    ]


def live_connect(auth: Any = None) -> None:
    emit("positions", {"trucks": current_positions(public_only=True)})


def dispatch_connect(auth: Any = None) -> bool:
    if not current_user.is_authenticated:
        return False
    emit("positions", {"trucks": current_positions(public_only=False)})
    return True


def register() -> None:
    """Attach the handlers to the Socket.IO server of the app being created.

    Called after ``socketio.init_app``: each app gets a fresh server, and a decorator
    run at import time would have bound the handlers to the first app's server only.
    """
    socketio.on_event("connect", live_connect, namespace="/live")
    socketio.on_event("connect", dispatch_connect, namespace="/dispatch")
