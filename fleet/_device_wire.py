"""The HTTP requests real tracking apps send, built from simulated fixes.

Five forms, each exactly as its client sends it:

- ``osmand-query``: old Traccar Client for Android, ``POST /osmand?id=..&timestamp=..``
  with an empty body; epoch seconds, speed in knots, battery in percent.
- ``osmand-form``: current Android client, the same fields form-encoded in the body.
- ``osmand-json``: Traccar Client 9, one JSON location object; speed in m/s, ISO time,
  battery level 0..1.
- ``generic-get``: a home-made tracker, ``GET /osmand?..`` with an ISO-8601 timestamp.
- ``batch``: our JSON batch API, ``POST /api/v1/pings`` with up to 1,000 fixes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from fleet.simulator import SimFix

__all__ = ["BATCH_LIMIT", "KNOTS_PER_MPS", "Protocol", "WireRequest", "encode"]

#: Metres per second to knots, the OsmAnd protocol's speed unit.
KNOTS_PER_MPS = 3600.0 / 1852.0
#: Most fixes the batch API takes in one request.
BATCH_LIMIT = 1000


class Protocol(StrEnum):
    """How a simulated device talks to the server."""

    OSMAND_QUERY = "osmand-query"
    OSMAND_FORM = "osmand-form"
    OSMAND_JSON = "osmand-json"
    GENERIC_GET = "generic-get"
    BATCH = "batch"

    @property
    def per_request(self) -> int:
        """How many fixes one request carries at most."""
        return BATCH_LIMIT if self is Protocol.BATCH else 1


@dataclass(frozen=True)
class WireRequest:
    """Everything ``requests`` needs; ``path`` is joined to the server's base URL."""

    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def encode(
    protocol: Protocol, device_id: str, fixes: Sequence[SimFix], clock_offset_s: float = 0.0
) -> WireRequest:
    """The request carrying ``fixes`` (one, except for batch), times shifted by the offset."""
    if len(fixes) > protocol.per_request or not fixes:
        raise ValueError(f"{protocol} carries 1..{protocol.per_request} fixes, got {len(fixes)}")
    shift = timedelta(seconds=clock_offset_s)
    if protocol is Protocol.BATCH:
        items = [_batch_item(f, f.t + shift) for f in fixes]
        return _json_request("/api/v1/pings", items, {"Authorization": f"Bearer {device_id}"})
    fix = fixes[0]
    moment = fix.t + shift
    if protocol is Protocol.OSMAND_JSON:
        return _json_request("/osmand", _traccar9_document(device_id, fix, moment), {})
    if protocol is Protocol.GENERIC_GET:
        stamp = _iso(moment, "seconds")
        return WireRequest("GET", "/osmand", urlencode(_osmand_fields(device_id, fix, stamp)))
    fields = urlencode(_osmand_fields(device_id, fix, str(int(moment.timestamp()))))
    if protocol is Protocol.OSMAND_QUERY:
        return WireRequest("POST", "/osmand", fields)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return WireRequest("POST", "/osmand", body=fields.encode(), headers=form)


def _osmand_fields(device_id: str, fix: SimFix, timestamp: str) -> list[tuple[str, str]]:
    """Field order and number format as the Android client writes them (Java doubles)."""
    return [
        ("id", device_id),
        ("timestamp", timestamp),
        ("lat", repr(fix.lat)),
        ("lon", repr(fix.lon)),
        ("speed", repr(round(fix.speed_mps * KNOTS_PER_MPS, 2))),
        ("bearing", repr(fix.heading_deg)),
        ("altitude", repr(fix.altitude_m)),
        ("accuracy", repr(fix.accuracy_m)),
        ("batt", repr(fix.battery_pct)),
    ]


def _traccar9_document(device_id: str, fix: SimFix, moment: datetime) -> dict[str, Any]:
    return {
        "device_id": device_id,
        "location": {
            "timestamp": _iso(moment, "milliseconds"),
            "coords": {
                "latitude": fix.lat,
                "longitude": fix.lon,
                "speed": fix.speed_mps,
                "heading": fix.heading_deg,
                "altitude": fix.altitude_m,
                "accuracy": fix.accuracy_m,
            },
            "is_moving": fix.speed_mps > 0.0,
            "odometer": fix.odometer_m,
            "battery": {"level": round(fix.battery_pct / 100.0, 3), "is_charging": False},
        },
    }


def _batch_item(fix: SimFix, moment: datetime) -> dict[str, Any]:
    return {
        "time": _iso(moment, "milliseconds"),
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_mps": fix.speed_mps,
        "heading_deg": fix.heading_deg,
        "accuracy_m": fix.accuracy_m,
        "altitude_m": fix.altitude_m,
        "battery_pct": fix.battery_pct,
    }


def _json_request(path: str, document: Any, headers: dict[str, str]) -> WireRequest:
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", **headers}
    return WireRequest("POST", path, body=body, headers=headers)


def _iso(moment: datetime, timespec: str) -> str:
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
