"""The validated GPS fix: the one value every protocol decodes into.

Protocols (``fleet.protocols``) turn HTTP payloads into ``Fix`` values; everything
downstream (snap, store, coverage, broadcast) sees only these. Coordinates are WGS84
degrees; times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["WITA", "Fix", "FixError"]

#: Kupang's local time zone (UTC+8, no daylight saving).
WITA = ZoneInfo("Asia/Makassar")


@dataclass(frozen=True, slots=True)
class Fix:
    """One position report from a device, already validated."""

    time: datetime
    lat: float
    lon: float
    speed_mps: float | None = None
    heading_deg: float | None = None
    accuracy_m: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class FixError(ValueError):
    """A fix that cannot be accepted; ``field`` names the offending input field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "error": self.reason}
