"""The day recompute gives exactly what the per-ping path gives, fix for fix."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.coverage import (
    DEFAULT_CONFIG,
    BinIndex,
    CoverageConfig,
    TrackPoint,
    Visit,
    merge_visit,
    observe_segment,
)
from fleet.coverage_day import detect_visits

X0, Y0 = 570_000.0, 8_855_000.0
T0 = 1_717_200_000.0  # 2024-06-01 08:00 WITA


def make_index() -> BinIndex:
    """A 5 x 5 grid of R1 bins every 40 m, with one R2 bin in the middle of it."""
    gx, gy = np.meshgrid(np.arange(5) * 40.0, np.arange(5) * 40.0)
    ids = [f"B{i}" for i in range(25)] + ["X0"]
    routes = ["R1"] * 25 + ["R2"]
    return BinIndex.from_arrays(
        ids, routes, [*(X0 + gx.ravel()), X0 + 70], [*(Y0 + gy.ravel()), Y0 + 70]
    )


INDEX = make_index()


def incremental(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    v: np.ndarray,
    recv: np.ndarray,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> dict[str, Visit]:
    visits: dict[str, Visit] = {}
    prev = None
    for k in range(t.size):
        cur = TrackPoint(t[k], x[k], y[k], None if np.isnan(v[k]) else float(v[k]))
        for obs in observe_segment(INDEX, "R1", prev, cur, config):
            visits[obs.bin_id] = merge_visit(
                visits.get(obs.bin_id), obs, config, truck_id="T1", recorded_at_s=recv[k]
            )
        prev = cur
    return visits


def full(t, x, y, v, recv, config: CoverageConfig = DEFAULT_CONFIG) -> dict[str, Visit]:
    found = detect_visits(INDEX, "R1", t, x, y, v, truck_id="T1", received_s=recv, config=config)
    return {visit.bin_id: visit for visit in found}


@st.composite
def tracks(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Random walks over the grid: stops, crawls, fast legs, gaps, duplicate times."""
    n = draw(st.integers(2, 120))
    dt = draw(
        st.lists(
            st.sampled_from([0.0, 1.0, 1.0, 2.0, 5.0, 30.0, 31.5, 200.0]), min_size=n, max_size=n
        )
    )
    steps = draw(
        st.lists(
            st.tuples(st.sampled_from([0.0, 0.0, 1.0, 3.0, 10.0]), st.floats(0, 2 * np.pi)),
            min_size=n,
            max_size=n,
        )
    )
    with_speed = draw(st.booleans())
    t = T0 + np.cumsum(dt)
    dt_eff = np.maximum(dt, 1.0)
    sp = np.array([s for s, _ in steps])
    ang = np.array([a for _, a in steps])
    x = X0 + draw(st.floats(-30, 190)) + np.cumsum(sp * dt_eff * np.cos(ang)).clip(-200, 200)
    y = Y0 + draw(st.floats(-30, 190)) + np.cumsum(sp * dt_eff * np.sin(ang)).clip(-200, 200)
    v = sp.copy() if with_speed else np.full(n, np.nan)
    recv = t + np.array(
        draw(st.lists(st.sampled_from([0.5, 3.0, 18_000.0]), min_size=n, max_size=n))
    )
    return t, x, y, v, recv


@settings(max_examples=150, deadline=None)
@given(tracks())
def test_full_recompute_equals_ping_by_ping(track: tuple[np.ndarray, ...]) -> None:
    assert full(*track) == incremental(*track)


@settings(max_examples=60, deadline=None)
@given(tracks())
def test_equal_with_tight_caps(track: tuple[np.ndarray, ...]) -> None:
    config = CoverageConfig(max_evidence_fixes=4, max_passes=2, pass_gap_s=0.0)
    assert full(*track, config=config) == incremental(*track, config=config)


def test_day_of_laps_outcomes() -> None:
    # Along the bottom row at 10 m/s, then stop 20 s at B2 on a second lap.
    lap1 = np.linspace(-50, 210, 27)
    stop = np.full(20, 80.0)
    lap2 = np.linspace(-50, 80, 14)
    xs = np.concatenate([lap1, lap2, stop])
    t = T0 + np.concatenate([np.arange(27), 600 + np.arange(14), 614 + np.arange(20)])
    y = np.full(xs.size, Y0)
    nan = np.full(xs.size, np.nan)
    visits = full(t, X0 + xs, y, nan, t)
    assert {b: v.status for b, v in visits.items() if b in {"B0", "B2", "B4"}} == {
        "B0": "passed",
        "B2": "serviced",
        "B4": "passed",
    }
    assert "X0" not in visits
    assert [p.stopped for p in visits["B2"].passes] == [False, True]
    assert visits == incremental(t, X0 + xs, y, nan, t)


def test_unsorted_input_is_sorted_by_time() -> None:
    t = T0 + np.arange(30.0)
    x = X0 + np.linspace(-50, 200, 30)
    y = np.full(30, Y0)
    nan = np.full(30, np.nan)
    perm = np.random.default_rng(1).permutation(30)
    assert full(t[perm], x[perm], y[perm], nan[perm], t[perm]) == full(t, x, y, nan, t)


@pytest.mark.parametrize("route_id", ["R9"])
def test_unknown_route_or_empty_track(route_id: str) -> None:
    assert detect_visits(INDEX, route_id, [T0], [X0], [Y0], truck_id="T1") == []
    assert detect_visits(INDEX, "R1", [], [], [], truck_id="T1") == []
