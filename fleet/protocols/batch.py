"""The JSON batch API body (``POST /api/v1/pings``): a JSON array of fixes.

Devices that buffer while out of coverage (common on Kupang's outskirts) upload
hundreds of fixes at once; one bad fix must not cost the others, so each is
validated alone and rejected with its index. Only a body that is not an array of
acceptable length fails as a whole. Pure: no Flask, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.fix import Fix, FixError
from fleet.validate import FixRules, RawFix, json_body, validate_fix

__all__ = ["DEFAULT_MAX_FIXES", "BatchDecoded", "Rejected", "decode_batch"]

DEFAULT_MAX_FIXES = 1000

#: The batch fields with a place in ``Fix``; they are named as in ``Fix``.
_FIELDS = (
    "time",
    "lat",
    "lon",
    "speed_mps",
    "heading_deg",
    "accuracy_m",
    "altitude_m",
    "battery_pct",
)
_REQUIRED = ("time", "lat", "lon")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A fix of the batch that was not accepted, by its position in the array."""

    index: int
    field: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "error": self.reason}


@dataclass(frozen=True, slots=True)
class BatchDecoded:
    """Accepted fixes with their array index, in array order, and the rejected ones."""

    fixes: list[tuple[int, Fix]]
    rejected: list[Rejected]


def decode_batch(
    body: bytes,
    *,
    received_at: datetime,
    rules: FixRules,
    max_fixes: int = DEFAULT_MAX_FIXES,
) -> BatchDecoded:
    """Decode and validate a batch; raises ``FixError("body", ...)`` only for the whole.

    A fix whose time equals an earlier fix's in the same batch is rejected as a
    duplicate (field ``time``); duplicates of stored pings are the caller's to find.
    """
    items = json_body(body)
    if not isinstance(items, list):
        raise FixError("body", "expected a JSON array of fixes")
    if len(items) > max_fixes:
        raise FixError("body", f"{len(items)} fixes, at most {max_fixes} per request")
    fixes: list[tuple[int, Fix]] = []
    rejected: list[Rejected] = []
    first_at: dict[datetime, int] = {}
    for index, item in enumerate(items):
        try:
            fix = _decode_fix(item, received_at, rules)
        except FixError as error:
            rejected.append(Rejected(index, error.field, error.reason))
            continue
        if fix.time in first_at:
            reason = f"same time as fix {first_at[fix.time]} of this batch"
            rejected.append(Rejected(index, "time", reason))
            continue
        first_at[fix.time] = index
        fixes.append((index, fix))
    return BatchDecoded(fixes=fixes, rejected=rejected)


def _decode_fix(item: object, received_at: datetime, rules: FixRules) -> Fix:
    if not isinstance(item, dict):
        raise FixError("fix", "expected a JSON object")
    for key in _REQUIRED:
        if item.get(key) is None:
            raise FixError(key, "missing")
    raw = RawFix(
        time=item["time"],
        lat=item["lat"],
        lon=item["lon"],
        speed_mps=item.get("speed_mps"),
        heading_deg=item.get("heading_deg"),
        accuracy_m=item.get("accuracy_m"),
        altitude_m=item.get("altitude_m"),
        battery_pct=item.get("battery_pct"),
        attributes={k: v for k, v in item.items() if k not in _FIELDS},
    )
    return validate_fix(raw, received_at=received_at, rules=rules)
