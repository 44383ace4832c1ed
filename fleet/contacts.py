"""Devices' last contact and last fix, noted per request and written once per interval.

Dispatchers see a device as online, stale or offline from these two times, at minutes
of resolution. Updating the device's row inside every request's commit cost ingestion
a statement and, across concurrent commits, waits on that row's lock: a fifth of the
single-fix rate. So requests note the times here, and the server's flusher writes them
in one statement per interval. A crash loses at most one interval of contact times,
never a fix; the next request from the device brings them back.
"""

from __future__ import annotations

import threading
from datetime import datetime

from fleet.db import Database
from fleet.store.devices import touch_many

__all__ = ["Contacts"]


class Contacts:
    """The newest contact and fix time of each device since the last write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, tuple[datetime, datetime | None]] = {}

    def note(self, device_id: int, contact_at: datetime, fix_at: datetime | None) -> None:
        with self._lock:
            self._merge(device_id, contact_at, fix_at)

    def flush(self, db: Database) -> int:
        """Write what was noted; returns how many devices. If the write fails, the
        times stay noted for the next flush and the error propagates."""
        with self._lock:
            taken, self._latest = self._latest, {}
        if not taken:
            return 0
        try:
            with db.write() as session:
                touch_many(session, [(d, c, f) for d, (c, f) in sorted(taken.items())])
        except BaseException:
            with self._lock:
                for device_id, (contact_at, fix_at) in taken.items():
                    self._merge(device_id, contact_at, fix_at)
            raise
        return len(taken)

    def _merge(self, device_id: int, contact_at: datetime, fix_at: datetime | None) -> None:
        seen = self._latest.get(device_id)
        if seen is not None:
            contact_at = max(contact_at, seen[0])
            fix_at = max((t for t in (fix_at, seen[1]) if t is not None), default=None)
        self._latest[device_id] = (contact_at, fix_at)
