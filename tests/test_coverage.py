"""Per-ping bin service detection: what a dispatcher would see on the map."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pytest

from fleet.coverage import (
    DEFAULT_CONFIG,
    BinIndex,
    CoverageConfig,
    TrackPoint,
    Visit,
    merge_visit,
    observe_segment,
)

# A street along +x in UTM 51S near Kupang; real-sized coordinates keep rounding honest.
X0, Y0 = 570_000.0, 8_855_000.0
T0 = 1_717_200_000.0  # 2024-06-01 08:00 WITA


@pytest.fixture
def index() -> BinIndex:
    """Route R1 has bins 5 m off the street; route R2 has one bin beside it too."""
    return BinIndex.from_arrays(
        ["B100", "B300", "B500", "X200"],
        ["R1", "R1", "R1", "R2"],
        [X0 + 100, X0 + 300, X0 + 500, X0 + 200],
        [Y0 + 5, Y0 + 5, Y0 + 5, Y0 + 6],
    )


def drive(legs: Sequence[tuple[float, float]], every_s: float = 1.0) -> list[TrackPoint]:
    """Fixes along the street through (time offset s, x offset m) waypoints."""
    ts = np.arange(legs[0][0], legs[-1][0] + 1e-9, every_s)
    xs = np.interp(ts, [w[0] for w in legs], [w[1] for w in legs])
    return [TrackPoint(T0 + t, X0 + x, Y0) for t, x in zip(ts.tolist(), xs.tolist(), strict=True)]


def feed(
    index: BinIndex,
    points: Iterable[TrackPoint],
    route_id: str = "R1",
    delay_s: float = 0.0,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> dict[str, Visit]:
    """Run fixes ping by ping as the pipeline does; ``delay_s`` is the upload delay."""
    visits: dict[str, Visit] = {}
    prev = None
    for cur in points:
        for obs in observe_segment(index, route_id, prev, cur, config):
            visits[obs.bin_id] = merge_visit(
                visits.get(obs.bin_id), obs, config, truck_id="T1", recorded_at_s=cur.t_s + delay_s
            )
        prev = cur
    return visits


def test_stop_at_a_bin_is_serviced(index: BinIndex) -> None:
    # 10 m/s up to the bin, 30 s stop there, then on past the end of the street.
    visits = feed(index, drive([(0, 0), (10, 100), (40, 100), (90, 600)]))
    assert visits["B100"].status == "serviced"
    assert visits["B100"].dwell_s >= 30
    assert visits["B100"].closest_m == pytest.approx(5.0)
    assert visits["B300"].status == "passed"
    assert visits["B500"].status == "passed"


def test_passing_at_speed_is_passed_with_evidence(index: BinIndex) -> None:
    visits = feed(index, drive([(0, 0), (60, 600)]))
    assert {b: v.status for b, v in visits.items()} == dict.fromkeys(
        ["B100", "B300", "B500"], "passed"
    )
    v = visits["B300"]
    # Inside 25 m of a bin 5 m off the street for 2 * sqrt(25² - 5²) m at 10 m/s.
    assert v.dwell_s == pytest.approx(4.899, abs=0.002)
    assert v.min_speed_mps == pytest.approx(10.0)
    assert v.evidence()["passes"][0]["fix_times_s"][0] == T0 + 27


def test_slow_crawl_by_device_speed_is_serviced(index: BinIndex) -> None:
    # Displacement says 10 m/s but the device reports it braked to 1 m/s at the bin.
    pts = drive([(0, 0), (20, 200)])
    pts = [
        TrackPoint(p.t_s, p.x_m, p.y_m, 1.0 if abs(p.x_m - X0 - 100) < 15 else 10.0) for p in pts
    ]
    visits = feed(index, pts)
    assert visits["B100"].status == "serviced"
    assert visits["B100"].min_speed_mps == 1.0


def test_sparse_fixes_stop_is_serviced(index: BinIndex) -> None:
    # One fix every 30 s: the truck reaches the bin at t=15 and waits there until t=75.
    pts = drive([(0, -50), (15, 100), (75, 100), (125, 600)], every_s=1)[::30]
    visits = feed(index, pts)
    assert visits["B100"].status == "serviced"
    assert visits["B300"].status == "passed"


def test_sparse_fixes_drive_by_is_passed_not_missed(index: BinIndex) -> None:
    # Fixes 300 m apart: none lands near B100, but the segment between them does.
    pts = drive([(0, -50), (60, 550)], every_s=30)
    assert min(abs(p.x_m - X0 - 100) for p in pts) > 100
    visits = feed(index, pts)
    assert visits["B100"].status == "passed"
    assert visits["B100"].closest_m == pytest.approx(5.0)
    assert visits["B100"].dwell_s == pytest.approx(4.899, abs=0.002)


def test_street_driven_twice_upgrades_passed_to_serviced(index: BinIndex) -> None:
    first = drive([(0, 0), (60, 600)])
    second = drive([(3600, 0), (3610, 100), (3640, 100), (3690, 600)])
    visits = feed(index, first + second)
    v = visits["B100"]
    assert v.status == "serviced"
    passes = v.evidence()["passes"]
    assert [p["stopped"] for p in passes] == [False, True]
    assert passes[0]["t_first_s"] < T0 + 60 < T0 + 3600 < passes[1]["t_first_s"]
    assert visits["B300"].status == "passed"
    assert len(visits["B300"].passes) == 2


def test_repeated_fast_passes_do_not_add_up_to_a_stop(index: BinIndex) -> None:
    laps = [drive([(k * 600, 0), (k * 600 + 60, 600)]) for k in range(4)]
    visits = feed(index, [p for lap in laps for p in lap])
    assert visits["B100"].status == "passed"
    assert visits["B100"].dwell_s < DEFAULT_CONFIG.dwell_s


def test_bin_of_another_route_is_not_this_trucks_job(index: BinIndex) -> None:
    visits = feed(index, drive([(0, 0), (10, 200), (60, 200), (100, 600)]))
    assert "X200" not in visits
    assert set(visits) == {"B100", "B300", "B500"}
    assert feed(index, drive([(0, 0), (60, 600)]), route_id="R9") == {}


def test_late_backlog_keeps_fix_times_and_records_arrival(index: BinIndex) -> None:
    late_s = 5 * 3600.0
    visits = feed(index, drive([(0, 0), (10, 100), (40, 100), (90, 600)]), delay_s=late_s)
    v = visits["B100"]
    assert v.first_time_s < T0 + 40
    assert v.recorded_at_s >= T0 + late_s
    assert v.service_date.isoformat() == "2024-06-01"


def test_recorded_at_follows_the_status_change(index: BinIndex) -> None:
    first = drive([(0, 0), (60, 600)])
    second = drive([(3600, 0), (3610, 100), (3640, 100), (3690, 600)])
    visits = feed(index, first)
    created = visits["B100"].recorded_at_s
    prev = first[-1]
    v = visits["B100"]
    for cur in second:
        for obs in observe_segment(index, "R1", prev, cur):
            if obs.bin_id == "B100":
                v = merge_visit(v, obs, truck_id="T1", recorded_at_s=cur.t_s)
        prev = cur
    assert created == T0 + 8  # the fix ending the first segment that reached the bin
    assert v.recorded_at_s == T0 + 3611  # the first fix showing the truck standing


def test_long_gap_is_not_interpolated(index: BinIndex) -> None:
    # Device off for two hours: the straight line between the fixes proves nothing.
    pts = [TrackPoint(T0, X0 - 100, Y0), TrackPoint(T0 + 7200, X0 + 700, Y0)]
    assert feed(index, pts) == {}


def test_evidence_is_capped_but_counts_every_fix(index: BinIndex) -> None:
    visits = feed(index, drive([(0, 0), (10, 100), (610, 100), (660, 600)]))
    p = visits["B100"].passes[0]
    assert len(p.fix_times_s) == DEFAULT_CONFIG.max_evidence_fixes
    assert p.fix_count > 600
    assert p.fix_times_s[-1] - p.fix_times_s[0] > 600


def test_radius_is_configurable(index: BinIndex) -> None:
    tight = CoverageConfig(radius_m=4.0)
    assert feed(index, drive([(0, 0), (10, 100), (40, 100)]), config=tight) == {}


def test_merge_rejects_another_bins_visit(index: BinIndex) -> None:
    visits = feed(index, drive([(0, 0), (60, 600)]))
    obs = observe_segment(index, "R1", None, TrackPoint(T0, X0 + 100, Y0))[0]
    with pytest.raises(ValueError):
        merge_visit(visits["B300"], obs, truck_id="T1", recorded_at_s=T0)
