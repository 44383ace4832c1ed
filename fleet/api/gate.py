"""Who may post fixes, and the hand-off of what they post: shared by both device endpoints.

Framework-neutral (no Flask request in sight), because the OsmAnd endpoint runs as bare
WSGI in front of Flask while the batch API is a Flask view: both must refuse the same
devices, throttle the same way and acknowledge only after the same commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from fleet.api.errors import Failure
from fleet.fix import Fix
from fleet.pipeline import Accepted, Arrival, accept_many
from fleet.runtime import Runtime
from fleet.store.devices import DeviceRef, find_device
from fleet.validate import FixRules

__all__ = ["admit", "fix_rules", "ingest"]

#: A disabled or new device takes effect within this many seconds.
DEVICE_CACHE_S = 5.0
DEVICE_CACHE_SIZE = 10_000

log = logging.getLogger(__name__)


def fix_rules(config: Mapping[str, Any]) -> FixRules:
    """The validation rules of an app's settings, built once per app."""
    rules: FixRules | None = config.get("_FIX_RULES")
    if rules is None:
        rules = FixRules(
            max_future_s=config["MAX_FUTURE_S"],
            max_speed_mps=config["MAX_SPEED_MPS"],
            local_tz=ZoneInfo(config["LOCAL_TZ"]),
        )
        if isinstance(config, dict):
            config["_FIX_RULES"] = rules
    return rules


def admit(
    runtime: Runtime, identifier: str | None, remote_addr: str | None, unknown: Failure
) -> DeviceRef | Failure:
    """The enabled device named by ``identifier``, or why the request is refused:
    ``unknown`` for a missing, unknown or disabled device, 429 for an address that keeps
    naming unknown devices (guessing identifiers must cost neither a database read each
    nor succeed by brute force) or for a device that floods."""
    probing_key = f"unknown-device:{remote_addr}"
    wait_s = runtime.limiter.waiting(probing_key)
    if wait_s > 0:
        return _too_many("too many unknown device identifiers from this address", wait_s)
    device = _device(runtime, identifier) if identifier else None
    if device is None:
        runtime.limiter.allow(probing_key)
        return unknown
    wait_s = runtime.limiter.allow(str(device.id))
    if wait_s > 0:
        return _too_many("too many requests from this device; slow down", wait_s)
    return device


def ingest(
    runtime: Runtime, device: DeviceRef, fixes: Sequence[tuple[int, Fix]], received_at: datetime
) -> Accepted:
    """Commit the raw fixes (the acknowledgement), note the contact, then have the
    fixes processed. A heartbeat (no fixes) commits nothing."""
    result = Accepted()
    if fixes:
        result = runtime.commits.run_batched(accept_many, Arrival(device, fixes, received_at))
    if result.stored:
        runtime.worker.after_commit(device.truck_id)
    runtime.contacts.note(device.id, received_at, result.newest)
    if not runtime.flusher_started:  # no server loop to write contacts: write them now
        try:
            runtime.contacts.flush(runtime.db)
        except SQLAlchemyError:  # the fixes are stored; the times wait for the next request
            log.warning("could not write device contact times", exc_info=True)
    return result


def _too_many(message: str, wait_s: float) -> Failure:
    return Failure(429, message, headers={"Retry-After": str(max(1, round(wait_s)))})


def _device(runtime: Runtime, identifier: str) -> DeviceRef | None:
    """The enabled device with this identifier, looked up at most every few seconds."""
    now = time.monotonic()
    cached = runtime.devices.get(identifier)
    if cached is not None and cached[1] > now:
        device: DeviceRef | None = cached[0]
    else:
        with runtime.db.read() as session:
            device = find_device(session, identifier)
        if len(runtime.devices) > DEVICE_CACHE_SIZE:
            runtime.devices.clear()
        runtime.devices[identifier] = (device, now + DEVICE_CACHE_S)
    return device if device is not None and device.enabled else None
