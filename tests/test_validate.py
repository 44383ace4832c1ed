"""The fix rules shared by every protocol."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.fix import FixError
from fleet.validate import (
    FixRules,
    RawFix,
    attribute_value,
    json_body,
    number,
    parse_time,
    validate_fix,
)

NOW = datetime(2025, 6, 15, 13, 46, tzinfo=UTC)
RULES = FixRules()


def fix_from(**values: Any) -> RawFix:
    base: dict[str, Any] = {"time": "2025-06-15T13:45:00Z", "lat": -10.17, "lon": 123.6}
    return RawFix(**{**base, **values})


def test_plausible_fix_is_kept_as_sent() -> None:
    fix = validate_fix(
        fix_from(speed_mps="8.5", heading_deg=360, accuracy_m=0, altitude_m=-3, battery_pct=100),
        received_at=NOW,
        rules=RULES,
    )
    assert (fix.lat, fix.lon, fix.speed_mps, fix.heading_deg) == (-10.17, 123.6, 8.5, 360.0)
    assert (fix.accuracy_m, fix.altitude_m, fix.battery_pct) == (0.0, -3.0, 100.0)
    assert fix.time == datetime(2025, 6, 15, 13, 45, tzinfo=UTC)


def test_fix_without_time_takes_the_receive_time() -> None:
    assert validate_fix(fix_from(time=None), received_at=NOW, rules=RULES).time == NOW


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"lat": -90.0001}, "lat"),
        ({"lat": 90.5}, "lat"),
        ({"lon": 180.01}, "lon"),
        ({"lat": float("nan")}, "lat"),
        ({"lon": float("inf")}, "lon"),
        ({"lat": True}, "lat"),
        ({"lat": "ten south"}, "lat"),
        ({"lat": None}, "lat"),
        ({"lon": [123.6]}, "lon"),
        ({"speed_mps": -0.1}, "speed_mps"),
        ({"speed_mps": 70.5}, "speed_mps"),
        ({"heading_deg": 360.5}, "heading_deg"),
        ({"heading_deg": -1}, "heading_deg"),
        ({"accuracy_m": -2}, "accuracy_m"),
        ({"battery_pct": 100.1}, "battery_pct"),
        ({"altitude_m": "1e999"}, "altitude_m"),
        ({"time": "2025-06-15T13:51:01Z"}, "time"),
        ({"time": "1999-12-31T23:59:59Z"}, "time"),
        ({"time": 10**400}, "time"),
        ({"time": -5}, "time"),
        ({"time": "next tuesday"}, "time"),
        ({"time": "0001-01-01T00:00:00+08:00"}, "time"),
        ({"attributes": {"odometer": float("nan")}}, "odometer"),
        ({"attributes": {"trace": {"nested": 1}}}, "trace"),
        ({"attributes": {"note": "x" * 2000}}, "note"),
        ({"attributes": {f"k{i}": i for i in range(65)}}, "attributes"),
    ],
)
def test_implausible_value_is_rejected_with_its_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(FixError) as error:
        validate_fix(fix_from(**values), received_at=NOW, rules=RULES)
    assert error.value.field == field


def test_errors_use_the_name_the_client_sent() -> None:
    raw = fix_from(lat=95, names={"lat": "location"})
    with pytest.raises(FixError) as error:
        validate_fix(raw, received_at=NOW, rules=RULES)
    assert error.value.as_json() == {"field": "location", "error": "95 outside -90..90"}


def test_time_just_inside_the_future_margin_is_accepted() -> None:
    edge = NOW + timedelta(seconds=RULES.max_future_s)
    assert validate_fix(fix_from(time=edge), received_at=NOW, rules=RULES).time == edge


def test_rules_are_configurable() -> None:
    rules = FixRules(max_future_s=0, max_speed_mps=30)
    with pytest.raises(FixError):
        validate_fix(fix_from(speed_mps=31), received_at=NOW, rules=rules)
    with pytest.raises(FixError):
        validate_fix(fix_from(time=NOW + timedelta(seconds=1)), received_at=NOW, rules=rules)


def test_naive_receive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_fix(fix_from(), received_at=NOW.replace(tzinfo=None), rules=RULES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1749995112, datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)),
        ("1749995112.5", datetime(2025, 6, 15, 13, 45, 12, 500000, tzinfo=UTC)),
        (1749995112862, datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)),
        (2**31 - 1, datetime(2038, 1, 19, 3, 14, 7, tzinfo=UTC)),
        (2**31, datetime(1970, 1, 25, 20, 31, 23, 648000, tzinfo=UTC)),
        ("2025-06-15T13:45:12.862Z", datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC)),
        ("2025-06-15T21:45:12+08:00", datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)),
        ("2025-06-15 21:45:12", datetime(2025, 6, 15, 13, 45, 12, tzinfo=UTC)),
        ("2025-06-15T21:45", datetime(2025, 6, 15, 13, 45, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_every_accepted_form(value: object, expected: datetime) -> None:
    assert parse_time(value, "time", RULES) == expected


@pytest.mark.parametrize("value", ["2025-06-15", "15/06/2025 21:45", "", "1e9", "T", True, None])
def test_parse_time_rejects_other_forms(value: object) -> None:
    with pytest.raises(FixError):
        parse_time(value, "time", RULES)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12.0), (" -3.5 ", -3.5), (".5", 0.5), ("1e3", 1000.0), (7, 7.0), (2.5, 2.5)],
)
def test_number_accepts_numbers_and_decimal_text(value: object, expected: float) -> None:
    assert number(value, "x") == expected


@pytest.mark.parametrize("value", ["", "abc", "1,5", "0x10", "1_000", "nan", "inf", False, None])
def test_number_rejects_everything_else(value: object) -> None:
    with pytest.raises(FixError):
        number(value, "x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("933", 933.0), ("NaN", "NaN"), ("R07", "R07"), (1, 1.0)],
)
def test_attribute_values_become_json_safe(value: object, expected: object) -> None:
    assert attribute_value(value, "x") == expected


@pytest.mark.parametrize("body", [b"", b"[1,", b"NaN", b"[Infinity]", b"\xff\xfe\x00", b"[" * 5000])
def test_json_body_rejects_what_is_not_strict_json(body: bytes) -> None:
    with pytest.raises(FixError) as error:
        json_body(body)
    assert error.value.field == "body"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.floats(-200, 200).map(str),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes().map(datetime.isoformat),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {"time": VALUES, "lat": VALUES | st.floats(-90, 90), "lon": VALUES | st.floats(-180, 180)},
        optional={
            key: VALUES | st.floats(-10, 400)
            for key in ("speed_mps", "heading_deg", "accuracy_m", "altitude_m", "battery_pct")
        },
    )
)
def test_validate_fix_returns_a_rule_abiding_fix_or_a_fix_error(values: dict[str, Any]) -> None:
    try:
        fix = validate_fix(RawFix(**values), received_at=NOW, rules=RULES)
    except FixError as error:
        assert error.field in values
        return
    assert RULES.earliest <= fix.time <= NOW + timedelta(seconds=RULES.max_future_s)
    assert fix.time.utcoffset() == timedelta(0)
    assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
    for value in (fix.speed_mps, fix.heading_deg, fix.accuracy_m, fix.battery_pct):
        assert value is None or (math.isfinite(value) and value >= 0)
