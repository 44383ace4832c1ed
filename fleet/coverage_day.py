"""Full recompute of a truck's day of bin visits, vectorized.

One STRtree query for all segments of the track, the shared kernel on the candidate
(segment, bin) pairs, then passes grouped with numpy; the visits are folded with the
same rule as the per-ping path in ``fleet.coverage``, so both give identical visits.
Metres in EPSG:32751, POSIX seconds. Pure: numpy and Shapely only.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import shapely

from fleet.coverage import (
    DEFAULT_CONFIG,
    BinIndex,
    CoverageConfig,
    FloatArray,
    RouteBins,
    Visit,
    VisitPass,
    fold_pass,
    observe_pairs,
)

__all__ = ["detect_visits"]


def detect_visits(
    index: BinIndex,
    route_id: str,
    t_s: npt.ArrayLike,
    x_m: npt.ArrayLike,
    y_m: npt.ArrayLike,
    speed_mps: npt.ArrayLike | None = None,
    *,
    truck_id: str,
    received_s: npt.ArrayLike | None = None,
    config: CoverageConfig = DEFAULT_CONFIG,
) -> list[Visit]:
    """All visits of one truck's track of one WITA day, vectorized (the full recompute).

    Same visits as feeding the fixes, sorted by time, through ``observe_segment`` +
    ``merge_visit``. ``speed_mps`` holds NaN where the device gave none;
    ``received_s`` (when each fix reached the server; default its own time) sets
    ``recorded_at`` as the incremental path would have.
    """
    bins = index.routes.get(route_id)
    t = np.asarray(t_s, dtype=np.float64)
    if bins is None or t.size == 0:
        return []
    order = np.argsort(t, kind="stable")
    v = np.full(t.size, np.nan) if speed_mps is None else np.asarray(speed_mps, np.float64)
    recv = t if received_s is None else np.asarray(received_s, dtype=np.float64)
    track = (
        np.asarray(x_m, dtype=np.float64)[order],
        np.asarray(y_m, dtype=np.float64)[order],
        t[order],
        v[order],
        recv[order],
    )
    visits = []
    for bin_at, passes in _track_passes(bins, track, config):
        visit: Visit | None = None
        key = (bins.bin_ids[bin_at], truck_id, route_id)
        for p, created_at_s, serviced_at_s in passes:
            visit = fold_pass(visit, p, config, key, created_at_s, serviced_at_s)
        assert visit is not None
        visits.append(visit)
    return visits


_PassRow = tuple[VisitPass, float, float]


def _track_passes(
    bins: RouteBins, track: tuple[FloatArray, ...], config: CoverageConfig
) -> Iterator[tuple[int, list[_PassRow]]]:
    """Per bin, its passes with the receive times of their first and deciding fix."""
    x, y, t, v, recv = track
    n = t.size
    joined = np.zeros(n, dtype=bool)
    joined[1:] = (np.diff(t) > 0.0) & (np.diff(t) <= config.max_gap_s)
    i0 = np.where(joined, np.arange(n) - 1, np.arange(n))
    x0, y0, r = x[i0], y[i0], config.radius_m
    boxes = shapely.box(
        np.minimum(x0, x) - r, np.minimum(y0, y) - r, np.maximum(x0, x) + r, np.maximum(y0, y) + r
    )
    seg, cand = bins.tree.query(boxes)
    a = i0[seg]
    h = observe_pairs(
        (x[a], y[a], t[a], v[a], x[seg], y[seg], t[seg], v[seg], joined[seg]),
        bins.x_m[cand],
        bins.y_m[cand],
        config,
    )
    keep = np.flatnonzero(h.hit)
    keep = keep[np.lexsort((seg[keep], cand[keep]))]
    if keep.size == 0:
        return
    seg, cand, a = seg[keep], cand[keep], a[keep]
    tf, tl, dw, st = h.t_first_s[keep], h.t_last_s[keep], h.dwell_ms[keep], h.stopped[keep]
    new = np.ones(keep.size, dtype=bool)
    new[1:] = (cand[1:] != cand[:-1]) | (tf[1:] - tl[:-1] > config.pass_gap_s)
    starts = np.flatnonzero(new)
    pid = np.cumsum(new) - 1
    cum = np.cumsum(dw)
    in_pass = cum - (cum - dw)[starts][pid]
    trig = np.where(st | (in_pass >= config.dwell_ms), np.arange(keep.size), keep.size - 1)
    deciding = np.minimum.reduceat(trig, starts)
    p_dw = np.add.reduceat(dw, starts)
    p_ms = np.fmin.reduceat(h.min_speed_mps[keep], starts)
    first = np.minimum.reduceat(tf, starts).tolist()
    last = np.maximum.reduceat(tl, starts).tolist()
    closest = np.minimum.reduceat(h.closest_m[keep], starts).tolist()
    speeds = [None if s != s else s for s in p_ms.tolist()]
    stopped = (np.logical_or.reduceat(st, starts) | (p_dw >= config.dwell_ms)).tolist()
    dwell = p_dw.tolist()
    times, counts = _pass_fix_times(np.where(joined[seg], t[a], np.nan), t[seg], pid, config)
    created, serviced = recv[seg][starts].tolist(), recv[seg][deciding].tolist()
    rows = [
        (
            VisitPass(
                first[k], last[k], closest[k], dwell[k], speeds[k], stopped[k], times[k], counts[k]
            ),
            created[k],
            serviced[k],
        )
        for k in range(starts.size)
    ]
    bounds = np.flatnonzero(np.diff(cand[starts])) + 1
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(rows)], strict=True):
        yield int(cand[starts[lo]]), rows[lo:hi]


def _pass_fix_times(
    t_start: FloatArray, t_end: FloatArray, pid: npt.NDArray[np.int64], config: CoverageConfig
) -> tuple[list[tuple[float, ...]], list[int]]:
    """Distinct fix times per pass, capped to the first and last half of the limit."""
    times = np.column_stack([t_start, t_end]).ravel()
    pids = np.repeat(pid, 2)
    ok = ~np.isnan(times)
    times, pids = times[ok], pids[ok]
    fresh = np.ones(times.size, dtype=bool)
    fresh[1:] = (pids[1:] != pids[:-1]) | (times[1:] != times[:-1])
    times, pids = times[fresh], pids[fresh]
    counts = np.bincount(pids, minlength=int(pid[-1]) + 1)
    edges = np.concatenate([[0], np.cumsum(counts)]).tolist()
    flat, half, cap = times.tolist(), config.max_evidence_fixes // 2, config.max_evidence_fixes
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        out.append(
            tuple(flat[lo:hi] if hi - lo <= cap else flat[lo : lo + half] + flat[hi - half : hi])
        )
    return out, counts.tolist()
