"""The JSON batch API body: one bad fix never costs the rest of the batch."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.fix import FixError
from fleet.protocols.batch import BatchDecoded, Rejected, decode_batch
from fleet.validate import FixRules

NOW = datetime(2025, 6, 15, 13, 46, tzinfo=UTC)
RULES = FixRules()


def decode(items: Any, max_fixes: int = 1000) -> BatchDecoded:
    body = json.dumps(items).encode()
    return decode_batch(body, received_at=NOW, rules=RULES, max_fixes=max_fixes)


def ping(second: int, **extra: Any) -> dict[str, Any]:
    return {"time": f"2025-06-15T13:40:{second:02d}Z", "lat": -10.17, "lon": 123.6, **extra}


def test_full_fix_is_decoded_with_its_units() -> None:
    item = ping(
        0,
        speed_mps=6.5,
        heading_deg=90,
        accuracy_m=4,
        altitude_m=30,
        battery_pct=81,
        route="R07",
    )
    [(index, fix)] = decode([item]).fixes
    assert index == 0
    assert fix.time == datetime(2025, 6, 15, 13, 40, tzinfo=UTC)
    assert (fix.speed_mps, fix.heading_deg, fix.accuracy_m) == (6.5, 90.0, 4.0)
    assert (fix.altitude_m, fix.battery_pct, fix.attributes) == (30.0, 81.0, {"route": "R07"})


@pytest.mark.parametrize(
    "time", [1749994800, 1749994800000, "2025-06-15T21:40:00+08:00", "2025-06-15T13:40:00Z"]
)
def test_time_as_epoch_seconds_millis_or_iso(time: object) -> None:
    [(_, fix)] = decode([{"time": time, "lat": -10.17, "lon": 123.6}]).fixes
    assert fix.time == datetime(2025, 6, 15, 13, 40, tzinfo=UTC)


def test_bad_fixes_are_rejected_by_index_and_the_rest_kept() -> None:
    items = [
        ping(0),
        ping(1, lat=123.6),
        "not a fix",
        {"lat": -10.17, "lon": 123.6},
        ping(4, speed_mps=-3),
        ping(5, lon=None),
        ping(6),
    ]
    decoded = decode(items)
    assert [index for index, _ in decoded.fixes] == [0, 6]
    assert decoded.rejected == [
        Rejected(1, "lat", "123.6 outside -90..90"),
        Rejected(2, "fix", "expected a JSON object"),
        Rejected(3, "time", "missing"),
        Rejected(4, "speed_mps", "-3 outside 0..70"),
        Rejected(5, "lon", "missing"),
    ]


def test_duplicate_times_within_the_batch_are_reported() -> None:
    items = [ping(0), ping(1), {**ping(0), "lat": -10.2}, ping(0)]
    decoded = decode(items)
    assert [index for index, _ in decoded.fixes] == [0, 1]
    assert [(r.index, r.field) for r in decoded.rejected] == [(2, "time"), (3, "time")]
    assert "fix 0" in decoded.rejected[0].reason
    assert decoded.rejected[0].as_json() == {
        "index": 2,
        "field": "time",
        "error": "same time as fix 0 of this batch",
    }


def test_empty_batch_is_accepted() -> None:
    assert decode([]) == BatchDecoded(fixes=[], rejected=[])


@pytest.mark.parametrize("body", [b"", b"{}", b'{"time": 1}', b"[1,", b"[NaN]", b"null"])
def test_body_that_is_not_a_json_array_fails_whole(body: bytes) -> None:
    with pytest.raises(FixError) as error:
        decode_batch(body, received_at=NOW, rules=RULES)
    assert error.value.field == "body"


def test_batch_longer_than_the_maximum_fails_whole() -> None:
    items = [ping(s % 60, altitude_m=s) for s in range(11)]
    assert len(decode(items, max_fixes=11).fixes) == 11
    with pytest.raises(FixError) as error:
        decode(items, max_fixes=10)
    assert error.value.field == "body" and "at most 10" in error.value.reason


MOMENTS = st.datetimes(
    min_value=datetime(1995, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
)
RECENT = st.datetimes(
    min_value=datetime(2025, 6, 15, 12),
    max_value=datetime(2025, 6, 15, 13, 46),
    timezones=st.just(UTC),
)
TIMES = st.one_of(
    RECENT.map(lambda t: int(t.timestamp())),
    RECENT.map(lambda t: int(t.timestamp() * 1000)),
    RECENT.map(datetime.isoformat),
    MOMENTS.map(datetime.isoformat),
)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
)


def weighted(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` seven times in eight, so that most fixes get far enough to validate."""
    return st.integers(0, 7).flatmap(lambda draw: usual if draw else rare)


def numbers(low: float, high: float) -> st.SearchStrategy[Any]:
    return weighted(st.floats(low, high) | st.integers(int(low), int(high)), JUNK)


FIXES = st.fixed_dictionaries(
    {"time": weighted(TIMES, JUNK), "lat": numbers(-95, 95), "lon": numbers(-185, 185)},
    optional={
        "speed_mps": numbers(-1, 80),
        "heading_deg": numbers(-1, 370),
        "accuracy_m": numbers(-1, 100),
        "altitude_m": numbers(-1e4, 1e4),
        "battery_pct": numbers(-1, 101),
        "note": JUNK,
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(weighted(FIXES, JUNK), max_size=20))
def test_every_fix_is_accepted_or_rejected_and_accepted_ones_obey_the_rules(
    items: list[Any],
) -> None:
    decoded = decode(items)
    indices = sorted([i for i, _ in decoded.fixes] + [r.index for r in decoded.rejected])
    assert indices == list(range(len(items)))
    assert len({fix.time for _, fix in decoded.fixes}) == len(decoded.fixes)
    for _, fix in decoded.fixes:
        assert RULES.earliest <= fix.time <= NOW + timedelta(seconds=RULES.max_future_s)
        assert -90 <= fix.lat <= 90 and -180 <= fix.lon <= 180
        assert fix.speed_mps is None or 0 <= fix.speed_mps <= RULES.max_speed_mps
        assert fix.heading_deg is None or 0 <= fix.heading_deg <= 360
        assert fix.accuracy_m is None or fix.accuracy_m >= 0
        assert fix.battery_pct is None or 0 <= fix.battery_pct <= 100
        assert fix.altitude_m is None or math.isfinite(fix.altitude_m)
        json.dumps(fix.attributes, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=100) | st.text(max_size=60).map(str.encode))
def test_any_body_gives_a_result_or_a_body_error(body: bytes) -> None:
    try:
        decode_batch(body, received_at=NOW, rules=RULES)
    except FixError as error:
        assert error.field == "body"
