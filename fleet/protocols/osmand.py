"""The OsmAnd protocol, as Traccar and its client apps speak it: HTTP request -> fix.

Three request forms reach the same decoder:

- fields in the query string (``GET`` or ``POST /?id=..&lat=..``; old Android client),
- the same fields form-encoded in the body when the URL has no query (current
  Android client),
- ``Content-Type: application/json``: Traccar Client 9's location object.

Query-form speeds are knots (what the apps send); JSON speeds are m/s with -1 for
unknown. A request without coordinates, or at exactly 0,0, is a heartbeat: the device
is alive but has no position. Pure: no Flask, no SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fleet.fix import Fix, FixError
from fleet.validate import FixRules, RawFix, json_body, number, validate_fix

__all__ = ["KNOT_MPS", "OsmAndRequest", "decode_osmand", "first_values"]

#: One knot in metres per second.
KNOT_MPS = 1852.0 / 3600.0

_MAX_FORM_FIELDS = 200
_MAX_DEVICE_ID = 128
#: Query fields with a place in ``Fix``; every other field becomes an attribute.
_KNOWN = frozenset(
    "id deviceid timestamp lat lon location speed bearing heading altitude accuracy batt".split()
)
#: Fields after which each query-form ``Fix`` field is named in errors.
_QUERY_NAMES = {
    "time": "timestamp",
    "speed_mps": "speed",
    "accuracy_m": "accuracy",
    "altitude_m": "altitude",
    "battery_pct": "batt",
}
#: Where each ``Fix`` field sits in the JSON document, for error messages.
_JSON_NAMES = {
    "time": "location.timestamp",
    "lat": "location.coords.latitude",
    "lon": "location.coords.longitude",
    "speed_mps": "location.coords.speed",
    "heading_deg": "location.coords.heading",
    "accuracy_m": "location.coords.accuracy",
    "altitude_m": "location.coords.altitude",
    "battery_pct": "location.battery.level",
}
#: Scalar members of the JSON ``location`` object kept as attributes.
_JSON_ATTRIBUTES = ("is_moving", "odometer", "event", "uuid", "mock")


@dataclass(frozen=True, slots=True)
class OsmAndRequest:
    """One decoded OsmAnd request; ``fix`` is None for a heartbeat."""

    device_id: str
    fix: Fix | None
    json_mode: bool


def decode_osmand(
    *,
    query: Mapping[str, str],
    body: bytes,
    content_type: str | None,
    received_at: datetime,
    rules: FixRules,
) -> OsmAndRequest:
    """Decode one OsmAnd request into a device identifier and an optional fix.

    ``query`` maps each query-string key to its first value (Flask's ``request.args``
    does), ``body`` is the raw request body, ``received_at`` the aware server time.
    Raises ``FixError``: field ``id`` (or ``device_id`` in JSON) for a missing device
    identifier, ``body`` for an unreadable body, otherwise the malformed field.
    """
    if _is_json(content_type):
        return _decode_json(json_body(body), query, received_at, rules)
    params = dict(query.items()) if query else _form_fields(body)
    return _decode_params(params, received_at, rules)


def _is_json(content_type: str | None) -> bool:
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime == "application/json"


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except ValueError:
        raise FixError("body", "not a form-encoded UTF-8 body") from None
    return first_values(text, "body")


def first_values(text: str, field_name: str) -> dict[str, str]:
    """Each key's first value in form-encoded ``text``, as Flask's ``request.args`` has
    it; a text of too many fields is a ``FixError`` on ``field_name``."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        raise FixError(field_name, f"more than {_MAX_FORM_FIELDS} fields") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def _device_id(value: object, field_name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FixError(field_name, "missing device identifier")
    if len(value) > _MAX_DEVICE_ID or not value.isprintable():
        raise FixError(field_name, "not a plausible device identifier")
    return value.strip()


def _decode_params(params: dict[str, str], received_at: datetime, rules: FixRules) -> OsmAndRequest:
    id_key = "id" if params.get("id") else "deviceid" if "deviceid" in params else "id"
    device_id = _device_id(params.get(id_key), id_key)
    names = dict(_QUERY_NAMES)
    lat, lon = _query_position(params, names)
    heading_key = "bearing" if "bearing" in params else "heading"
    names["heading_deg"] = heading_key
    speed = params.get("speed")
    raw = RawFix(
        time=params.get("timestamp"),
        lat=lat,
        lon=lon,
        speed_mps=None if speed is None else number(speed, "speed") * KNOT_MPS,
        heading_deg=params.get(heading_key),
        accuracy_m=params.get("accuracy"),
        altitude_m=params.get("altitude"),
        battery_pct=params.get("batt"),
        attributes=_query_attributes(params),
        names=names,
    )
    return _outcome(device_id, raw, json_mode=False, received_at=received_at, rules=rules)


def _query_position(params: dict[str, str], names: dict[str, str]) -> tuple[object, object]:
    if "location" in params:
        parts = params["location"].split(",")
        if len(parts) != 2:
            raise FixError("location", "expected lat,lon")
        names["lat"] = names["lon"] = "location"
        return number(parts[0], "location"), number(parts[1], "location")
    if "lat" in params or "lon" in params:
        for key in ("lat", "lon"):
            if key not in params:
                raise FixError(key, "missing; lat and lon come together")
        return params["lat"], params["lon"]
    return None, None


def _query_attributes(params: dict[str, str]) -> dict[str, Any]:
    extra: dict[str, Any] = {k: v for k, v in params.items() if k and k not in _KNOWN}
    if "hdop" in extra:
        hdop = number(extra["hdop"], "hdop")
        if hdop < 0:
            raise FixError("hdop", "must not be negative")
        extra["hdop"] = hdop
    return extra


def _outcome(
    device_id: str, raw: RawFix, *, json_mode: bool, received_at: datetime, rules: FixRules
) -> OsmAndRequest:
    """Validate ``raw`` even for a heartbeat, so a malformed field is never ignored."""
    heartbeat = raw.lat is None or (_is_zero(raw.lat) and _is_zero(raw.lon))
    if raw.lat is None:
        raw = replace(raw, lat=0.0, lon=0.0)
    fix = validate_fix(raw, received_at=received_at, rules=rules)
    return OsmAndRequest(device_id=device_id, fix=None if heartbeat else fix, json_mode=json_mode)


def _is_zero(value: object) -> bool:
    try:
        return number(value, "lat") == 0.0
    except FixError:
        return False


def _decode_json(
    doc: object, query: Mapping[str, str], received_at: datetime, rules: FixRules
) -> OsmAndRequest:
    if not isinstance(doc, dict):
        raise FixError("body", "expected a JSON object")
    device_id = _device_id(doc.get("device_id", query.get("id")), "device_id")
    location = _member(doc, "location", "location")
    coords = _member(location, "coords", "location.coords")
    battery = _member(location, "battery", "location.battery")
    lat, lon = None, None
    if coords:
        for key in ("latitude", "longitude"):
            if coords.get(key) is None:
                raise FixError(f"location.coords.{key}", "missing")
        lat, lon = coords["latitude"], coords["longitude"]
    level = _unless_unknown(battery.get("level"))
    raw = RawFix(
        time=location.get("timestamp"),
        lat=lat,
        lon=lon,
        speed_mps=_unless_unknown(coords.get("speed")),
        heading_deg=_unless_unknown(coords.get("heading")),
        accuracy_m=_unless_unknown(coords.get("accuracy")),
        altitude_m=coords.get("altitude"),
        battery_pct=None if level is None else number(level, _JSON_NAMES["battery_pct"]) * 100,
        attributes=_json_attributes(location, battery),
        names=_JSON_NAMES,
    )
    return _outcome(device_id, raw, json_mode=True, received_at=received_at, rules=rules)


def _member(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FixError(path, "expected a JSON object")
    return value


def _unless_unknown(value: object) -> object:
    """The client's -1 sentinel (speed, heading, accuracy, battery) means unknown."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == -1:
        return None
    return value


def _json_attributes(location: dict[str, Any], battery: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {k: location[k] for k in _JSON_ATTRIBUTES if k in location}
    activity = location.get("activity")
    if isinstance(activity, dict) and "type" in activity:
        extra["activity"] = activity["type"]
    if "is_charging" in battery:
        extra["charge"] = battery["is_charging"]
    extras = location.get("extras")
    if isinstance(extras, dict):
        extra.update({k: v for k, v in extras.items() if k not in extra})
    # Nested values have no flat attribute to live in; the client's own metadata.
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)}
