"""The rules every fix must pass, whatever protocol carried it.

Decoders (``fleet.protocols``) only map their wire fields onto a ``RawFix`` and convert
units; ``validate_fix`` then applies the same checks to all of them, so a fix accepted
over OsmAnd is accepted over the JSON batch API and vice versa. Errors name the field
as the client spelled it (``RawFix.names``), so a device author can find the culprit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from fleet.fix import WITA, Fix, FixError

__all__ = [
    "FixRules",
    "RawFix",
    "attribute_value",
    "json_body",
    "number",
    "parse_time",
    "validate_fix",
]

#: Seconds since the epoch at or above which an integer timestamp is read as
#: milliseconds (as Traccar does): 2^31 s is in 2038, 2^31 ms is in January 1970.
MILLIS_THRESHOLD = 2**31

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_EPOCH = re.compile(r"\d+(\.\d+)?")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
)
_MAX_TEXT = 1024
_MAX_ATTRIBUTES = 64
_MAX_ATTRIBUTE_NAME = 64


@dataclass(frozen=True, slots=True)
class FixRules:
    """Limits a fix must respect; one instance per app, built from config.

    ``max_speed_mps`` is 70 m/s (252 km/h): a loaded garbage truck on Kupang's streets
    does not pass ~25 m/s, but phone GPS reports Doppler speed spikes of a few times
    that near buildings and in tunnels of trees; above 70 m/s the value is not a noisy
    truck but a broken device or a unit mistake (km/h sent as knots), and snapping such
    a fix would teleport the truck along its route.
    """

    max_future_s: float = 300.0
    max_speed_mps: float = 70.0
    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    local_tz: tzinfo = WITA


@dataclass(frozen=True, slots=True)
class RawFix:
    """A fix as decoded from the wire, units already converted, nothing yet checked.

    Values may be numbers or numeric strings; ``time`` may also be an ISO-8601 or
    ``yyyy-MM-dd HH:mm:ss`` string, a datetime, or None for "use the receive time".
    ``names`` maps a ``Fix`` field name to the name the client used for it.
    """

    time: object
    lat: object
    lon: object
    speed_mps: object = None
    heading_deg: object = None
    accuracy_m: object = None
    altitude_m: object = None
    battery_pct: object = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=dict)


def number(value: object, field_name: str) -> float:
    """A finite float from a JSON number or a decimal string; booleans are not numbers."""
    if type(value) is float and math.isfinite(value):  # the common case, checked first
        return value
    if isinstance(value, bool):
        raise FixError(field_name, "expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise FixError(field_name, "expected a number")
        value = text
    elif not isinstance(value, int | float):
        raise FixError(field_name, "expected a number")
    try:
        result = float(value)
    except OverflowError:
        raise FixError(field_name, "number out of range") from None
    if not math.isfinite(result):
        raise FixError(field_name, "expected a finite number")
    return result


def parse_time(value: object, field_name: str, rules: FixRules) -> datetime:
    """An aware UTC datetime from epoch seconds/millis, ISO-8601 or local wall time.

    Times without an offset are Kupang wall time (``rules.local_tz``), because that is
    what a phone without time zone support reports. Range is not checked here.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and not _EPOCH.fullmatch(value.strip()):
        moment = _parse_text_time(value.strip(), field_name)
    else:
        return _from_epoch(number(value, field_name), field_name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=rules.local_tz)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise FixError(field_name, "date out of range") from None


def _parse_text_time(text: str, field_name: str) -> datetime:
    if not _DATETIME.fullmatch(text):
        raise FixError(field_name, "expected epoch seconds, epoch millis or ISO-8601")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise FixError(field_name, "not a valid date and time") from None


def _from_epoch(seconds: float, field_name: str) -> datetime:
    if seconds >= MILLIS_THRESHOLD:
        seconds /= 1000.0
    # Bound before converting: datetime overflows long before float does.
    if not 0 <= seconds < 1e11:
        raise FixError(field_name, "epoch time out of range")
    return datetime.fromtimestamp(seconds, UTC)


def attribute_value(value: object, field_name: str) -> str | float | bool:
    """An extra field kept as a JSON-safe attribute: number, boolean or bounded text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return number(value, field_name)
    if not isinstance(value, str):
        raise FixError(field_name, "expected a number, boolean or text")
    if len(value) > _MAX_TEXT:
        raise FixError(field_name, f"longer than {_MAX_TEXT} characters")
    if value in ("true", "false"):
        return value == "true"
    if _NUMBER.fullmatch(value.strip()):
        try:
            return number(value, field_name)
        except FixError:
            return value
    return value


def json_body(body: bytes) -> Any:
    """The parsed JSON of an HTTP body; NaN, Infinity and undecodable bytes are errors."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise FixError("body", "not valid JSON") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def validate_fix(raw: RawFix, *, received_at: datetime, rules: FixRules) -> Fix:
    """Check every value of ``raw`` against ``rules`` and build the ``Fix``.

    ``received_at`` is the server clock (aware); a fix without a time gets it.
    Raises ``FixError`` naming the first offending field as the client sent it.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    names = raw.names
    return Fix(
        time=_check_time(raw.time, names.get("time", "time"), received_at, rules),
        lat=_in_range(number(raw.lat, names.get("lat", "lat")), -90.0, 90.0, "lat", names),
        lon=_in_range(number(raw.lon, names.get("lon", "lon")), -180.0, 180.0, "lon", names),
        speed_mps=_optional(raw.speed_mps, 0.0, rules.max_speed_mps, "speed_mps", names),
        heading_deg=_optional(raw.heading_deg, 0.0, 360.0, "heading_deg", names),
        accuracy_m=_optional(raw.accuracy_m, 0.0, math.inf, "accuracy_m", names),
        altitude_m=_optional(raw.altitude_m, -math.inf, math.inf, "altitude_m", names),
        battery_pct=_optional(raw.battery_pct, 0.0, 100.0, "battery_pct", names),
        attributes=_attributes(raw.attributes) if raw.attributes else {},
    )


def _optional(
    value: object, low: float, high: float, key: str, names: Mapping[str, str]
) -> float | None:
    if value is None:
        return None
    return _in_range(number(value, names.get(key, key)), low, high, key, names)


def _attributes(extra: Mapping[str, Any]) -> dict[str, Any]:
    # Bounded so a misbehaving client cannot bloat every stored ping.
    if len(extra) > _MAX_ATTRIBUTES:
        raise FixError("attributes", f"more than {_MAX_ATTRIBUTES} extra fields")
    for key in extra:
        if len(key) > _MAX_ATTRIBUTE_NAME:
            raise FixError(key[:_MAX_ATTRIBUTE_NAME], "field name too long")
    return {key: attribute_value(value, key) for key, value in extra.items()}


def _check_time(value: object, field_name: str, received_at: datetime, rules: FixRules) -> datetime:
    if value is None:
        return received_at.astimezone(UTC)
    moment = parse_time(value, field_name, rules)
    latest = received_at + timedelta(seconds=rules.max_future_s)
    if moment > latest:
        raise FixError(field_name, f"more than {rules.max_future_s:g} s ahead of the server clock")
    if moment < rules.earliest:
        raise FixError(field_name, f"before {rules.earliest.date().isoformat()}")
    return moment


def _in_range(value: float, low: float, high: float, key: str, names: Mapping[str, str]) -> float:
    if not low <= value <= high:
        raise FixError(names.get(key, key), f"{value:g} outside {low:g}..{high:g}")
    return value
