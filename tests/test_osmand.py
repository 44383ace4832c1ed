"""OsmAnd decoding: real client requests replayed, and arbitrary input thrown at it."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.fix import Fix, FixError
from fleet.protocols.osmand import KNOT_MPS, OsmAndRequest, decode_osmand
from fleet.validate import FixRules

SAMPLES = json.loads((Path(__file__).parent / "data/traccar/requests.json").read_text())
RECEIVED_AT = datetime.fromisoformat(SAMPLES["received_at"])
RULES = FixRules()
KUPANG = "id=T01&lat=-10.1632&lon=123.6071"


def replay(sample: dict[str, Any], rules: FixRules = RULES) -> OsmAndRequest:
    """Split a recorded request into what Flask hands the decoder."""
    query = {}
    for key, value in parse_qsl(urlsplit(sample["url"]).query, keep_blank_values=True):
        query.setdefault(key, value)
    body = sample.get("body", "").encode()
    if "body_json" in sample:
        body = json.dumps(sample["body_json"]).encode()
    return decode_osmand(
        query=query,
        body=body,
        content_type=sample["content_type"],
        received_at=RECEIVED_AT,
        rules=rules,
    )


def get(query: str, rules: FixRules = RULES) -> OsmAndRequest:
    return replay({"url": "/?" + query, "content_type": None}, rules)


def assert_obeys_rules(fix: Fix, received_at: datetime, rules: FixRules) -> None:
    assert fix.time.utcoffset() == timedelta(0)
    assert rules.earliest <= fix.time <= received_at + timedelta(seconds=rules.max_future_s)
    assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
    assert fix.speed_mps is None or 0 <= fix.speed_mps <= rules.max_speed_mps
    assert fix.heading_deg is None or 0 <= fix.heading_deg <= 360
    assert fix.accuracy_m is None or fix.accuracy_m >= 0
    assert fix.battery_pct is None or 0 <= fix.battery_pct <= 100
    assert fix.altitude_m is None or math.isfinite(fix.altitude_m)
    json.dumps(fix.attributes, allow_nan=False)


@pytest.mark.parametrize("sample", SAMPLES["requests"], ids=lambda s: s["name"])
def test_real_client_requests_decode_to_expected_units_and_time(sample: dict[str, Any]) -> None:
    decoded = replay(sample)
    expect = sample["expect"]
    assert decoded.device_id == expect["device_id"]
    assert decoded.json_mode == expect["json_mode"]
    if expect["fix"] is None:
        assert decoded.fix is None
        return
    assert decoded.fix is not None
    want = {**expect["fix"], "time": datetime.fromisoformat(expect["fix"]["time"])}
    for name, value in want.items():
        got = getattr(decoded.fix, name)
        assert got == (pytest.approx(value, abs=1e-5) if isinstance(value, float) else value)


@pytest.mark.parametrize(
    "timestamp",
    [
        "1749995112",
        "1749995112000",
        "2025-06-15T13:45:12Z",
        "2025-06-15T21:45:12%2B08:00",
        "2025-06-15T13:45:12.000Z",
        "2025-06-15+21:45:12",
        "2025-06-15T21:45:12",
    ],
)
def test_every_timestamp_form_gives_the_same_instant(timestamp: str) -> None:
    fix = get(f"{KUPANG}&timestamp={timestamp}").fix
    assert fix is not None
    assert fix.time == datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)


def test_wall_time_follows_the_configured_zone() -> None:
    rules = FixRules(local_tz=ZoneInfo("Asia/Jakarta"))
    fix = get(f"{KUPANG}&timestamp=2025-06-15+20:45:12", rules).fix
    assert fix is not None and fix.time == datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)


def test_speed_is_read_in_knots() -> None:
    fix = get(f"{KUPANG}&speed=20").fix
    assert fix is not None and fix.speed_mps == pytest.approx(20 * 0.514444, rel=1e-5)
    assert KNOT_MPS == pytest.approx(0.514444, rel=1e-5)


def test_speed_in_knots_above_the_limit_is_rejected() -> None:
    with pytest.raises(FixError) as error:
        get(f"{KUPANG}&speed=200")
    assert error.value.field == "speed"


@pytest.mark.parametrize("query", ["id=T01", "id=T01&lat=0&lon=0", "id=T01&batt=50"])
def test_request_without_position_is_a_heartbeat(query: str) -> None:
    decoded = get(query)
    assert decoded.device_id == "T01" and decoded.fix is None


def test_heartbeat_still_rejects_a_malformed_field() -> None:
    with pytest.raises(FixError) as error:
        get("id=T01&timestamp=yesterday")
    assert error.value.field == "timestamp"


def test_query_wins_over_body_and_body_is_read_without_query() -> None:
    body = b"id=FORM&lat=-10.2&lon=123.5"
    via_query = decode_osmand(
        query={"id": "Q", "lat": "-10.1", "lon": "123.6"},
        body=body,
        content_type="application/x-www-form-urlencoded",
        received_at=RECEIVED_AT,
        rules=RULES,
    )
    via_body = decode_osmand(
        query={}, body=body, content_type=None, received_at=RECEIVED_AT, rules=RULES
    )
    assert via_query.device_id == "Q" and via_body.device_id == "FORM"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=-10.1&lon=123.6", "id"),
        ("id=&lat=-10.1&lon=123.6", "id"),
        ("id=T01&lat=-10.1", "lon"),
        ("id=T01&lat=north&lon=123.6", "lat"),
        ("id=T01&lat=NaN&lon=123.6", "lat"),
        ("id=T01&lat=91&lon=123.6", "lat"),
        ("id=T01&location=-10.1", "location"),
        ("id=T01&location=-10.1,east", "location"),
        (f"{KUPANG}&timestamp=1999-12-31T23:00:00Z", "timestamp"),
        (f"{KUPANG}&timestamp=2025-06-15T13:52:00Z", "timestamp"),
        (f"{KUPANG}&timestamp=2025-02-30+10:00:00", "timestamp"),
        (f"{KUPANG}&bearing=361", "bearing"),
        (f"{KUPANG}&heading=-5", "heading"),
        (f"{KUPANG}&accuracy=-1", "accuracy"),
        (f"{KUPANG}&batt=101", "batt"),
        (f"{KUPANG}&hdop=-1", "hdop"),
        (f"{KUPANG}&altitude=inf", "altitude"),
    ],
)
def test_malformed_field_is_named(query: str, field: str) -> None:
    with pytest.raises(FixError) as error:
        get(query)
    assert error.value.field == field


def test_json_errors_name_the_json_path() -> None:
    body = {"device_id": "T01", "location": {"coords": {"latitude": -10.1, "longitude": 200}}}
    with pytest.raises(FixError) as error:
        decode_osmand(
            query={},
            body=json.dumps(body).encode(),
            content_type="application/json",
            received_at=RECEIVED_AT,
            rules=RULES,
        )
    assert error.value.field == "location.coords.longitude"


def test_json_body_that_is_not_json_names_the_body() -> None:
    with pytest.raises(FixError) as error:
        decode_osmand(
            query={},
            body=b"id=T01",
            content_type="application/json",
            received_at=RECEIVED_AT,
            rules=RULES,
        )
    assert error.value.field == "body"


GARBAGE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "NaN", "-Infinity", "1e400", "true", "2025-02-30 10:00:00", "-"]),
)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v))),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
MOMENTS = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
)
#: Times in every accepted form, around the receive time so that many are valid.
TIMES = st.one_of(
    MOMENTS.map(lambda t: str(int(t.timestamp()))),
    MOMENTS.map(lambda t: str(int(t.timestamp() * 1000))),
    MOMENTS.map(lambda t: t.isoformat()),
    MOMENTS.map(lambda t: t.astimezone(ZoneInfo("Asia/Makassar")).strftime("%Y-%m-%d %H:%M:%S")),
    st.datetimes(min_value=RECEIVED_AT.replace(tzinfo=None) - timedelta(hours=1)).map(
        lambda t: t.replace(tzinfo=UTC).isoformat()
    ),
)


def numbers(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high) | st.integers(int(low), int(high)).map(float)


def weighted(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` seven times in eight, so that many requests get far enough to validate."""
    return st.integers(0, 7).flatmap(lambda draw: usual if draw else rare)


def mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return weighted(plausible, JSON_VALUES)


def text_numbers(low: float, high: float) -> st.SearchStrategy[str]:
    return weighted(numbers(low, high).map(repr), GARBAGE)


#: The OsmAnd fields with plausible values (some out of range) or garbage.
QUERY_FIELDS = {
    "timestamp": TIMES | GARBAGE,
    "speed": text_numbers(-5, 200),
    "bearing": text_numbers(-10, 400),
    "heading": text_numbers(-10, 400),
    "altitude": text_numbers(-1e5, 1e5),
    "accuracy": text_numbers(-10, 1e4),
    "batt": text_numbers(-10, 110),
    "hdop": text_numbers(-1, 50),
    "charge": st.sampled_from(["true", "false"]) | GARBAGE,
    "location": st.tuples(text_numbers(-100, 100), text_numbers(-200, 200)).map(",".join),
}
PLAUSIBLE_QUERIES = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["T01", "353861053849681", "T01", ""]),
        "lat": text_numbers(-100, 100),
        "lon": text_numbers(-200, 200),
    },
    optional={**QUERY_FIELDS, "location": st.nothing(), "extra": GARBAGE},
)
QUERIES = weighted(
    PLAUSIBLE_QUERIES,
    st.dictionaries(
        st.sampled_from(["id", "deviceid", "lat", "lon", *QUERY_FIELDS]) | st.text(max_size=10),
        GARBAGE | TIMES,
        max_size=12,
    ),
)
COORDS = st.fixed_dictionaries(
    {
        "latitude": mostly(numbers(-100, 100)),
        "longitude": mostly(numbers(-200, 200)),
    },
    optional={
        "speed": mostly(numbers(-2, 100)),
        "heading": mostly(numbers(-2, 400)),
        "accuracy": mostly(numbers(-2, 100)),
        "altitude": mostly(numbers(-1e4, 1e4)),
    },
)
LOCATIONS = st.fixed_dictionaries(
    {"coords": mostly(COORDS)},
    optional={
        "timestamp": mostly(TIMES),
        "battery": st.fixed_dictionaries({}, optional={"level": mostly(numbers(-1, 1.1))}),
        "extras": JSON_VALUES,
        "is_moving": JSON_VALUES,
    },
)
V9_BODIES = st.fixed_dictionaries(
    {
        "device_id": mostly(st.sampled_from(["T01", "8737767034"])),
        "location": mostly(LOCATIONS),
    }
)


def only_valid_or_fix_error(**request: Any) -> None:
    try:
        decoded = decode_osmand(received_at=RECEIVED_AT, rules=RULES, **request)
    except FixError as error:
        assert isinstance(error.field, str) and error.field
        return
    assert decoded.device_id.strip() == decoded.device_id != ""
    if decoded.fix is not None:
        assert_obeys_rules(decoded.fix, RECEIVED_AT, RULES)


@settings(max_examples=300, deadline=None)
@given(QUERIES)
def test_any_query_gives_a_valid_result_or_a_fix_error(query: dict[str, str]) -> None:
    only_valid_or_fix_error(query=query, body=b"", content_type=None)


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=200)
    | QUERIES.map(lambda q: "&".join(f"{k}={v}" for k, v in q.items()).encode())
)
def test_any_form_body_gives_a_valid_result_or_a_fix_error(body: bytes) -> None:
    only_valid_or_fix_error(query={}, body=body, content_type="application/x-www-form-urlencoded")


@settings(max_examples=300, deadline=None)
@given(weighted(V9_BODIES, JSON_VALUES))
def test_any_json_gives_a_valid_result_or_a_fix_error(doc: Any) -> None:
    body = json.dumps(doc).encode()
    only_valid_or_fix_error(query={}, body=body, content_type="application/json")
