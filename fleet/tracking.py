"""The snap step of the pipeline: live state for new fixes, history for late ones.

A fix newer than the truck's live state continues the live match. A fix older than it
(a backlog sent after the live position moved on) is matched from the truck's stored
track just before it, so a late fix can neither rewind nor disturb the live state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fleet import prematch
from fleet.coverage import wita_date
from fleet.fix import Fix
from fleet.models import TruckState
from fleet.progress import plausible_stretch
from fleet.reference_cache import Reference
from fleet.snap import MatchState, SnapResult, TraceMatch, state_at
from fleet.store import pings as ping_store
from fleet.store.pings import Stored
from fleet.store.progress import add_stretches

__all__ = [
    "SnappedFix",
    "Track",
    "record_progress",
    "snap_fixes",
    "with_previous",
]

#: How far back a late fix looks for the stored fix it continues from.
HISTORY_LOOKBACK = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class SnappedFix:
    """A fix with where it lies on its truck's route (all None when the truck has none)."""

    fix: Fix
    route_id: str | None = None
    progress_m: float | None = None
    snap_lat: float | None = None
    snap_lon: float | None = None
    offset_m: float | None = None
    on_route: bool | None = None
    confidence: float | None = None
    matcher_state: dict[str, Any] | None = None


def snap_fixes(
    session: Session,
    reference: Reference,
    state: TruckState,
    fixes: Sequence[Fix],
    before: Stored | None,
    live: TraceMatch | None = None,
) -> list[SnappedFix]:
    """Snap ``fixes`` (oldest first) for the truck whose locked ``state`` is given;
    ``before`` is its stored ping just before the first fix (read once by the caller),
    ``live`` the match of its fixes newer than ``state`` if already done (``match_live``).
    """
    route = reference.route_for_truck(state.truck_id)
    if route is None:
        return [SnappedFix(fix) for fix in fixes]
    late = [f for f in fixes if state.fix_time is not None and f.time <= state.fix_time]
    out = _snap_late(session, reference.matcher(route.route_id), state, late, before)
    newer = fixes[len(late) :]  # fixes come oldest first: late ones are a prefix
    if newer:
        if live is None:
            run = prematch.live_run(reference, state, fixes)
            live = prematch.match_live([run] if run is not None else [])[state.truck_id]
        out += _from_trace(route.route_id, newer, live)
    return out


def _snap_late(
    session: Session, matcher: Any, state: TruckState, late: Sequence[Fix], before: Stored | None
) -> list[SnappedFix]:
    """Late fixes, each matched from the stored track (or the late run) just before it."""
    history = _history(session, state.truck_id, late, before)
    out: list[SnappedFix] = []
    prior: tuple[datetime, MatchState | None] | None = None
    for fix in late:
        start = _prior(history, fix.time, prior)
        new_state, result = _step(matcher, start, fix)
        prior = (fix.time, new_state)
        out.append(_snapped(fix, result, None))
    return out


def _from_trace(route_id: str, fixes: Sequence[Fix], m: TraceMatch) -> list[SnappedFix]:
    columns = zip(
        fixes,
        m.progress_m.tolist(),
        m.snap_lat.tolist(),
        m.snap_lon.tolist(),
        m.offset_m.tolist(),
        m.on_route.tolist(),
        m.confidence.tolist(),
        strict=True,
    )
    out = [SnappedFix(f, route_id, p, la, lo, o, on, c) for f, p, la, lo, o, on, c in columns]
    if m.state is not None:
        out[-1] = replace(out[-1], matcher_state=m.state.to_dict())
    return out


def _step(matcher: Any, state: MatchState | None, fix: Fix) -> tuple[MatchState, SnapResult]:
    new_state, result = matcher.step(
        state, fix.time.timestamp(), fix.lon, fix.lat, fix.speed_mps, fix.accuracy_m
    )
    return new_state, result


def _history(
    session: Session, truck_id: str, late: Sequence[Fix], before: Stored | None
) -> list[Stored]:
    """The stored pings a late run can continue from: the one just before its first
    fix (late fixes come first, so that is ``before``), and any stored between them."""
    if not late:
        return []
    if before is not None and late[0].time - before.fix.time > HISTORY_LOOKBACK:
        before = None
    within = ping_store.stored_between(session, truck_id, late[0].time, late[-1].time)
    return ([before] if before is not None else []) + within


def _prior(
    history: Sequence[Stored], t: datetime, chained: tuple[datetime, MatchState | None] | None
) -> MatchState | None:
    """The state just before ``t``: the late run's own last fix, or the stored ping."""
    stored = next((p for p in reversed(history) if p.fix.time < t), None)
    if chained is not None and (stored is None or chained[0] >= stored.fix.time):
        return chained[1]
    if stored is None or stored.progress_m is None:
        return None
    return state_at(stored.progress_m, stored.fix.time.timestamp(), bool(stored.on_route))


def _snapped(fix: Fix, r: SnapResult, matcher_state: dict[str, Any] | None) -> SnappedFix:
    return SnappedFix(
        fix=fix,
        route_id=r.route_id,
        progress_m=r.progress_m,
        snap_lat=r.snap_lat,
        snap_lon=r.snap_lon,
        offset_m=r.offset_m,
        on_route=r.on_route,
        confidence=r.confidence,
        matcher_state=matcher_state,
    )


@dataclass(frozen=True, slots=True)
class Track:
    """New fixes of one truck, oldest first, with the stored fix just before them."""

    previous: SnappedFix | None
    fixes: Sequence[SnappedFix]

    def pairs(self) -> list[tuple[SnappedFix | None, SnappedFix]]:
        """Each new fix with the one before it: the moves that coverage and progress see."""
        befores = [self.previous, *self.fixes[:-1]]
        return list(zip(befores, self.fixes, strict=True))


def with_previous(before: Stored | None, fixes: Sequence[SnappedFix]) -> Track:
    if before is None:
        return Track(None, fixes)
    previous = SnappedFix(
        before.fix,
        before.route_id,
        before.progress_m,
        before.snap_lat,
        before.snap_lon,
        before.offset_m,
        before.on_route,
        before.confidence,
    )
    return Track(previous, fixes)


def record_progress(
    session: Session, reference: Reference, truck_id: str, track: Track, now: datetime
) -> None:
    """Add the stretches driven between consecutive on-route fixes to the day's row."""
    route = reference.route_for_truck(truck_id)
    if route is None:
        return
    stretches = []
    for prev, cur in track.pairs():
        if prev is None or not (prev.on_route and cur.on_route):
            continue
        if prev.progress_m is None or cur.progress_m is None:
            continue
        dt_s = (cur.fix.time - prev.fix.time).total_seconds()
        if plausible_stretch(prev.progress_m, cur.progress_m, dt_s):
            day = wita_date(cur.fix.time.timestamp())
            stretches.append((day, prev.progress_m, cur.progress_m))
    if stretches:
        add_stretches(session, route.route_id, truck_id, stretches, now)
