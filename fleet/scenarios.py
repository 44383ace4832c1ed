"""Named days for the simulator: a normal one, and one per fault the service must survive.

A scenario picks which trucks misbehave (deterministically from the seed) and says how:
route edits for the simulator (``RouteEdit``) and device faults for the phones
(``DeviceFaults``). ``SCENARIOS`` maps each name to its description, taken from the
builder's docstring so the two cannot drift apart.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from fleet.devices import DeviceFaults
from fleet.simulator import RouteEdit

__all__ = ["SCENARIOS", "Scenario", "build_scenario"]


@dataclass(frozen=True)
class Scenario:
    """Per-truck changes; trucks not named behave normally."""

    name: str
    edits: Mapping[str, RouteEdit] = field(default_factory=dict)
    faults: Mapping[str, DeviceFaults] = field(default_factory=dict)


Builder = Callable[[list[str], random.Random], Scenario]


def _normal(trucks: list[str], rng: random.Random) -> Scenario:
    """A normal day: every truck drives its route, dumps, and returns; GPS noise only."""
    return Scenario("normal")


def _skip_street(trucks: list[str], rng: random.Random) -> Scenario:
    """One truck skips a street: between 40 % and 55 % of its collection stretch it
    leaves the route for a parallel street 150-400 m away and rejoins further on,
    passing its bins there by."""
    return Scenario("skip-street", edits={rng.choice(trucks): RouteEdit(skip_fraction=(0.4, 0.55))})


def _breakdown(trucks: list[str], rng: random.Random) -> Scenario:
    """One truck breaks down halfway through collection and stands still, its phone
    still reporting, until the end of its shift."""
    return Scenario("breakdown", edits={rng.choice(trucks): RouteEdit(breakdown_fraction=0.5)})


def _offline_hour(trucks: list[str], rng: random.Random) -> Scenario:
    """One phone loses its network an hour into the shift for an hour, buffers its
    fixes, and on reconnecting sends the backlog oldest first."""
    faults = DeviceFaults(offline_from_s=3600.0, offline_for_s=3600.0)
    return Scenario("offline-hour", faults={rng.choice(trucks): faults})


def _clock_skew(trucks: list[str], rng: random.Random) -> Scenario:
    """Two phones with wrong clocks: one 3 minutes ahead, one 10 minutes behind."""
    ahead, behind = rng.sample(trucks, 2) if len(trucks) > 1 else (trucks[0], None)
    faults = {ahead: DeviceFaults(clock_offset_s=180.0)}
    if behind is not None:
        faults[behind] = DeviceFaults(clock_offset_s=-600.0)
    return Scenario("clock-skew", faults=faults)


def _duplicates(trucks: list[str], rng: random.Random) -> Scenario:
    """Five phones (or all, if fewer) resend a fifth of their requests, as a phone does
    when the server's answer is lost: the same fixes arrive twice."""
    chosen = rng.sample(trucks, min(5, len(trucks)))
    return Scenario("duplicates", faults={t: DeviceFaults(duplicate_rate=0.2) for t in chosen})


_BUILDERS: dict[str, Builder] = {
    "normal": _normal,
    "skip-street": _skip_street,
    "breakdown": _breakdown,
    "offline-hour": _offline_hour,
    "clock-skew": _clock_skew,
    "duplicates": _duplicates,
}

#: Scenario name -> what happens in it.
SCENARIOS: dict[str, str] = {
    name: " ".join((builder.__doc__ or "").split()) for name, builder in _BUILDERS.items()
}


def build_scenario(name: str, truck_ids: Sequence[str], *, seed: int = 0) -> Scenario:
    """The scenario ``name`` applied to these trucks; the same seed picks the same trucks."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(_BUILDERS)}")
    if not truck_ids:
        raise ValueError("a scenario needs at least one truck")
    return _BUILDERS[name](sorted(truck_ids), random.Random(f"{name}:{seed}"))
