"""Lockstep Viterbi over many traces at once: the array twin of :mod:`fleet._snap_core`.

Private to :mod:`fleet.snap`. Why lockstep: one fix costs the matcher a few dozen
float operations on a handful of hypotheses, ~10 us in Python; in NumPy it is ~100
calls of ~1 us each whatever the array size. So step ``k`` advances the ``k``-th fix of
every trace ("lane") together, with arrays over (lanes x candidates x hypotheses),
padded, and the per-call cost is shared by all lanes.

Why the answers are bitwise those of the live loop: every value is computed with the
same IEEE operations in the same order as :mod:`fleet._snap_core` (elementwise only,
no fused or reordered arithmetic), and the decisions Python takes with loops (first
best hypothesis per candidate, the stable sort by score, greedy pruning) are taken
with ``argmax``, which returns the first of equal maxima exactly as those loops keep
the first. Tests compare both on random traces.

Layout: a lane's hypotheses are a (6, lanes, H) block of fields progress, speed,
score, time, updates and matched offset (-1 if the fix was held); an empty slot has
score -inf, and so does a padded candidate (offset +inf), so neither is ever chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fleet._snap_core import _GROW, MIN_DT_S

if TYPE_CHECKING:
    from fleet.snap import SnapConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_GROW_A = np.array([g[0] for g in _GROW])
_GROW_B = np.array([g[1] for g in _GROW])
_CHUNK_STEPS = 2048
M, V, S, TH, N, D = range(6)
T_, SIG, K2, SLACK, SPD, SPE, NEAR, VAR, SHSP, HASC = range(10)
NEG = -np.inf


@dataclass(frozen=True, eq=False)
class Lane:
    """One trace ready for the lockstep: per-fix arrays (length n) and its candidates.

    ``speed_mps`` is -1 where the device sent none; ``near`` says the route passes within
    the off-route distance; ``hyps`` is the (6, h) starting block (h may be 0).
    """

    length_m: float
    t_s: FloatArray
    sigma_m: FloatArray
    speed_mps: FloatArray
    near: npt.NDArray[np.bool_]
    cand_fix: IntArray
    cand_m: FloatArray
    cand_d: FloatArray
    hyps: FloatArray


@dataclass(frozen=True, eq=False)
class LaneResult:
    """Per fix: best progress and offset (-1 held), kept scores (n, R); final block."""

    best_m: FloatArray
    best_d: FloatArray
    scores: FloatArray
    final: FloatArray


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
    out_m, out_d, out_s, finals = _loop(grid, state, rounds, cfg)
    results: list[LaneResult] = [None] * len(lanes)  # type: ignore[list-item]
    for slot, i in enumerate(order):
        n = grid.sizes[slot]
        results[i] = LaneResult(
            out_m[:n, slot].copy(), out_d[:n, slot].copy(), out_s[:n, slot].copy(), finals[slot]
        )
    return results


@dataclass(frozen=True, eq=False)
class _Grid:
    """Lanes as (steps, lanes) arrays, and their candidates grouped by step."""

    sizes: list[int]
    active: list[int]
    per_fix: FloatArray
    modes: list[int]
    lengths_m: FloatArray
    cand_k: IntArray
    cand_lane: IntArray
    cand_rank: IntArray
    cand_m: FloatArray
    cand_d: FloatArray
    width: list[int]

    @classmethod
    def build(cls, lanes: list[Lane], cfg: SnapConfig) -> _Grid:
        sizes = [len(ln.t_s) for ln in lanes]
        steps = max(sizes, default=0)
        per_fix = np.zeros((steps, 10, len(lanes)))
        counts = np.zeros((steps, len(lanes)), dtype=np.int64)
        ks, lane_ids, ranks, ms, ds = [], [], [], [], []
        for i, ln in enumerate(lanes):
            n, sig, spd = sizes[i], ln.sigma_m, ln.speed_mps
            spe = np.where(ln.near, spd, -1.0)
            slack = cfg.reach_slack_m + 3.0 * sig
            c = np.bincount(ln.cand_fix, minlength=n)
            var, shsp = sig * sig, cfg.speed_sd_share * spd
            cols = [ln.t_s, sig, 0.5 / (sig * sig), slack, spd, spe, ln.near, var, shsp, c > 0]
            per_fix[:n, :, i] = np.c_[tuple(cols)]
            per_fix[n:, SIG, i] = 1.0
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
        speed = per_fix[:, SPD, :] >= 0.0
        live = np.arange(len(lanes))[None, :] < active[:, None]
        has, lacks = (speed & live).any(1), (~speed & live).any(1)
        modes = np.where(has & lacks, 2, np.where(has, 1, 0))
        rolls = per_fix[:, SPE, :] >= 0.0
        rolling, still = (rolls & live).any(1), (~rolls & live).any(1)
        modes += 3 * np.where(rolling & still, 2, np.where(rolling, 1, 0))
        return cls(
            sizes,
            active.tolist(),
            per_fix,
            modes.tolist(),
            np.array([ln.length_m for ln in lanes]),
            cand_k[by_k],
            np.concatenate([np.empty(0, np.int64), *lane_ids])[by_k],
            np.concatenate([np.empty(0, np.int64), *ranks])[by_k],
            np.concatenate([np.empty(0), *ms])[by_k],
            np.concatenate([np.empty(0), *ds])[by_k],
            np.maximum(counts.max(1, initial=0), 1).tolist(),
        )

    def chunk(self, k0: int, k1: int) -> tuple[FloatArray, FloatArray]:
        """Padded candidates (steps, lanes, width) of steps k0..k1: measure 0, offset inf."""
        lo, hi = np.searchsorted(self.cand_k, [k0, k1])
        width = max(self.width[k0:k1])
        cm = np.zeros((k1 - k0, len(self.sizes), width))
        cd = np.full((k1 - k0, len(self.sizes), width), np.inf)
        at = (self.cand_k[lo:hi] - k0, self.cand_lane[lo:hi], self.cand_rank[lo:hi])
        cm[at] = self.cand_m[lo:hi]
        cd[at] = self.cand_d[lo:hi]
        return cm, cd


def _loop(
    grid: _Grid, state: FloatArray, rounds: int, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray, list[FloatArray]]:
    steps, lanes = grid.per_fix.shape[0], state.shape[1]
    out_m, out_d = np.zeros((steps, lanes)), np.zeros((steps, lanes))
    out_s = np.full((steps, lanes, rounds), NEG)
    finals: list[FloatArray] = [state[:, i].copy() for i in range(lanes)]
    nt, lengths = lanes, grid.lengths_m
    with np.errstate(all="ignore"):
        for k0 in range(0, steps, _CHUNK_STEPS):
            k1 = min(steps, k0 + _CHUNK_STEPS)
            cms, cds = grid.chunk(k0, k1)
            for k in range(k0, k1):
                now = grid.active[k]
                if now < nt:
                    finals[now:nt] = [state[:, i].copy() for i in range(now, nt)]
                    state, nt = state[:, :now], now
                w = grid.width[k]
                mc, dc = cms[k - k0, :nt, :w], cds[k - k0, :nt, :w]
                state = _step(
                    state, grid.per_fix[k, :, :nt], mc, dc, grid.modes[k], lengths[:nt], rounds, cfg
                )
                out_m[k, :nt] = state[M, :, 0]
                out_d[k, :nt] = state[D, :, 0]
                out_s[k, :nt] = state[S, :, :rounds]
    finals[:nt] = [state[:, i].copy() for i in range(nt)]
    return out_m, out_d, out_s, finals


def _step(
    state: FloatArray,
    p: FloatArray,
    mc: FloatArray,
    dc: FloatArray,
    mode: int,
    lengths_m: FloatArray,
    rounds: int,
    cfg: SnapConfig,
) -> FloatArray:
    """One Viterbi step for every active lane (see :func:`fleet._snap_core.next_hyps`).

    Options are written into one (6, lanes, C + [C] + H) block: moves into each
    candidate, re-acquisitions if any lane needs them, then every hypothesis held.
    """
    t = p[T_]
    lanes, width = mc.shape
    hyps = state.shape[2]
    dt = np.maximum(t[:, None] - state[TH], MIN_DT_S)
    placed = state[S, :, 0] > NEG
    lost = (p[NEAR] > 0.0) & (state[D, :, 0] < 0.0) & placed
    opts = np.empty((6, lanes, 2 * width + hyps))
    pred = _advance(opts[:, :, :width], state, dt, p, mc, dc, mode % 3, lengths_m, cfg)
    need = lost | ~(opts[S, :, :width] > NEG).any(1)
    if (need & (p[HASC] > 0.0)).any():
        _seeds(opts[:, :, width : 2 * width], state, placed, p, mc, dc, need, cfg)
    else:
        opts[S, :, width : 2 * width] = NEG
        opts[M, :, width : 2 * width] = 0.0
    _held(opts[:, :, 2 * width :], state, dt, p, lengths_m, pred, mode, cfg)
    return _select(opts, rounds, cfg)


def _speed_moves(
    state: FloatArray, dt: FloatArray, p: FloatArray, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(prediction, gain, 1 - gain, velocity) per hypothesis, as ``_snap_core._move``."""
    m, v, n = state[M], state[V], state[N]
    sp = p[SPD][:, None]
    sd = cfg.speed_sd_m + cfg.speed_sd_m_per_s * dt + p[SHSP][:, None] * dt
    q = sd * sd
    r = p[VAR][:, None]
    pp = 0.5 * (q + np.sqrt(q * q + 4.0 * q * r))
    a = pp / (pp + r)
    young = n < 8
    if young.any():
        a = np.where(young, np.maximum(a, 1.0 / (n + 1.0)), a)
    sgn = np.where(v < 0.0, -1.0, 1.0)
    pred = m + sgn * 0.5 * (np.abs(v) + sp) * dt
    return pred, a, 1.0 - a, sgn * sp


def _free_moves(
    state: FloatArray, dt: FloatArray, p: FloatArray, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(prediction, gains a and b) per hypothesis of the alpha-beta filter, no speed."""
    m, v, n = state[M], state[V], state[N]
    lam = cfg.accel_mps2 * dt * dt / p[SIG][:, None]
    rr = (4.0 + lam - np.sqrt(8.0 * lam + lam * lam)) / 4.0
    a = 1.0 - rr * rr
    b = 2.0 * (2.0 - a) - 4.0 * np.sqrt(1.0 - a)
    grow = n < 29
    gi = np.minimum(n, 28.0).astype(np.intp) + 1
    a = np.where(grow, np.maximum(a, _GROW_A[gi]), a)
    b = np.where(grow, np.maximum(b, _GROW_B[gi]), b)
    return m + v * dt, a, b


def _scores(
    state: FloatArray, dt: FloatArray, p: FloatArray, mc: FloatArray, mode: int, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, bool]:
    """Score of each (candidate, hypothesis) move; prediction, gain and velocity.

    The velocity is per hypothesis when every lane reports speed (last item True),
    else per (candidate, hypothesis).
    """
    s3, k2 = state[S][:, None, :], p[K2][:, None, None]
    mc3 = mc[:, :, None]
    if mode == 1:
        pred, a, keep, vel = _speed_moves(state, dt, p, cfg)
        innov = mc3 - pred[:, None, :]
        return s3 - innov * innov * keep[:, None, :] * k2, pred, a, vel, True
    pred, a, b = _free_moves(state, dt, p, cfg)
    dt3, vmax = dt[:, None, :], cfg.max_speed_mps
    innov = mc3 - pred[:, None, :]
    vel = np.minimum(np.maximum(state[V][:, None, :] + b[:, None, :] * innov / dt3, -vmax), vmax)
    back = -vel - cfg.reverse_tolerance_mps
    rev = np.where(back > 0.0, cfg.reverse_cost_per_m * back * dt3, 0.0)
    sc = s3 - innov * innov * (1.0 - a)[:, None, :] * k2 - rev
    if mode == 2:
        has = (p[SPD] >= 0.0)[:, None]
        sp_pred, sp_a, keep, sp_vel = _speed_moves(state, dt, p, cfg)
        innov = mc3 - sp_pred[:, None, :]
        sp_sc = s3 - innov * innov * keep[:, None, :] * k2
        sc = np.where(has[:, :, None], sp_sc, sc)
        vel = np.where(has[:, :, None], sp_vel[:, None, :], vel)
        pred, a = np.where(has, sp_pred, pred), np.where(has, sp_a, a)
    return sc, pred, a, vel, False


def _advance(
    out: FloatArray,
    state: FloatArray,
    dt: FloatArray,
    p: FloatArray,
    mc: FloatArray,
    dc: FloatArray,
    mode: int,
    lengths_m: FloatArray,
    cfg: SnapConfig,
) -> FloatArray:
    """Best way into each candidate, into ``out`` (6, lanes, C); score -inf: unreachable.

    An empty hypothesis slot has score -inf, so its moves score -inf too without a
    mask; ``|diff| <= reach`` is ``-reach <= diff <= reach`` exactly. Returns the
    per-hypothesis prediction.
    """
    lanes, hyps = dt.shape
    width = mc.shape[1]
    sc, pred, a, vel, per_hyp = _scores(state, dt, p, mc, mode, cfg)
    diff = mc[:, :, None] - state[M][:, None, :]
    reach = (cfg.max_speed_mps * dt + p[SLACK][:, None])[:, None, :]
    np.copyto(sc, NEG, where=np.abs(diff) > reach)
    j = sc.argmax(2)
    ath = j + _offsets(lanes, hyps)[:, None]
    pred_b = pred.reshape(-1)[ath]
    innov = mc - pred_b
    nm = pred_b + a.reshape(-1)[ath] * innov
    np.minimum(np.maximum(nm, 0.0), lengths_m[:, None], out=out[M])
    at = j + _offsets(lanes * width, hyps).reshape(lanes, width)
    out[V] = vel.reshape(-1)[ath if per_hyp else at]
    np.subtract(sc.reshape(-1)[at], dc * dc * p[K2][:, None], out=out[S])
    out[TH] = p[T_][:, None]
    np.minimum(state[N].reshape(-1)[ath] + 1.0, 28.0, out=out[N])
    out[D] = dc
    return pred


_OFFSETS: dict[tuple[int, int], IntArray] = {}


def _offsets(n: int, stride: int) -> IntArray:
    """``arange(n) * stride``, cached: flat indices of row starts for ``argmax`` picks."""
    key = (n, stride)
    if key not in _OFFSETS:
        _OFFSETS[key] = np.arange(n) * stride
    return _OFFSETS[key]


def _seeds(
    out: FloatArray,
    state: FloatArray,
    has: npt.NDArray[np.bool_],
    p: FloatArray,
    mc: FloatArray,
    dc: FloatArray,
    need: npt.NDArray[np.bool_],
    cfg: SnapConfig,
) -> None:
    """Re-acquire where ``need``: a hypothesis at every candidate (``_snap_core._seed``)."""
    base = np.where(has, state[S, :, 0] - cfg.jump_cost, 0.0)[:, None]
    origin = np.where(has, state[M, :, 0], 0.0)[:, None]
    per_m = np.where(has, cfg.jump_cost_per_km / 1000.0, cfg.start_cost_per_km / 1000.0)
    sc = base - dc * dc * p[K2][:, None] - per_m[:, None] * np.abs(mc - origin)
    out[M] = mc
    out[V] = np.maximum(p[SPD], 0.0)[:, None]
    np.copyto(out[S], sc, where=need[:, None])
    np.copyto(out[S], NEG, where=~need[:, None])
    out[TH] = p[T_][:, None]
    out[N] = 1.0
    out[D] = dc


def _held(
    out: FloatArray,
    state: FloatArray,
    dt: FloatArray,
    p: FloatArray,
    lengths_m: FloatArray,
    pred: FloatArray,
    mode: int,
    cfg: SnapConfig,
) -> None:
    """Every hypothesis ignoring this fix, dead-reckoned if near and speed is known.

    ``mode // 3`` says whether no lane, every lane or some lanes dead-reckon; when
    every lane reports speed (``mode % 3 == 1``) ``pred`` is that same reckoning.
    """
    np.subtract(state[S], cfg.hold_cost, out=out[S])
    out[N] = state[N]
    out[D] = -1.0
    if mode // 3 == 0:
        out[[M, V, TH]] = state[[M, V, TH]]
        return
    m, v = state[M], state[V]
    sp = p[SPE][:, None]
    sgn = np.where(v < 0.0, -1.0, 1.0)
    if mode % 3 != 1:
        pred = m + sgn * 0.5 * (np.abs(v) + sp) * dt
    moved = np.minimum(np.maximum(pred, 0.0), lengths_m[:, None])
    if mode // 3 == 1:
        out[M], out[V], out[TH] = moved, sgn * sp, p[T_][:, None]
        return
    rolls = sp >= 0.0
    np.copyto(out[M], np.where(rolls, moved, m))
    np.copyto(out[V], np.where(rolls, sgn * sp, v))
    np.copyto(out[TH], np.where(rolls, p[T_][:, None], state[TH]))


def _select(options: FloatArray, rounds: int, cfg: SnapConfig) -> FloatArray:
    """Keep the best distinct options, renormalized (``_snap_core._prune``).

    Greedy over the stable sort by score is, round by round, the first option of
    highest score among those not within ``merge_m`` of one kept: ``argmax``.
    """
    sa, ma = options[S], options[M]
    lanes, width = sa.shape
    row = _offsets(lanes, width)
    j = sa.argmax(1)
    top = sa.reshape(-1)[row + j]
    thr = top - cfg.prune_cost
    alive = top > NEG
    count = alive.astype(np.int64)
    picks = [j]
    work = sa.copy()
    at = row + j
    for r in range(1, rounds):
        np.copyto(work, NEG, where=np.abs(ma - ma.reshape(-1)[at][:, None]) <= cfg.merge_m)
        if cfg.merge_m < 0.0:
            work.reshape(-1)[at] = NEG
        j = work.argmax(1)
        at = row + j
        alive &= work.reshape(-1)[at] >= thr
        if not alive.any():
            picks.extend([j] * (rounds - r))
            break
        count += alive
        picks.append(j)
    at = row[:, None] + np.stack(picks, 1)
    kept = options.reshape(-1)[_offsets(6, lanes * width)[:, None, None] + at]
    slot = np.arange(rounds)[None, :] < count[:, None]
    kept[S] = np.where(slot, kept[S] - top[:, None], NEG)
    return kept
