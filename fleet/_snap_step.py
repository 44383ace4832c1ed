"""One lockstep Viterbi step over many lanes: the array twin of ``_snap_core.next_hyps``.

Private to :mod:`fleet._snap_batch`, which explains the layout and why the numbers
equal the live path's bit for bit. Each function here mirrors one of
:mod:`fleet._snap_core` and keeps its arithmetic in the same order; comments say where
a shortcut is exact (a score of -inf standing for a mask, ``|d| <= r`` for
``-r <= d <= r``, ``argmax`` for the first of equal best).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from fleet._snap_core import _GROW, MIN_DT_S

if TYPE_CHECKING:
    from fleet.snap import SnapConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_GROW_A = np.array([g[0] for g in _GROW])
_GROW_B = np.array([g[1] for g in _GROW])
#: Floor of the speed filter's gain by number of updates: ``1/(n+1)`` while young, else 0
#: (the gain is never negative, so the floor then changes nothing).
_YOUNG_GAIN = np.array([1.0 / (k + 1.0) for k in range(8)] + [0.0])
#: Hypothesis fields (first axis of a state block).
M, V, S, TH, N, D = range(6)
#: Per-fix rows: time, sigma, 0.5/sigma^2, reach slack, speed (-1 none), speed if near
#: (else -1 and -1 at a rejoin), near, sigma^2, the speed filter's process noise per s
#: (``speed_sd_m_per_s + speed_sd_share * speed``), 4 sigma^2, has candidates,
#: held parked (``_snap_core.leg`` not ON), rejoins, first parked fix of a run
#: (``_snap_core.first_parked``), returns (``leg`` RETURNS).
ROWS = range(15)
T_, SIG, K2, SLACK, SPD, SPE, NEAR, VAR, SDS, VAR4, HASC, PARK, REJ, FIRST, RET = ROWS
#: Step modes: ``mode % 3`` which lanes report speed (none, all, some), ``mode // 3 % 3``
#: which dead-reckon a held fix (none, all, some), plus these if some lane parks,
#: comes back (returns or rejoins), or parks for the first time in a run.
PARKS, REJOINS, FIRSTS = 9, 18, 36
NEG = -np.inf


class Cands(NamedTuple):
    """One step's candidates, ragged: lane, rank within the lane, measure, offset (K,)."""

    lane: IntArray
    rank: IntArray
    m: FloatArray
    d: FloatArray
    width: int


def step(
    state: FloatArray,
    p: FloatArray,
    c: Cands,
    mode: int,
    lengths_m: FloatArray,
    rounds: int,
    cfg: SnapConfig,
    trip: FloatArray | None = None,
) -> FloatArray:
    """One Viterbi step for every active lane (see :func:`fleet._snap_core.next_hyps`).

    ``trip``: every lane's (left_m, back_t_s, rejoined_t_s) before this fix, NaN for
    none, or None if no lane has left its route yet (``_snap_core.jump_origin``).

    Options are written into one (6, lanes, W + [W] + H) block, W the most candidates
    of any lane: moves into each candidate, re-acquisitions if any lane needs them, then
    every hypothesis held. Moves and seeds are computed on the K real candidates only
    (a lane has 2-3 on average, W is 6-16) and scattered into the block, whose padding
    holds score -inf at measure 0, never chosen.
    """
    t = p[T_]
    lanes, hyps = state.shape[1], state.shape[2]
    width = c.width
    mem = cfg.rejoin_memory_s
    dt = np.maximum(t[:, None] - state[TH], MIN_DT_S)
    placed = state[S, :, 0] > NEG
    lost = (p[NEAR] > 0.0) & (state[D, :, 0] < 0.0) & placed
    emit = c.d * c.d * p[K2][c.lane]
    moves, pred, vel = _advance(state, dt, p, c, emit, mode % 3, lengths_m, cfg)
    rejoin = p[REJ] > 0.0 if mode // REJOINS % 2 else None
    back = approach = None
    if trip is not None:
        rejoins = p[REJ] > 0.0
        back = ~np.isnan(trip[0]) & (rejoins | (p[RET] > 0.0) | (t - trip[1] < mem))
        if not np.count_nonzero(back):
            back = None
        else:
            # ``_snap_core.approaching``
            approach = back & (rejoins | (t - trip[2] < mem))
            if not np.count_nonzero(approach):
                approach = None
    reached = np.zeros(lanes, dtype=bool)
    reached[c.lane[moves[S] > NEG]] = True
    need = lost | ~reached
    if rejoin is not None:
        need |= rejoin
    seeding = np.count_nonzero(need & (p[HASC] > 0.0)) > 0
    padded = (2 if seeding else 1) * width
    opts = np.empty((6, lanes, padded + hyps))
    opts[:, :, :padded] = _PAD[:, None, None]
    opts[TH, :, :padded] = t[:, None]
    opts[:, c.lane, c.rank] = moves
    if seeding:
        origin = state[M, :, 0]
        if back is not None and trip is not None:
            origin = np.where(back, trip[0], origin)
        opts[:, c.lane, c.rank + width] = _seeds(
            state, placed, p, c, emit, need, rejoin, origin, cfg
        )
    _held(opts[:, :, -hyps:], state, dt, p, lengths_m, pred, vel, mode, approach, cfg)
    return _select(opts, rounds, cfg)


#: A padded option: measure 0, speed 0, score -inf, time (set per step), 1 update, no offset.
_PAD = np.array([0.0, 0.0, NEG, 0.0, 1.0, np.inf])


def _speed_moves(
    state: FloatArray, dt: FloatArray, p: FloatArray, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(prediction, gain, 1 - gain, velocity) per hypothesis, as ``_snap_core._predict``."""
    m, v, n = state[M], state[V], state[N]
    sp = p[SPD][:, None]
    sd = cfg.speed_sd_m + p[SDS][:, None] * dt
    q = sd * sd
    r = p[VAR][:, None]
    pp = 0.5 * (q + np.sqrt(q * (q + p[VAR4][:, None])))
    a = pp / (pp + r)
    a = np.maximum(a, _YOUNG_GAIN[np.minimum(n, 8.0).astype(np.intp)])
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
    state: FloatArray, dt: FloatArray, p: FloatArray, c: Cands, mode: int, cfg: SnapConfig
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, bool]:
    """Score of each (candidate, hypothesis) move (K, H); prediction, gain and velocity.

    Prediction and gain are per hypothesis (lanes, H); the velocity too when every lane
    reports speed (last item True), else per (candidate, hypothesis).
    """
    li = c.lane
    s2, k2 = state[S][li], p[K2][li][:, None]
    mc2 = c.m[:, None]
    if mode == 1:
        pred, a, keep, vel = _speed_moves(state, dt, p, cfg)
        innov = mc2 - pred[li]
        return s2 - innov * innov * keep[li] * k2, pred, a, vel, True
    pred, a, b = _free_moves(state, dt, p, cfg)
    dt2, vmax = dt[li], cfg.max_speed_mps
    innov = mc2 - pred[li]
    vel = np.minimum(np.maximum(state[V][li] + b[li] * innov / dt2, -vmax), vmax)
    back = -vel - cfg.reverse_tolerance_mps
    rev = np.where(back > 0.0, cfg.reverse_cost_per_m * back * dt2, 0.0)
    sc = s2 - innov * innov * (1.0 - a)[li] * k2 - rev
    if mode == 2:
        has = (p[SPD] >= 0.0)[:, None]
        sp_pred, sp_a, keep, sp_vel = _speed_moves(state, dt, p, cfg)
        innov = mc2 - sp_pred[li]
        sp_sc = s2 - innov * innov * keep[li] * k2
        hk = has[li]
        sc = np.where(hk, sp_sc, sc)
        vel = np.where(hk, sp_vel[li], vel)
        pred, a = np.where(has, sp_pred, pred), np.where(has, sp_a, a)
    return sc, pred, a, vel, False


def _advance(
    state: FloatArray,
    dt: FloatArray,
    p: FloatArray,
    c: Cands,
    emit: FloatArray,
    mode: int,
    lengths_m: FloatArray,
    cfg: SnapConfig,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Best way into each candidate, a (6, K) block (score -inf: unreachable).

    An empty hypothesis slot has score -inf, so its moves score -inf too without a
    mask; ``|diff| <= reach`` is ``-reach <= diff <= reach`` exactly. Also returns the
    per-hypothesis prediction and velocity (the latter when every lane reports speed,
    as ``_held`` then needs them both).
    """
    hyps = dt.shape[1]
    li = c.lane
    sc, pred, a, vel, per_hyp = _scores(state, dt, p, c, mode, cfg)
    diff = c.m[:, None] - state[M][li]
    reach = (cfg.max_speed_mps * dt + p[SLACK][:, None])[li]
    np.copyto(sc, NEG, where=np.abs(diff) > reach)
    j = sc.argmax(1)
    ath = li * hyps + j
    pred_b = pred.reshape(-1)[ath]
    innov = c.m - pred_b
    nm = pred_b + a.reshape(-1)[ath] * innov
    out = np.empty((6, len(li)))
    np.minimum(np.maximum(nm, 0.0), lengths_m[li], out=out[M])
    at = _offsets(len(li), hyps) + j
    out[V] = vel.reshape(-1)[ath if per_hyp else at]
    np.subtract(sc.reshape(-1)[at], emit, out=out[S])
    out[TH] = p[T_][li]
    np.minimum(state[N].reshape(-1)[ath] + 1.0, 28.0, out=out[N])
    out[D] = c.d
    return out, pred, vel


_OFFSETS: dict[tuple[int, int], IntArray] = {}


def _offsets(n: int, stride: int) -> IntArray:
    """``arange(n) * stride``, cached: flat indices of row starts for ``argmax`` picks."""
    key = (n, stride)
    if key not in _OFFSETS:
        _OFFSETS[key] = np.arange(n) * stride
    return _OFFSETS[key]


def _seeds(
    state: FloatArray,
    has: npt.NDArray[np.bool_],
    p: FloatArray,
    c: Cands,
    emit: FloatArray,
    need: npt.NDArray[np.bool_],
    rejoin: npt.NDArray[np.bool_] | None,
    origin: FloatArray,
    cfg: SnapConfig,
) -> FloatArray:
    """Re-acquire where ``need``: a hypothesis at every candidate (``_snap_core._seed``),
    as a (6, K) block. ``emit`` is each candidate's emission cost ``d * d * k2``; a
    rejoining lane pays no jump cost; jumps are measured from ``origin`` per lane.
    """
    li = c.lane
    jump = cfg.jump_cost if rejoin is None else np.where(rejoin, 0.0, cfg.jump_cost)
    base = np.where(has, state[S, :, 0] - jump, 0.0)[li]
    origin = np.where(has, origin, 0.0)[li]
    per_m = np.where(has, cfg.jump_cost_per_km / 1000.0, cfg.start_cost_per_km / 1000.0)[li]
    sc = base - emit - per_m * np.abs(c.m - origin)
    out = np.empty((6, len(li)))
    out[M] = c.m
    out[V] = np.maximum(p[SPD], 0.0)[li]
    out[S] = np.where(need[li], sc, NEG)
    out[TH] = p[T_][li]
    out[N] = 1.0
    out[D] = c.d
    return out


def _held(
    out: FloatArray,
    state: FloatArray,
    dt: FloatArray,
    p: FloatArray,
    lengths_m: FloatArray,
    pred: FloatArray,
    vel: FloatArray,
    mode: int,
    approach: npt.NDArray[np.bool_] | None,
    cfg: SnapConfig,
) -> None:
    """Every hypothesis ignoring this fix: dead-reckoned if near and speed is known,
    parked where some lane's truck is off its route (``_snap_core._parked``), or is
    coming back from elsewhere (``approach``) and the hypothesis could not place the
    last fix either.

    ``mode // 3 % 3`` says whether no lane, every lane or some lanes dead-reckon; when
    every lane reports speed (``mode % 3 == 1``) ``pred`` and ``vel`` are that same
    reckoning wherever a lane dead-reckons (its speed if near is its speed). ``mode >=
    9``: some lane holds parked (never one that dead-reckons: it is far or rejoins).
    """
    np.copyto(out, state)
    out[S] -= cfg.hold_cost
    out[D] = -1.0
    roll = mode // 3 % 3
    if roll:
        m, v = state[M], state[V]
        sp = p[SPE][:, None]
        if mode % 3 != 1:
            sgn = np.where(v < 0.0, -1.0, 1.0)
            pred, vel = m + sgn * 0.5 * (np.abs(v) + sp) * dt, sgn * sp
        moved = np.minimum(np.maximum(pred, 0.0), lengths_m[:, None])
        if roll == 1:
            out[M], out[V], out[TH] = moved, vel, p[T_][:, None]
        else:
            rolls = sp >= 0.0
            np.copyto(out[M], moved, where=rolls)
            np.copyto(out[V], vel, where=rolls)
            np.copyto(out[TH], p[T_][:, None], where=rolls)
        if approach is not None:
            parks = (approach & (sp[:, 0] >= 0.0))[:, None] & (state[D] < 0.0)
            np.copyto(out[M], state[M], where=parks)
            np.copyto(out[V], 0.0, where=parks)
    if mode // PARKS % 2:
        parks = (p[PARK] > 0.0)[:, None]
        np.copyto(out[V], 0.0, where=parks)
        np.copyto(out[TH], p[T_][:, None], where=parks)


def _select(options: FloatArray, rounds: int, cfg: SnapConfig) -> FloatArray:
    """Keep the best distinct options, renormalized (``_snap_core._prune``).

    Greedy over the stable sort by score is, round by round, the first option of
    highest score among those not within ``merge_m`` of one kept: ``argmax``. Options
    only get masked, so each round's best is no better than the last: the rounds at or
    above the threshold are a prefix, as the live loop's early stop makes them, and
    every round runs (a check per round would cost more than the rounds it saves).
    """
    sa, ma = options[S], options[M]
    lanes, width = sa.shape
    row = _offsets(lanes, width)
    work = sa.copy()
    flat_w, flat_m = work.reshape(-1), ma.reshape(-1)
    picks = np.empty((rounds, lanes), np.intp)
    best = np.empty((rounds, lanes))
    at = picks[0] = row + sa.argmax(1)
    top = best[0] = flat_w[at]
    for r in range(1, rounds):
        np.copyto(work, NEG, where=np.abs(ma - flat_m[at][:, None]) <= cfg.merge_m)
        if cfg.merge_m < 0.0:
            flat_w[at] = NEG
        if r == rounds - 1:
            # The last slot is for an option that places the fix if every other kept
            # one holds and there is one within the floor (``_snap_core._prune``).
            held = options[D] < 0.0
            only = np.logical_and.reduce(held.reshape(-1)[picks[:r]], axis=0)
            if np.count_nonzero(only):
                only &= ((sa >= (top - cfg.prune_cost)[:, None]) & ~held).any(1)
                np.copyto(work, NEG, where=held & only[:, None])
        at = picks[r] = row + work.argmax(1)
        best[r] = flat_w[at]
    slot = (best >= top - cfg.prune_cost) & (top > NEG)
    kept: FloatArray = options.reshape(-1)[_offsets(6, lanes * width)[:, None, None] + picks.T]
    kept[S] = np.where(slot.T, kept[S] - top[:, None], NEG)
    return kept
