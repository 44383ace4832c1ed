"""Disposal trips: stays at sites counted the way the city's target is measured."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.geofence import (
    GeofenceConfig,
    Site,
    SiteIndex,
    SiteState,
    SiteVisit,
    advance_sites,
    detect_site_visits,
    open_visit,
    step_site,
    summarize_trips,
    trip_report,
)

X0, Y0 = 560_000.0, 8_860_000.0
T0 = 1_717_200_000.0


def square(cx: float, cy: float, half_m: float = 50.0) -> shapely.Geometry:
    return shapely.box(X0 + cx - half_m, Y0 + cy - half_m, X0 + cx + half_m, Y0 + cy + half_m)


SITES = SiteIndex.from_sites(
    [
        Site("D1", "Depot DLHK", "depot", "Kota Raja", square(0, 0)),
        Site("P1", "TPS3R Oebobo", "processing", "Oebobo", square(2000, 0)),
        Site("L1", "TPA Alak", "landfill", "Alak", square(4000, 0, 150)),
    ]
)


def route(waypoints: list[tuple[float, float]], every_s: float = 5.0) -> tuple[np.ndarray, ...]:
    """Fixes along the x axis through (time offset s, x offset m) waypoints."""
    t = np.arange(waypoints[0][0], waypoints[-1][0] + 1e-9, every_s)
    x = np.interp(t, [w[0] for w in waypoints], [w[1] for w in waypoints])
    return T0 + t, X0 + x, np.full(t.size, Y0)


def incremental(t: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[SiteVisit]:
    state: SiteState | None = None
    visits = []
    for k in range(t.size):
        state, left = step_site(SITES, state, float(t[k]), float(x[k]), float(y[k]))
        if left is not None:
            visits.append(left)
    last = open_visit(SITES, state) if state is not None else None
    return visits + ([last] if last is not None else [])


# Depot 10 min, processing site 5 min, landfill 10 min, back to the depot by 3000 s.
DAY = [
    (0, 0),
    (600, 0),
    (800, 2000),
    (1100, 2000),
    (1300, 4000),
    (1900, 4000),
    (2600, 0),
    (3000, 0),
]


def test_processing_then_landfill_is_two_trips_half_to_landfill() -> None:
    visits = detect_site_visits(SITES, *route(DAY))
    assert [(v.site_id, v.open) for v in visits] == [
        ("D1", False),
        ("P1", False),
        ("L1", False),
        ("D1", True),
    ]
    summary = summarize_trips(visits)
    assert (summary.trips, summary.processing_trips, summary.landfill_trips) == (2, 1, 1)
    assert summary.landfill_share == 0.5
    assert summary.within_target is False
    assert summary.processing_by_kecamatan == {"Oebobo": 1}


def test_drive_by_a_site_is_not_a_trip() -> None:
    # Straight through the processing site at 10 m/s: about 10 s inside.
    visits = detect_site_visits(SITES, *route([(0, 1000), (300, 4000 - 1000)], every_s=1))
    assert visits == []


def test_dwell_is_from_entry_to_last_fix_near_the_site() -> None:
    visits = detect_site_visits(SITES, *route(DAY))
    p1 = visits[1]
    assert p1.enter_s == pytest.approx(T0 + 800 - 50 / 10, abs=5)
    assert p1.dwell_s == pytest.approx(300 + 80 / 10, abs=10)


def test_jitter_at_the_fence_does_not_split_a_stay() -> None:
    # Parked at the processing site's edge; fixes wander 20 m out and back in.
    t = T0 + np.arange(0, 600, 5.0)
    x = X0 + 2050 + np.where(np.arange(t.size) % 2, 20.0, -5.0)
    visits = detect_site_visits(SITES, t, x, np.full(t.size, Y0))
    assert len(visits) == 1
    assert visits[0].open


def test_leaving_beyond_the_margin_closes_the_stay() -> None:
    t, x, y = route([(0, 1500), (100, 2000), (300, 2000), (400, 2500)], every_s=5)
    state: SiteState | None = None
    closed = []
    for k in range(t.size):
        state, left = step_site(SITES, state, float(t[k]), float(x[k]), float(y[k]))
        if left is not None:
            closed.append((left.site_id, float(x[k] - X0)))
    assert closed[0][0] == "P1"
    assert closed[0][1] > 2050 + GeofenceConfig().exit_margin_m


def test_report_per_truck_and_fleet() -> None:
    mine = detect_site_visits(SITES, *route(DAY))
    only_processing = detect_site_visits(SITES, *route(DAY[:4]))
    report = trip_report({"T1": mine, "T2": only_processing, "T3": []})
    assert report.per_truck["T1"].trips == 2
    assert report.per_truck["T2"].landfill_share == 0.0
    assert report.per_truck["T3"].landfill_share is None
    assert report.fleet.trips == 3
    assert report.fleet.landfill_share == pytest.approx(1 / 3)


def test_incremental_equals_full_on_the_day() -> None:
    track = route(DAY)
    assert incremental(*track) == detect_site_visits(SITES, *track)


#: A truck's fixes: (seconds since the previous, x offset m) along a line past the sites.
FIXES = st.lists(
    st.tuples(st.sampled_from([1.0, 5.0, 30.0]), st.floats(-200, 4300)), min_size=1, max_size=80
)


@settings(max_examples=60, deadline=None)
@given(FIXES)
def test_incremental_equals_full(fixes: list[tuple[float, float]]) -> None:
    t = T0 + np.cumsum([dt for dt, _ in fixes])
    x = X0 + np.array([x for _, x in fixes])
    y = np.full(t.size, Y0 + 40.0)
    assert incremental(t, x, y) == detect_site_visits(SITES, t, x, y)


@settings(max_examples=60, deadline=None)
@given(FIXES, st.lists(st.integers(1, 80), min_size=1, max_size=20))
def test_rounds_of_any_size_equal_the_whole_day(
    fixes: list[tuple[float, float]], cuts: list[int]
) -> None:
    """The worker advances each truck over whatever pings one round took."""
    t = T0 + np.cumsum([dt for dt, _ in fixes])
    x = X0 + np.array([x for _, x in fixes])
    y = np.full(t.size, Y0 + 40.0)
    bounds = sorted({0, t.size, *(c for c in cuts if c < t.size)})
    state: SiteState | None = None
    visits: list[SiteVisit] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        state, left = advance_sites(SITES, state, t[a:b], x[a:b], y[a:b])
        visits += left
    assert state is not None
    last = open_visit(SITES, state)
    assert visits + ([last] if last is not None else []) == detect_site_visits(SITES, t, x, y)
