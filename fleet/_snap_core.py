"""The matcher's inner loop: one Viterbi step over plain-float hypotheses.

Private to :mod:`fleet.snap`. Live matching calls :func:`next_hyps` per fix; the batch's
lockstep (:mod:`fleet._snap_step`) repeats its arithmetic operation for operation, and
finishes its last few traces through it, which is what makes them agree exactly. It
works on tuples and Python floats because candidate lists are short and NumPy's
per-call overhead would dominate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from math import exp, sqrt
from operator import itemgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleet.snap import SnapConfig

MIN_DT_S = 0.1
#: Growing-memory gains for the first fixes of a hypothesis (least-squares line fit).
_GROW = [(1.0, 1.0)] * 3 + [
    (2 * (2 * k - 1) / (k * (k + 1)), 6 / (k * (k + 1))) for k in range(3, 30)
]

#: How a fix stands to the route (:func:`leg`): on it (or a glitch off it), one of a run
#: of far fixes that means the truck left, the first near fix after such a run, or after
#: one long enough to mean the truck went elsewhere.
ON, PARKED, RETURNS, REJOINS = 0, 1, 2, 3
# A hypothesis in the inner loop: (progress_m, speed_mps, score, t_s, updates, offset_m);
# offset_m is the matched candidate's distance for this fix, or -1.0 if the fix was held.
Hyp = tuple[float, float, float, float, int, float]
#: A truck's trip off its route (:func:`excursion`): (left_m, back_t, rejoined_t).
Trip = tuple[float | None, float | None, float | None]


@lru_cache(maxsize=4096)
def _gains(dt: float, sigma: float, accel: float) -> tuple[float, float]:
    """Steady-state alpha-beta gains for the tracking index of this fix interval."""
    lam = accel * dt * dt / sigma
    r = (4.0 + lam - sqrt(8.0 * lam + lam * lam)) / 4.0
    a = 1.0 - r * r
    return a, 2.0 * (2.0 - a) - 4.0 * sqrt(1.0 - a)


def _speed_gain(dt: float, sigma: float, speed: float, cfg: SnapConfig) -> tuple[float, float]:
    """(gain, 1 - gain) of a progress-only Kalman filter driven by the reported speed.

    A device's speed pins down the distance driven between fixes to a few metres (its
    noise, and speed changing within the gap), far better than GPS positions do; the
    filter's steady state for that process noise follows from a quadratic.
    """
    sd = cfg.speed_sd_m + (cfg.speed_sd_m_per_s + cfg.speed_sd_share * speed) * dt
    q, r = sd * sd, sigma * sigma
    p = 0.5 * (q + sqrt(q * (q + 4.0 * r)))
    a = p / (p + r)
    return a, 1.0 - a


def _predict(
    h: Hyp, t: float, sigma: float, speed: float, cfg: SnapConfig
) -> tuple[float, float, float, float]:
    """(prediction, gain a, second gain, dt) of ``h``'s filter for a fix at ``t``.

    With a reported speed the second gain is ``1 - a``, the share of the squared
    innovation the move costs; without, it is the alpha-beta filter's velocity gain b.
    """
    m, v, _, th, n, _ = h
    dt = max(t - th, MIN_DT_S)
    if speed >= 0.0:
        a, keep = _speed_gain(dt, sigma, speed, cfg)
        if n < 8:
            a = max(a, 1.0 / (n + 1))
            keep = 1.0 - a
        sgn = -1.0 if v < 0.0 else 1.0
        return m + sgn * 0.5 * (abs(v) + speed) * dt, a, keep, dt
    a, b = _gains(dt, sigma, cfg.accel_mps2)
    if n < 29:
        a, b = max(a, _GROW[n + 1][0]), max(b, _GROW[n + 1][1])
    return m + v * dt, a, b, dt


def _advance(
    hyps: Sequence[Hyp],
    ms: Sequence[float],
    ds: Sequence[float],
    t: float,
    sigma: float,
    speed: float,
    length_m: float,
    cfg: SnapConfig,
) -> list[Hyp] | None:
    """Best way into each reachable candidate, or None if none is reachable.

    Moving ``h`` to a candidate at measure ``mc`` costs its filter's innovation; with
    no reported speed the velocity follows the innovation, and driving backwards costs
    extra (trucks rarely reverse: without it a street driven out and back reads as well
    backwards as forwards; the dead band spares GPS jitter at stops).
    """
    k2 = 0.5 / (sigma * sigma)
    slack = cfg.reach_slack_m + 3.0 * sigma
    vmax = cfg.max_speed_mps
    tol, per_m = cfg.reverse_tolerance_mps, cfg.reverse_cost_per_m
    rolls = speed >= 0.0
    filters = []
    for h in hyps:
        pred, a, g, dt = _predict(h, t, sigma, speed, cfg)
        filters.append((h, pred, a, g, dt, vmax * dt + slack))
    out: list[Hyp] = []
    for mc, dc in zip(ms, ds, strict=True):
        best: Hyp | None = None
        for h, pred, a, g, dt, reach in filters:
            if not -reach <= mc - h[0] <= reach:
                continue
            innov = mc - pred
            if rolls:
                nv = -speed if h[1] < 0.0 else speed
                sc = h[2] - innov * innov * g * k2
            else:
                nv = min(max(h[1] + g * innov / dt, -vmax), vmax)
                back = -nv - tol
                rev = per_m * back * dt if back > 0.0 else 0.0
                sc = h[2] - innov * innov * (1.0 - a) * k2 - rev
            if best is None or sc > best[2]:
                nm = pred + a * innov
                best = (min(max(nm, 0.0), length_m), nv, sc, t, min(h[4] + 1, 28), dc)
        if best is not None:
            out.append((best[0], best[1], best[2] - dc * dc * k2, t, best[4], dc))
    return out or None


def _seed(
    hyps: Sequence[Hyp],
    ms: Sequence[float],
    ds: Sequence[float],
    t: float,
    sigma: float,
    speed: float,
    cfg: SnapConfig,
    jump: float,
    origin: float | None = None,
) -> list[Hyp]:
    """Re-acquire: start a hypothesis at every candidate, paying the ``jump`` cost.

    Passes of one street look alike, so the jump also costs per km of measure from
    the best hypothesis (or from the route start): a truck with no history is most
    likely starting its route, and one that rejoins most likely did so nearby
    (``origin`` overrides the best hypothesis: where a truck back from elsewhere left).
    """
    if hyps:
        base, per_m = hyps[0][2] - jump, cfg.jump_cost_per_km
        origin = hyps[0][0] if origin is None else origin
    else:
        base, origin, per_m = 0.0, 0.0, cfg.start_cost_per_km
    k2 = 0.5 / (sigma * sigma)
    per_m /= 1000.0
    return [
        (m, max(speed, 0.0), base - d * d * k2 - per_m * abs(m - origin), t, 1, d)
        for m, d in zip(ms, ds, strict=True)
    ]


def _held(
    h: Hyp, t: float, speed: float, length_m: float, cfg: SnapConfig, back: bool = False
) -> Hyp:
    """``h`` ignoring this fix: dead-reckoned with the reported speed, else standing still.

    A fix beside the route that fits no pass (noisier than its accuracy says) still
    tells that the truck drives on; freezing progress there lags the truck by a block.
    But while the truck is coming ``back`` from elsewhere, a hypothesis that could not
    place the fix before either is parked: near fixes it keeps failing to explain are
    the truck still approaching its route, its speed not along it.
    """
    m, v, s, th, n, d = h
    if back and speed >= 0.0 and d < 0.0:
        return _parked(h, t, cfg)
    if speed < 0.0:
        return (m, v, s - cfg.hold_cost, th, n, -1.0)
    sgn = -1.0 if v < 0.0 else 1.0
    moved = m + sgn * 0.5 * (abs(v) + speed) * max(t - th, MIN_DT_S)
    return (min(max(moved, 0.0), length_m), sgn * speed, s - cfg.hold_cost, t, n, -1.0)


def _parked(h: Hyp, t: float, cfg: SnapConfig) -> Hyp:
    """``h`` while the truck is off its route: progress stays where it left, time runs.

    Its reported speed is then driving elsewhere (to a dump, a depot), not along the
    route; dead-reckoning it over the whole absence would put the truck kilometres
    ahead, on whatever pass lies there, when it comes back.
    """
    m, _, s, _, n, _ = h
    return (m, 0.0, s - cfg.hold_cost, t, n, -1.0)


def _prune(
    new: list[Hyp], hyps: Sequence[Hyp], held: Callable[[Hyp], Hyp], cfg: SnapConfig
) -> list[Hyp]:
    """Add the 'ignore this fix' option, keep the best distinct hypotheses, renormalize.

    The sort is stable (``reverse`` keeps equal scores in order), so of equal scores
    the first option wins, as ``argmax`` makes it win in the batch. If some option
    places the fix (within the prune floor), one slot is kept for such an option: held
    hypotheses all pay the same hold cost, so once they fill every slot a newcomer (a
    re-acquisition, which pays a jump cost once) could never stay long enough to prove
    itself.
    """
    new.extend(map(held, hyps))
    new.sort(key=itemgetter(2), reverse=True)
    top = new[0][2]
    floor, merge, most = top - cfg.prune_cost, cfg.merge_m, cfg.max_hypotheses
    if most > 1 and any(h[5] >= 0.0 and h[2] >= floor for h in new):
        reserve = most - 1
    else:
        reserve = most
    kept: list[Hyp] = []
    holds = 0
    for h in new:
        if h[2] < floor or len(kept) == most:
            break
        if h[5] < 0.0 and holds == reserve:
            continue
        m = h[0]
        for k in kept:
            if not abs(m - k[0]) > merge:
                break
        else:
            kept.append((m, h[1], h[2] - top, h[3], h[4], h[5]))
            holds += h[5] < 0.0
    return kept


def _hysteresis(
    on: bool, far_run: int, near_run: int, far: bool, cfg: SnapConfig
) -> tuple[bool, int, int]:
    """One fix far is noise; several in a row mean the truck left (or rejoined) the route."""
    far_run, near_run = (far_run + 1, 0) if far else (0, near_run + 1)
    if on and far_run >= cfg.off_after_fixes:
        on = False
    elif not on and near_run >= cfg.on_after_fixes:
        on = True
    return on, far_run, near_run


def _confidence(hyps: Sequence[Hyp], sigma: float) -> float:
    """Posterior share of the best hypothesis times its fix's emission likelihood."""
    if not hyps or hyps[0][5] < 0.0:
        return 0.0
    share = 1.0 / sum(exp(h[2]) for h in hyps)
    d = hyps[0][5] / sigma
    return share * exp(-0.5 * d * d)


def next_hyps(
    hyps: list[Hyp],
    window: tuple[list[float], list[float]],
    everywhere: Callable[[], tuple[list[float], list[float]]],
    t: float,
    sigma: float,
    speed: float,
    near: bool,
    length_m: float,
    cfg: SnapConfig,
    leg: int = 0,
    first: bool = False,
    trip: Trip = (None, None, None),
) -> tuple[list[Hyp], Trip]:
    """One Viterbi step: track through reachable candidates, else re-acquire anywhere.
    Returns the kept hypotheses and the truck's ``trip`` after the fix (:func:`excursion`).

    ``near`` says the fix lies within the off-route distance of the route; ``leg``
    (:func:`leg`) whether it is one of a run of far fixes long enough to mean the truck
    left the route (``PARKED``, ``first`` of such a run), or the first near one after
    such a run (``RETURNS``, or ``REJOINS`` after a long one). A far fix alone is held
    with the clock stopped, so that the truck's progress is dead-reckoned over the glitch
    once a fix places it again. While the truck comes back, re-acquisitions measure from
    where it left (:func:`jump_origin`), and on its way back from a trip elsewhere
    (:func:`approaching`) a hypothesis that keeps failing to place fixes is parked.
    """
    origin = jump_origin(leg, t, trip[0], trip[1], cfg)
    new = _advance(hyps, *window, t, sigma, speed, length_m, cfg) if hyps else None
    if leg == REJOINS:
        # Back from elsewhere, or from a run of far fixes: the filter may still place it
        # (noise), else no state says where along the route, so every pass bids by its
        # distance from where the truck left, with no jump cost.
        seeds = _seed(hyps, *everywhere(), t, sigma, speed, cfg, 0.0, origin)
        new = seeds if new is None else new + seeds
    elif new is None:
        new = _seed(hyps, *everywhere(), t, sigma, speed, cfg, cfg.jump_cost, origin)
    elif near and hyps[0][5] < 0.0:
        # The best guess could not place the last fix either, although the route was
        # right there: it may have lost the truck, so let every pass bid again.
        new.extend(_seed(hyps, *everywhere(), t, sigma, speed, cfg, cfg.jump_cost, origin))
    after = excursion(leg, first, hyps, t, trip, cfg)
    if not (new or hyps):
        return [], after
    if leg != ON:
        return _prune(new, hyps, lambda h: _parked(h, t, cfg), cfg), after
    if near:
        back = approaching(leg, t, origin, trip[2], cfg)
        return _prune(new, hyps, lambda h: _held(h, t, speed, length_m, cfg, back), cfg), after
    return _prune(new, hyps, lambda h: _held(h, t, -1.0, length_m, cfg), cfg), after


def gates(sigma: float, cfg: SnapConfig) -> tuple[float, float]:
    """(candidate gate, off-route distance) for a fix with noise ``sigma`` metres.

    A fix 50 m from the street is routine at sigma 30 m, so both grow with sigma: the
    gate so that such fixes still vote for a pass, the off-route distance so that noise
    alone rarely looks like leaving (2 sigma: 5% of fixes, three in a row 1e-4).
    """
    gate = min(max(cfg.off_route_m, cfg.gate_sigmas * sigma), cfg.max_gate_m)
    return gate, min(max(cfg.off_route_m, cfg.far_sigmas * sigma), gate)


def is_near(
    ds: Sequence[float], everywhere: Callable[[], tuple[list[float], list[float]]], far_m: float
) -> bool:
    """Whether the route passes within ``far_m`` of the fix (window first, index if needed)."""
    if any(d <= far_m for d in ds):
        return True
    return any(d <= far_m for d in everywhere()[1])


def leg(near: bool, prior: tuple[bool, int, int] | None, cfg: SnapConfig) -> int:
    """``PARKED`` if a fix is far and the run of far fixes it ends says "off the route";
    if it is near and ends such a run, ``REJOINS`` if the run was long enough to mean the
    truck went elsewhere (:func:`rejoin_after`), else ``RETURNS``; else ``ON``."""
    far_run = 0 if prior is None else prior[1]
    if near:
        if far_run >= rejoin_after(cfg):
            return REJOINS
        return RETURNS if far_run >= park_after(cfg) else ON
    return PARKED if far_run + 1 >= park_after(cfg) else ON


def excursion(
    kind: int,
    first: bool,
    hyps: Sequence[Hyp],
    t: float,
    trip: Trip,
    cfg: SnapConfig,
) -> Trip:
    """The ``trip`` (left_m, back_t, rejoined_t) after a fix: where the truck last left
    its route, when it last came back, and when it last came back from elsewhere.

    The ``first`` parked fix of a run (:func:`first_parked`) records the best
    hypothesis's progress, unless the truck came back less than ``rejoin_memory_s`` ago:
    then it only crossed its route on the way, and the first departure still says
    where it will resume.
    """
    left_m, back_t, rejoined_t = trip
    if kind >= RETURNS:
        return left_m, t, t if kind == REJOINS else rejoined_t
    if first and hyps and (back_t is None or t - back_t >= cfg.rejoin_memory_s):
        return hyps[0][0], back_t, rejoined_t
    return trip


def first_parked(kind: int, prior: tuple[bool, int, int] | None, cfg: SnapConfig) -> bool:
    """Whether a fix is the first of a run of far fixes to count as off the route."""
    return kind == PARKED and (0 if prior is None else prior[1]) + 1 == park_after(cfg)


def jump_origin(
    kind: int, t: float, left_m: float | None, back_t: float | None, cfg: SnapConfig
) -> float | None:
    """Where a re-acquisition measures its jump from: where the truck left its route,
    while it is coming back (its first near fix, and ``rejoin_memory_s`` after), else
    the best hypothesis (None). A truck back from a dump resumes where it left, not on
    the pass of the same street nearest the streets it crossed on its way."""
    if left_m is None:
        return None
    if kind >= RETURNS or (back_t is not None and t - back_t < cfg.rejoin_memory_s):
        return left_m
    return None


def approaching(
    kind: int, t: float, origin: float | None, rejoined_t: float | None, cfg: SnapConfig
) -> bool:
    """Whether the truck is coming back from a trip elsewhere (the rejoining fix, and
    ``rejoin_memory_s`` after): a hypothesis that fails to place two near fixes in a row
    is then parked, not dead-reckoned (:func:`_held`). Not after a short run of far
    fixes, which noise alone makes when a device understates its accuracy."""
    if origin is None:
        return False
    return kind == REJOINS or (rejoined_t is not None and t - rejoined_t < cfg.rejoin_memory_s)


def park_after(cfg: SnapConfig) -> int:
    """Far fixes in a row after which the truck is off its route (at least one)."""
    return max(cfg.off_after_fixes, 1)


def rejoin_after(cfg: SnapConfig) -> int:
    """Far fixes in a row after which a near fix is the truck coming back from
    elsewhere: more than noise alone makes (a few fixes beyond 2 sigma)."""
    return max(cfg.rejoin_after_fixes, park_after(cfg))


def flags(
    kept: list[Hyp], near: bool, prior: tuple[bool, int, int] | None, sigma: float, cfg: SnapConfig
) -> tuple[bool, int, int, float]:
    """(on_route, far_run, near_run, confidence) after a fix."""
    if prior is None:
        on, far_run, near_run = near, int(not near), int(near)
    else:
        on, far_run, near_run = _hysteresis(*prior, not near, cfg)
    return on, far_run, near_run, _confidence(kept, sigma)
