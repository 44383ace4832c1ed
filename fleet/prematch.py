"""Live matching of a round's fixes, vectorized, and done before the write lock.

Matching is the costliest step of a processing round. ``match_live`` runs every truck's
live fixes through one lockstep pass. The worker does that on what it reads before
taking the round's write transaction (on SQLite a lock that stops every ingesting
request); inside the transaction a match is used only if the truck's state and queue
are still exactly what it was computed from, else the truck is matched again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import nan
from typing import TYPE_CHECKING, Any

from fleet.fix import Fix
from fleet.reference_cache import Reference
from fleet.snap import MatchState, TraceFixes, TraceMatch, match_traces

if TYPE_CHECKING:
    from fleet.models import TruckState
    from fleet.store.pings import Queued

__all__ = ["LiveRun", "Prematched", "live_run", "live_state", "match_live", "prematch"]


@dataclass(frozen=True, slots=True)
class LiveRun:
    """The fixes of one truck that continue its live match (newer than its state)."""

    truck_id: str
    matcher: Any
    fixes: TraceFixes


def live_state(state: TruckState, route_id: str) -> MatchState | None:
    """The matcher state stored with the truck, if it belongs to ``route_id``."""
    if not state.matcher or state.route_id != route_id:
        return None
    try:
        return MatchState.from_dict(state.matcher)
    except (KeyError, TypeError, ValueError):
        return None  # a state from another matcher version: start afresh on this fix


def live_run(reference: Reference, state: TruckState, fixes: Sequence[Fix]) -> LiveRun | None:
    """The run of ``fixes`` (oldest first) newer than ``state``; None if none or no route."""
    route = reference.route_for_truck(state.truck_id)
    newer = [f for f in fixes if state.fix_time is None or f.time > state.fix_time]
    if route is None or not newer:
        return None
    trace = TraceFixes(
        [f.time.timestamp() for f in newer],
        [f.lon for f in newer],
        [f.lat for f in newer],
        [nan if f.speed_mps is None else f.speed_mps for f in newer],
        [nan if f.accuracy_m is None else f.accuracy_m for f in newer],
        live_state(state, route.route_id),
    )
    return LiveRun(state.truck_id, reference.matcher(route.route_id), trace)


def match_live(runs: Sequence[LiveRun]) -> dict[str, TraceMatch]:
    """Every truck's live run matched in one vectorized pass, as ``Matcher.step`` would
    fix by fix: per-fix Python steps were most of a round's time."""
    by_config: dict[int, list[LiveRun]] = {}
    for run in runs:
        by_config.setdefault(id(run.matcher.config), []).append(run)
    out: dict[str, TraceMatch] = {}
    for group in by_config.values():
        routes = [r.matcher.route for r in group]
        matches = match_traces(routes, [r.fixes for r in group], group[0].matcher.config)
        out.update((r.truck_id, m) for r, m in zip(group, matches, strict=True))
    return out


@dataclass(frozen=True)
class Prematched:
    """Live matches with the states and queued pings they were computed from."""

    states: Mapping[str, TruckState]
    queued: Mapping[str, Sequence[Queued]]
    matches: Mapping[str, TraceMatch]

    def take(
        self, state: TruckState, queue_ids: Sequence[int]
    ) -> tuple[TraceMatch, Sequence[Queued]] | None:
        """The match and the pings it covers, if ``state`` is what it was computed from
        and those pings still lead the truck's queue, whose ids (oldest fix first) are
        ``queue_ids``: the pings themselves need not be read again under the lock.
        Pings queued since wait for the next round."""
        match = self.matches.get(state.truck_id)
        queued = self.queued.get(state.truck_id)
        if match is None or queued is None:
            return None
        then = _inputs(self.states[state.truck_id], [q.queue_id for q in queued])
        if then != _inputs(state, queue_ids[: len(queued)]):
            return None
        return match, queued


def prematch(
    reference: Reference,
    states: Mapping[str, TruckState],
    queued: Mapping[str, Sequence[Queued]],
) -> Prematched:
    """Match the live fixes of every truck in ``queued`` whose state is known."""
    runs = [
        live_run(reference, states[truck_id], [q.fix for q in pending])
        for truck_id, pending in queued.items()
        if truck_id in states
    ]
    matches = match_live([r for r in runs if r is not None])
    return Prematched(states, queued, matches)


def _inputs(state: TruckState, queue_ids: Sequence[int]) -> tuple[Any, ...]:
    return (state.fix_time, state.route_id, state.matcher, list(queue_ids))
