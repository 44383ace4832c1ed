"""Lockstep Viterbi over many traces at once: the array twin of :mod:`fleet._snap_core`.

Private to :mod:`fleet.snap`. Why lockstep: one fix costs the matcher a few dozen
float operations on a handful of hypotheses, ~10 us in Python; in NumPy it is ~100
calls of ~1 us each whatever the array size. So step ``k`` advances the ``k``-th fix of
every trace ("lane") together, with arrays over (candidates x hypotheses) for the real
candidates of all lanes and (lanes x options) for the choice, and the per-call cost is
shared by all lanes.

Why the answers are bitwise those of the live loop: every value is computed with the
same IEEE operations in the same order as :mod:`fleet._snap_core` (elementwise only,
no fused or reordered arithmetic), and the decisions Python takes with loops (first
best hypothesis per candidate, the stable sort by score, greedy pruning) are taken
with ``argmax``, which returns the first of equal maxima exactly as those loops keep
the first. Tests compare both on random traces.

The step itself is :mod:`fleet._snap_step`; this module lays lanes out step by step,
feeds the step and collects per-fix results, and carries each lane's trip off its
route (``_snap_core.excursion``). Layout: a lane's hypotheses are a (6, lanes, H) block
of fields progress, speed, score, time, updates and matched offset (-1 if the fix was
held); an empty slot has score -inf, and so does a padded option, so neither is ever
chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fleet import _snap_step
from fleet._snap_core import ON, Hyp, next_hyps
from fleet._snap_core import REJOINS as REJOINED
from fleet._snap_core import RETURNS as RETURNED
from fleet._snap_step import (
    FIRST,
    FIRSTS,
    HASC,
    K2,
    NEAR,
    NEG,
    PARK,
    PARKS,
    REJ,
    REJOINS,
    RET,
    SDS,
    SIG,
    SLACK,
    SPD,
    SPE,
    T_,
    VAR,
    VAR4,
    Cands,
    D,
    M,
    S,
    step,
)  # fmt: skip

if TYPE_CHECKING:
    from fleet.snap import SnapConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Below this many active lanes a lockstep step costs more than the lanes' fixes do
#: one by one (~85 us a step against ~6 us a fix), so the rest runs through next_hyps.
LOCKSTEP_MIN_LANES = 16
#: Steps laid out step by step at a time (a few MB for a backfill of 200 lanes).
_CHUNK_STEPS = 512
#: Bits of a fix's flags in ``_Grid.base``.
_NEAR, _HASC, _PARK, _REJ, _FIRST, _RET = 1, 2, 4, 8, 16, 32


@dataclass(frozen=True, eq=False)
class Lane:
    """One trace ready for the lockstep: per-fix arrays (length n) and its candidates.

    ``speed_mps`` is -1 where the device sent none; ``near`` says the route passes within
    the off-route distance; ``legs`` is ``_snap_core.leg`` per fix and ``first`` marks
    ``_snap_core.first_parked``; ``hyps`` is the (6, h) starting block (h may be 0);
    ``trip`` the truck's (left_m, back_t_s, rejoined_t_s) before the first fix, NaN for
    none.
    """

    length_m: float
    t_s: FloatArray
    sigma_m: FloatArray
    speed_mps: FloatArray
    near: npt.NDArray[np.bool_]
    legs: IntArray
    first: npt.NDArray[np.bool_]
    cand_fix: IntArray
    cand_m: FloatArray
    cand_d: FloatArray
    hyps: FloatArray
    trip: FloatArray


@dataclass(frozen=True, eq=False)
class LaneResult:
    """Per fix: best progress and offset (-1 held), kept scores (n, R); final block and
    (left_m, back_t_s, rejoined_t_s)."""

    best_m: FloatArray
    best_d: FloatArray
    scores: FloatArray
    final: FloatArray
    trip: FloatArray


def run(lanes: list[Lane], cfg: SnapConfig) -> list[LaneResult]:
    """Match every lane; lanes are sorted by length so the active ones are a prefix."""
    order = sorted(range(len(lanes)), key=lambda i: -len(lanes[i].t_s))
    ordered = [lanes[i] for i in order]
    rounds = max(cfg.max_hypotheses, 1)
    width = max([rounds, *(ln.hyps.shape[1] for ln in lanes)])
    grid = _Grid.build(ordered, cfg)
    state = np.zeros((6, len(ordered), width))
    state[S] = NEG
    for i, ln in enumerate(ordered):
        state[:, i, : ln.hyps.shape[1]] = ln.hyps
    trip = np.array([ln.trip for ln in ordered]).reshape(-1, 3).T.copy()
    out_m, out_d, out_s, finals = _loop(grid, ordered, state, trip, rounds, cfg)
    results: list[LaneResult] = [None] * len(lanes)  # type: ignore[list-item]
    for slot, i in enumerate(order):
        n = grid.sizes[slot]
        m, d, sc = out_m[:n, slot].copy(), out_d[:n, slot].copy(), out_s[:n, slot].copy()
        results[i] = LaneResult(m, d, sc, *finals[slot])
    return results


@dataclass(frozen=True, eq=False)
class _Grid:
    """Lanes' per-fix rows, and their candidates grouped by step.

    ``base`` is (time, sigma, speed, flags; lanes, steps), filled lane by lane; :meth:`rows`
    derives the step's rows (``_snap_step.ROWS``) and lays a run of steps out step by
    step (steps, rows, lanes), a chunk at a time: a backfill of many days holds four
    rows per fix, not fourteen twice over. Step ``k``'s candidates are
    ``bounds[k]:bounds[k + 1]`` of the ``cand_*`` arrays.
    """

    sizes: list[int]
    active: list[int]
    base: FloatArray
    modes: list[int]
    lengths_m: FloatArray
    cand_k: IntArray
    cand_lane: IntArray
    cand_rank: IntArray
    cand_m: FloatArray
    cand_d: FloatArray
    width: list[int]
    bounds: list[int]

    @classmethod
    def build(cls, lanes: list[Lane], cfg: SnapConfig) -> _Grid:
        sizes = [len(ln.t_s) for ln in lanes]
        steps = max(sizes, default=0)
        base = np.zeros((4, len(lanes), steps))
        counts = np.zeros((steps, len(lanes)), dtype=np.int64)
        ks, lane_ids, ranks, ms, ds = [], [], [], [], []
        for i, ln in enumerate(lanes):
            n = sizes[i]
            c = np.bincount(ln.cand_fix, minlength=n)
            flags = ln.near * _NEAR + (c > 0) * _HASC + ln.first * _FIRST
            flags += (ln.legs != ON) * _PARK + (ln.legs == REJOINED) * _REJ
            flags += (ln.legs == RETURNED) * _RET
            base[0, i, :n], base[1, i, :n], base[2, i, :n] = ln.t_s, ln.sigma_m, ln.speed_mps
            base[3, i, :n] = flags
            counts[:n, i] = c
            starts = np.r_[0, np.cumsum(c)[:-1]]
            ks.append(ln.cand_fix)
            lane_ids.append(np.full(len(ln.cand_fix), i))
            ranks.append(np.arange(len(ln.cand_fix)) - starts[ln.cand_fix])
            ms.append(ln.cand_m)
            ds.append(ln.cand_d)
        cand_k = np.concatenate([np.empty(0, np.int64), *ks])
        by_k = np.argsort(cand_k, kind="stable")
        active = (np.asarray(sizes)[None, :] > np.arange(steps)[:, None]).sum(1)
        live = np.arange(len(lanes))[:, None] < active[None, :]
        speed = base[2] >= 0.0
        has, lacks = (speed & live).any(0), (~speed & live).any(0)
        modes = np.where(has & lacks, 2, np.where(has, 1, 0))
        flags = base[3].astype(np.int64)
        rolls = speed & (flags & (_NEAR | _REJ | _RET) == _NEAR)
        rolling, still = (rolls & live).any(0), (~rolls & live).any(0)
        modes += 3 * np.where(rolling & still, 2, np.where(rolling, 1, 0))
        modes += PARKS * (flags & _PARK > 0).any(0)
        modes += REJOINS * (flags & (_REJ | _RET) > 0).any(0)
        modes += FIRSTS * (flags & _FIRST > 0).any(0)
        return cls(
            sizes,
            active.tolist(),
            base,
            modes.tolist(),
            np.array([ln.length_m for ln in lanes]),
            cand_k[by_k],
            np.concatenate([np.empty(0, np.int64), *lane_ids])[by_k],
            np.concatenate([np.empty(0, np.int64), *ranks])[by_k],
            np.concatenate([np.empty(0), *ms])[by_k],
            np.concatenate([np.empty(0), *ds])[by_k],
            np.maximum(counts.max(1, initial=0), 1).tolist(),
            np.searchsorted(cand_k[by_k], np.arange(steps + 1)).tolist(),
        )

    def rows(self, k0: int, k1: int, cfg: SnapConfig) -> FloatArray:
        """Per-fix rows of steps ``k0..k1`` as (steps, rows, lanes active at ``k0``)."""
        t, sig, spd, flags = self.base[:, : self.active[k0], k0:k1]
        bits = flags.astype(np.int64)
        out = np.empty((len(_snap_step.ROWS), *t.shape))
        out[T_], out[SIG], out[SPD] = t, sig, spd
        var = sig * sig
        out[K2] = 0.5 / var
        out[SLACK] = cfg.reach_slack_m + 3.0 * sig
        out[VAR], out[VAR4] = var, 4.0 * var
        out[SDS] = cfg.speed_sd_m_per_s + cfg.speed_sd_share * spd
        for row, bit in ((NEAR, _NEAR), (HASC, _HASC), (PARK, _PARK), (REJ, _REJ)):
            out[row] = bits & bit > 0
        out[RET], out[FIRST] = bits & _RET > 0, bits & _FIRST > 0
        out[SPE] = np.where(bits & (_NEAR | _REJ | _RET) == _NEAR, spd, -1.0)
        return np.ascontiguousarray(out.transpose(2, 0, 1))

    def cands(self, k: int) -> Cands:
        """Step ``k``'s candidates (views, no copies)."""
        lo, hi = self.bounds[k], self.bounds[k + 1]
        return Cands(
            self.cand_lane[lo:hi], self.cand_rank[lo:hi],
            self.cand_m[lo:hi], self.cand_d[lo:hi], self.width[k],
        )  # fmt: skip


def _loop(
    grid: _Grid,
    lanes: list[Lane],
    state: FloatArray,
    trip: FloatArray,
    rounds: int,
    cfg: SnapConfig,
) -> tuple[FloatArray, FloatArray, FloatArray, list[tuple[FloatArray, FloatArray]]]:
    """Lockstep while enough lanes are active, then the rest one by one (``_alone``).

    ``trip`` is every lane's (left_m, back_t_s, rejoined_t_s) (``_snap_core.excursion``), NaN for
    none; it is updated from the hypotheses before each step, as the live path does.
    """
    steps, nt = grid.base.shape[2], state.shape[1]
    out_m, out_d = np.zeros((steps, nt)), np.zeros((steps, nt))
    out_s = np.full((steps, nt, rounds), NEG)
    finals = [(state[:, i].copy(), trip[:, i].copy()) for i in range(nt)]
    lengths = grid.lengths_m
    tail = next((k for k, now in enumerate(grid.active) if now < LOCKSTEP_MIN_LANES), steps)
    tracking = not np.isnan(trip[0]).all()
    with np.errstate(all="ignore"):
        for k in range(tail):
            if k % _CHUNK_STEPS == 0:
                rows, k0 = grid.rows(k, min(k + _CHUNK_STEPS, tail), cfg), k
            now = grid.active[k]
            if now < nt:
                finals[now:nt] = [(state[:, i].copy(), trip[:, i].copy()) for i in range(now, nt)]
                state, trip, nt = state[:, :now], trip[:, :now], now
            c, p, mode = grid.cands(k), rows[k - k0, :, :nt], grid.modes[k]
            after = _excursion(trip, state, p, cfg) if mode >= REJOINS else None
            state = step(state, p, c, mode, lengths[:nt], rounds, cfg, trip if tracking else None)
            if after is not None:
                trip = after
                tracking = tracking or not np.isnan(trip[0]).all()
            out_m[k, :nt] = state[M, :, 0]
            out_d[k, :nt] = state[D, :, 0]
            out_s[k, :nt] = state[S, :, :rounds]
    for i in range(nt):
        finals[i] = _alone(
            lanes[i], state[:, i], trip[:, i], tail, out_m[:, i], out_d[:, i], out_s[:, i], cfg
        )
    return out_m, out_d, out_s, finals


def _excursion(trip: FloatArray, state: FloatArray, p: FloatArray, cfg: SnapConfig) -> FloatArray:
    """The trip of every lane after this step (``_snap_core.excursion``)."""
    t = p[T_]
    left, back, rejoined = trip
    rejoins = p[REJ] > 0.0
    returns = rejoins | (p[RET] > 0.0)
    first = (p[FIRST] > 0.0) & (state[S, :, 0] > NEG) & ~(t - back < cfg.rejoin_memory_s)
    left = np.where(first, state[M, :, 0], left)
    return np.stack([left, np.where(returns, t, back), np.where(rejoins, t, rejoined)])


def _alone(
    lane: Lane,
    block: FloatArray,
    trip: FloatArray,
    start: int,
    best_m: FloatArray,
    best_d: FloatArray,
    scores: FloatArray,
    cfg: SnapConfig,
) -> tuple[FloatArray, FloatArray]:
    """Fixes ``start..`` of one lane through the live path's :func:`next_hyps`, from the
    hypotheses in ``block``; per-fix answers into the outputs, returns the final block
    and trip.

    Where few lanes are active, NumPy's per-call cost for a handful of fixes is several
    times this plain-float loop; both give the same numbers.
    """
    live = block[:, block[S] > NEG]
    hyps: list[Hyp] = [(m, v, s, t, int(k), d) for m, v, s, t, k, d in live.T.tolist()]
    left, back, rejoined = (None if np.isnan(v) else float(v) for v in trip.tolist())
    now = (left, back, rejoined)
    n = len(lane.t_s)
    bounds = np.searchsorted(lane.cand_fix, np.arange(start, n + 1)).tolist()
    cm, cd = lane.cand_m.tolist(), lane.cand_d.tolist()
    per_fix = (lane.t_s, lane.sigma_m, lane.speed_mps, lane.near, lane.legs, lane.first)
    rows = zip(*(a[start:].tolist() for a in per_fix), strict=True)
    for k, (t, sig, spd, near, leg, first) in enumerate(rows, start):
        lo, hi = bounds[k - start], bounds[k - start + 1]
        found = (cm[lo:hi], cd[lo:hi])
        hyps, now = next_hyps(
            hyps, found, _known(found), t, sig, spd, near, lane.length_m, cfg, leg, first, now
        )
        if hyps:
            best_m[k], best_d[k] = hyps[0][0], hyps[0][5]
            scores[k, : len(hyps)] = [h[2] for h in hyps]
    final = np.array(hyps, dtype=float).reshape(-1, 6).T if hyps else live
    return final, np.array([np.nan if v is None else v for v in now])


def _known(
    found: tuple[list[float], list[float]],
) -> Callable[[], tuple[list[float], list[float]]]:
    """``next_hyps``'s index fallback when the candidates are already all known."""
    return lambda: found
