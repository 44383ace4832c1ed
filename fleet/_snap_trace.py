"""Batch matching of whole traces: inputs to lanes, lockstep, lanes to per-fix arrays.

Private to :mod:`fleet.snap`, which exports :func:`match_trace` and
:func:`match_traces`. Candidates of a trace come from one index query; what depends
only on where the fixes lie (the on/off-route hysteresis, and from it each fix's leg:
on, parked, back) is computed first over whole arrays; the Viterbi steps of all traces
run together in :mod:`fleet._snap_batch`; what depends on the kept scores (confidence)
is computed afterwards, with the same arithmetic as the live path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet import _snap_batch
from fleet._snap_batch import Lane, LaneResult
from fleet._snap_core import (
    ON,
    PARKED,
    REJOINS,
    RETURNS,
    _hysteresis,
    park_after,
    rejoin_after,
)  # fmt: skip
from fleet._snap_types import Hypothesis, MatchState, SnapConfig
from fleet.geo import to_lonlat, to_metric
from fleet.network import RouteGeometry

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class TraceMatch:
    """Per-fix results of :func:`match_trace`, as arrays, and the state after the last fix."""

    progress_m: FloatArray
    snap_lon: FloatArray
    snap_lat: FloatArray
    offset_m: FloatArray
    on_route: BoolArray
    confidence: FloatArray
    state: MatchState | None


@dataclass(frozen=True, eq=False)
class TraceFixes:
    """One truck's fixes for :func:`match_traces`: time-ordered, WGS84 degrees.

    NaN speed or accuracy means missing; ``state`` is the truck's state before them.
    """

    t_s: npt.ArrayLike
    lon: npt.ArrayLike
    lat: npt.ArrayLike
    speed_mps: npt.ArrayLike | None = None
    accuracy_m: npt.ArrayLike | None = None
    state: MatchState | None = None


@dataclass(frozen=True, eq=False)
class _Prepared:
    route: RouteGeometry
    fixes: TraceFixes
    t: FloatArray
    x: FloatArray
    y: FloatArray
    lane: Lane
    runs: tuple[BoolArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]


def match_traces(
    routes: Sequence[RouteGeometry], traces: Sequence[TraceFixes], config: SnapConfig | None = None
) -> list[TraceMatch]:
    """Match many traces (one route each) in lockstep, as :meth:`Matcher.step` would."""
    cfg = config or SnapConfig()
    prepared = [_prepare(r, tr, cfg) for r, tr in zip(routes, traces, strict=True)]
    lanes = [p.lane for p in prepared]
    results = _snap_batch.run(lanes, cfg)
    return [_finish(p, res, cfg) for p, res in zip(prepared, results, strict=True)]


def _prepare(route: RouteGeometry, fixes: TraceFixes, cfg: SnapConfig) -> _Prepared:
    t = np.asarray(fixes.t_s, dtype=float)
    n = len(t)
    x, y = to_metric(fixes.lon, fixes.lat)
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    sig = _sigmas(fixes.accuracy_m, n, cfg)
    gate = np.minimum(np.maximum(cfg.off_route_m, cfg.gate_sigmas * sig), cfg.max_gate_m)
    far = np.minimum(np.maximum(cfg.off_route_m, cfg.far_sigmas * sig), gate)
    cands = route.candidates(x, y, gate)
    near = np.zeros(n, dtype=bool)
    near[cands.fix[cands.offset_m <= far[cands.fix]]] = True
    hyps = () if fixes.state is None else fixes.state.hypotheses
    block = (
        np.array(
            [
                [h.progress_m, h.speed_mps, h.score, h.t_s, h.updates, -1.0 if h.held else 0.0]
                for h in hyps
            ]
        )
        .reshape(-1, 6)
        .T
    )
    state = fixes.state
    prior = None if state is None else (state.on_route, state.far_run, state.near_run)
    runs = _hysteresis_runs(near, prior, cfg)
    # ``_snap_core.leg`` per fix: far_run before each fix is the one after the last.
    before = np.r_[0 if prior is None else prior[1], runs[1][:-1]][:n]
    parked = ~near & (runs[1] >= park_after(cfg))
    trip = (None, None, None) if state is None else state.trip
    lane = Lane(
        route.length_m, t, sig, _speeds(fixes.speed_mps, n, cfg), near,
        np.select(
            [parked, near & (before >= rejoin_after(cfg)), near & (before >= park_after(cfg))],
            [PARKED, REJOINS, RETURNS],
            ON,
        ),
        parked & (runs[1] == park_after(cfg)),
        cands.fix, cands.progress_m, cands.offset_m, block,
        np.array([np.nan if v is None else v for v in trip]),
    )  # fmt: skip
    return _Prepared(route, fixes, t, x, y, lane, runs)


def _finish(p: _Prepared, res: LaneResult, cfg: SnapConfig) -> TraceMatch:
    n = len(p.t)
    if n == 0:
        e = np.empty(0)
        return TraceMatch(e, e, e, e, np.empty(0, dtype=bool), e, None)
    placed = res.scores[:, 0] > -np.inf
    progress = np.where(placed, res.best_m, 0.0)
    offset = np.where(placed, res.best_d, -1.0)
    held = offset < 0.0
    if held.any():
        offset[held] = p.route.distance_m(p.x[held], p.y[held])
    on, far_run, near_run = p.runs
    conf = _confidence(res.scores, np.where(held, -1.0, offset), p.lane.sigma_m)
    snap_lon, snap_lat = to_lonlat(*p.route.xy_at(progress))
    kept = tuple(_hypotheses(res.final))
    trip = (None if np.isnan(v) else float(v) for v in res.trip.tolist())
    runs = (bool(on[-1]), int(far_run[-1]), int(near_run[-1]))
    last = MatchState(float(p.t[-1]), kept, *runs, *trip)
    return TraceMatch(progress, snap_lon, snap_lat, offset, on, conf, last)


def _hypotheses(block: FloatArray) -> list[Hypothesis]:
    live = block[:, block[2] > -np.inf]
    return [Hypothesis(m, v, s, t, int(k), d < 0.0) for m, v, s, t, k, d in live.T.tolist()]


def _hysteresis_runs(
    near: BoolArray, prior: tuple[bool, int, int] | None, cfg: SnapConfig
) -> tuple[BoolArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """On/off-route flag and run lengths per fix (``_snap_core.flags``), over arrays.

    Runs are distances to the last fix of the other kind; the flag is the last
    threshold crossing so far, since a crossing sets it whatever it was.
    """
    if len(near) == 0:
        none = np.empty(0, np.int64)
        return np.empty(0, dtype=bool), none, none
    if cfg.off_after_fixes < 1 or cfg.on_after_fixes < 1:
        return _hysteresis_loop(near, prior, cfg)
    n = len(near)
    idx = np.arange(n)
    on0, far0, near0 = prior if prior is not None else (bool(near[0]), 0, 0)
    last_near = np.maximum.accumulate(np.where(near, idx, -1))
    last_far = np.maximum.accumulate(np.where(near, -1, idx))
    far_run = np.where(last_near >= 0, idx - last_near, idx + 1 + far0)
    near_run = np.where(last_far >= 0, idx - last_far, idx + 1 + near0)
    far_run[near] = 0
    near_run[~near] = 0
    crossing = (far_run >= cfg.off_after_fixes) | (near_run >= cfg.on_after_fixes)
    if prior is None:
        crossing[0] = False
    last = np.maximum.accumulate(np.where(crossing, idx, -1))
    on = np.where(last >= 0, near[np.maximum(last, 0)], on0)
    return on.astype(bool), far_run, near_run


def _hysteresis_loop(
    near: BoolArray, prior: tuple[bool, int, int] | None, cfg: SnapConfig
) -> tuple[BoolArray, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rows: list[tuple[bool, int, int]] = []
    for nk in near.tolist():
        if prior is None:
            prior = (nk, int(not nk), int(nk))
        else:
            prior = _hysteresis(prior[0], prior[1], prior[2], not nk, cfg)
        rows.append(prior)
    on, far_run, near_run = (np.array(c) for c in zip(*rows, strict=True))
    return on.astype(bool), far_run, near_run


def _confidence(scores: FloatArray, best_d: FloatArray, sigma: FloatArray) -> FloatArray:
    """``_snap_core._confidence`` per fix, with ``math.exp`` (NumPy's may differ by 1 ulp)."""
    conf = np.zeros(len(best_d))
    ok = (scores[:, 0] > -np.inf) & (best_d >= 0.0)
    if not ok.any():
        return conf
    sc = scores[ok]
    e = np.where(sc > -np.inf, 1.0, 0.0)
    live = (sc > -np.inf) & (sc != 0.0)  # the best's renormalized score is 0: exp is 1
    e[live] = list(map(math.exp, sc[live].tolist()))
    total = e[:, 0]
    for c in range(1, sc.shape[1]):
        total = total + e[:, c]
    d = best_d[ok] / sigma[ok]
    conf[ok] = (1.0 / total) * np.array(list(map(math.exp, (-0.5 * d * d).tolist())))
    return conf


def _sigmas(accuracy_m: npt.ArrayLike | None, n: int, cfg: SnapConfig) -> FloatArray:
    if accuracy_m is None:
        return np.full(n, cfg.sigma_m)
    acc = np.asarray(accuracy_m, dtype=float)
    return np.where(np.isnan(acc), cfg.sigma_m, np.maximum(acc, cfg.min_sigma_m))


def _speeds(speed_mps: npt.ArrayLike | None, n: int, cfg: SnapConfig) -> FloatArray:
    """Reported speeds as ``snap._speed`` takes each: -1 for none, 0 at a standstill."""
    if speed_mps is None:
        return np.full(n, -1.0)
    spd = np.asarray(speed_mps, dtype=float)
    spd = np.where((spd >= 0.0) & (spd < cfg.standstill_mps), 0.0, spd)
    return np.where(np.isnan(spd), -1.0, spd)
