"""What one app holds while it runs: database, broadcaster, spatial indexes, rate limits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from fleet.broadcast import Broadcaster
from fleet.commit import GroupCommit
from fleet.contacts import Contacts
from fleet.db import Database, open_database
from fleet.extensions import csrf, login_manager, socketio
from fleet.ratelimit import RateLimiter
from fleet.reference_cache import ReferenceCache
from fleet.worker import Worker

__all__ = ["Runtime", "get_runtime", "init_app", "run_monitor", "start_flusher", "start_worker"]

log = logging.getLogger(__name__)

#: How often time-based alerts (stale, offline, idle, missed bins) are checked.
MONITOR_INTERVAL_S = 30.0


@dataclass
class Runtime:
    db: Database
    broadcaster: Broadcaster
    reference: ReferenceCache
    limiter: RateLimiter
    flusher_started: bool = False
    worker: Worker = field(init=False)
    commits: GroupCommit = field(init=False)
    devices: dict[str, tuple[Any, float]] = field(default_factory=dict)
    contacts: Contacts = field(default_factory=Contacts)

    def __post_init__(self) -> None:
        self.worker = Worker(self)
        self.commits = GroupCommit(self.db)


def init_app(app: Flask) -> None:
    config = app.config
    db = open_database(
        config["DATABASE_URL"],
        sqlite_synchronous=config["SQLITE_SYNCHRONOUS"],
        check=config.get("CHECK_DATABASE", True),
    )
    socketio.init_app(
        app,
        message_queue=config["MESSAGE_QUEUE"],
        channel=config["MESSAGE_CHANNEL"],
        async_mode=config.get("ASYNC_MODE", "threading"),
        cors_allowed_origins=config.get("CORS_ORIGINS", []),
        logger=False,
        engineio_logger=False,
    )
    login_manager.init_app(app)
    csrf.init_app(app)

    def emit(event: str, data: dict[str, Any], namespace: str) -> None:
        socketio.emit(event, data, namespace=namespace)

    app.extensions["fleet"] = Runtime(
        db=db,
        broadcaster=Broadcaster(emit),
        reference=ReferenceCache(db, config),
        limiter=RateLimiter(config["DEVICE_RATE"], config["DEVICE_BURST"]),
    )


def get_runtime(app: Flask | None = None) -> Runtime:
    runtime: Runtime = (app or current_app).extensions["fleet"]
    return runtime


def run_monitor(app: Flask) -> int:
    """Raise time-based alerts and queue them for the dashboard; returns how many."""
    from fleet.monitor import check

    runtime = get_runtime(app)
    try:
        with runtime.db.write() as session:
            alerts = check(session, runtime.reference.get(), datetime.now(UTC))
    except Exception:  # the database may be away; try again next round
        log.exception("alert check failed")
        return 0
    for alert in alerts:
        runtime.broadcaster.alert(alert)
    return len(alerts)


def _write_contacts(runtime: Runtime) -> None:
    try:
        runtime.contacts.flush(runtime.db)
    except Exception:  # the database may be away: the times stay noted for the next tick
        log.exception("could not write device contact times")


def start_worker(app: Flask) -> None:
    """Process queued pings in the background from now on (ingestion only wakes it)."""
    runtime = get_runtime(app)
    if runtime.worker.started:
        return
    runtime.worker.started = True

    def loop() -> None:
        with app.app_context():
            runtime.worker.run_forever()

    socketio.start_background_task(loop)


def start_flusher(app: Flask) -> None:
    """Send batched live updates once per interval, for as long as the server runs."""
    runtime = get_runtime(app)
    if runtime.flusher_started:
        return
    runtime.flusher_started = True
    interval_s = app.config["BROADCAST_INTERVAL_S"]
    every = max(1, round(MONITOR_INTERVAL_S / interval_s))

    def loop() -> None:
        ticks = 0
        while True:
            socketio.sleep(interval_s)
            ticks += 1
            with app.app_context():
                runtime.broadcaster.flush()  # first: live maps never wait for the database
                _write_contacts(runtime)
                if ticks % every == 0:
                    run_monitor(app)

    socketio.start_background_task(loop)
