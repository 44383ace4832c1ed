"""Schedules, missed bins and the day's figures, as the coverage page shows them."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from fleet.coverage import BinIndex, Visit
from fleet.coverage_day import detect_visits
from fleet.coverage_report import (
    BinInfo,
    RouteSchedule,
    classify,
    coverage_report,
    driven_length_m,
    scheduled_bins,
    service_ages,
)
from fleet.fix import WITA

X0, Y0 = 570_000.0, 8_855_000.0
MONDAY = date(2024, 6, 3)


def wita(hhmm: str, day: date = MONDAY) -> float:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=WITA).timestamp()


ROUTES = [
    RouteSchedule("R1", ("mon", "wed", "fri"), "06:00", "14:00", "Oebobo", 1000.0),
    RouteSchedule("R2", ("Tue", "thu"), "06:00", "14:00", "Alak", 500.0),
]
BINS = [
    BinInfo("B100", "R1", "Oebobo"),
    BinInfo("B300", "R1", "Oebobo"),
    BinInfo("B500", "R1", "Oebobo"),
    BinInfo("B700", "R1", "Maulafa"),  # on a side street the truck skips
    BinInfo("P1", "R1", "Oebobo", status="planned"),
    BinInfo("X200", "R2", "Alak"),
]


@pytest.fixture
def index() -> BinIndex:
    return BinIndex.from_arrays(
        ["B100", "B300", "B500", "B700", "X200"],
        ["R1", "R1", "R1", "R1", "R2"],
        [X0 + 100, X0 + 300, X0 + 500, X0 + 700, X0 + 200],
        [Y0 + 5, Y0 + 5, Y0 + 5, Y0 + 400, Y0 + 6],
    )


def day_visits(index: BinIndex, start: str = "10:00", delay_s: float = 0.0) -> list[Visit]:
    """Stop 30 s at B100, drive past B300 and B500 at 10 m/s, never turn to B700."""
    t = np.arange(0.0, 91.0)
    x = np.interp(t, [0, 10, 40, 90], [0, 100, 100, 600])
    t = t + wita(start)
    return detect_visits(
        index, "R1", t, X0 + x, np.full(t.size, Y0), truck_id="T1", received_s=t + delay_s
    )


def test_only_installed_bins_of_routes_due_that_weekday() -> None:
    assert [b.bin_id for b in scheduled_bins(ROUTES, BINS, MONDAY)] == [
        "B100",
        "B300",
        "B500",
        "B700",
    ]
    assert [b.bin_id for b in scheduled_bins(ROUTES, BINS, date(2024, 6, 4))] == ["X200"]
    assert scheduled_bins(ROUTES, BINS, date(2024, 6, 9)) == []


def test_during_the_shift_unvisited_bins_are_pending(index: BinIndex) -> None:
    days = classify(ROUTES, BINS, day_visits(index), MONDAY, wita("11:00"))
    assert {d.bin_id: d.status for d in days} == {
        "B100": "serviced",
        "B300": "passed",
        "B500": "passed",
        "B700": "pending",
    }
    assert {d.truck_id for d in days if d.status != "pending"} == {"T1"}


def test_after_the_shift_skipped_street_is_missed(index: BinIndex) -> None:
    days = {d.bin_id: d for d in classify(ROUTES, BINS, day_visits(index), MONDAY, wita("14:00"))}
    assert days["B700"].status == "missed"
    assert not days["B700"].passed
    assert days["B300"].status == "missed"
    assert days["B300"].passed
    assert days["B100"].status == "serviced"


def test_figures_city_route_truck_kecamatan(index: BinIndex) -> None:
    report = coverage_report(MONDAY, ROUTES, BINS, day_visits(index), wita("15:00"))
    city = report.city
    assert (city.scheduled, city.serviced, city.passed, city.missed, city.pending) == (
        4,
        1,
        2,
        3,
        0,
    )
    assert city.coverage_pct == 25.0
    assert city.late_corrections == 0
    assert report.by_route["R1"] == city
    assert report.by_truck["T1"] == city
    assert report.by_kecamatan["Maulafa"].missed == 1
    assert report.by_kecamatan["Oebobo"].coverage_pct == pytest.approx(100 / 3)
    assert "R2" not in report.by_route


def test_backlog_five_hours_late_counts_as_late_corrections(index: BinIndex) -> None:
    visits = day_visits(index, start="10:00", delay_s=5 * 3600)
    assert all(v.recorded_at_s > wita("14:00") for v in visits)
    report = coverage_report(MONDAY, ROUTES, BINS, visits, wita("16:00"))
    assert report.city.late_corrections == 3
    assert report.by_truck["T1"].late_corrections == 3
    assert report.city.serviced == 1
    on_time = coverage_report(MONDAY, ROUTES, BINS, day_visits(index), wita("16:00"))
    assert on_time.city.late_corrections == 0


def test_visits_of_another_day_do_not_count(index: BinIndex) -> None:
    last_week = day_visits(index, start="10:00")
    next_monday = date(2024, 6, 10)
    report = coverage_report(next_monday, ROUTES, BINS, last_week, wita("15:00", next_monday))
    assert report.city.serviced == 0
    assert report.city.missed == 4


def test_route_progress_merges_overlapping_intervals() -> None:
    assert driven_length_m(1000, [(0, 300), (500, 200), (800, 900), (950, 1200)]) == 650
    report = coverage_report(
        MONDAY, ROUTES, BINS, [], wita("12:00"), driven_intervals={"R1": [(0, 300), (200, 500)]}
    )
    assert report.progress["R1"].driven_m == 500
    assert report.progress["R1"].progress_pct == 50.0
    assert report.progress["R2"].progress_pct == 0.0


def test_service_age_classes() -> None:
    now = wita("09:00")
    last = {
        "B100": wita("07:00"),
        "B300": wita("23:30", date(2024, 6, 2)),
        "B500": wita("12:00", date(2024, 6, 1)),
    }
    ages = {a.bin_id: a for a in service_ages(BINS, last, now)}
    assert {b: a.age_class for b, a in ages.items()} == {
        "B100": "today",
        "B300": "yesterday",
        "B500": "older",
        "B700": "never",
        "P1": "planned",
        "X200": "never",
    }
    assert ages["B100"].age_s == 2 * 3600
    assert ages["B700"].age_s is None
