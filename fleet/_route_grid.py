"""A uniform grid over one route's segments: (fix, segment) pairs for many fixes at once.

Private to :mod:`fleet.network`. Why not the ``STRtree``: a tree query needs a box
geometry per fix, and building those costs more than the whole search. Here a cell
lists every segment that may pass within ``reach_m`` of some point of the cell, so one
lookup per fix (its cell) gives every segment within ``gate_m <= reach_m`` of it, plus
a few more; the caller's exact distance test drops those. All of it is a handful of
NumPy calls over all fixes.

Coordinates are UTM 51S metres (:mod:`fleet.geo`). Pairs come sorted by fix, then by
segment, which is drive order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SegmentGrid", "nearest_pairs", "ramp", "segment_distance_m"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class SegmentGrid:
    """Cells of side ``cell_m`` (CSR: ``starts`` into ``segs``) over a route's segments."""

    cell_m: float
    x0: float
    y0: float
    nx: int
    ny: int
    starts: IntArray
    segs: IntArray

    @classmethod
    def build(cls, x: FloatArray, y: FloatArray, reach_m: float) -> SegmentGrid:
        """Index the segments of the polyline ``x, y`` (metres) for gates up to ``reach_m``.

        Cells are half the reach wide; a cell lists the segments whose box comes within
        the reach of it and which pass within the reach of some point of the cell (of
        its centre, plus half its diagonal): fewer pairs than wider cells give.
        """
        cell_m = reach_m / 2.0
        lo_x, hi_x = np.minimum(x[:-1], x[1:]) - reach_m, np.maximum(x[:-1], x[1:]) + reach_m
        lo_y, hi_y = np.minimum(y[:-1], y[1:]) - reach_m, np.maximum(y[:-1], y[1:]) + reach_m
        x0, y0 = float(lo_x.min()), float(lo_y.min())
        ix0, ix1 = _cell(lo_x, x0, cell_m), _cell(hi_x, x0, cell_m)
        iy0, iy1 = _cell(lo_y, y0, cell_m), _cell(hi_y, y0, cell_m)
        nx, ny = int(ix1.max()) + 1, int(iy1.max()) + 1
        wide, tall = ix1 - ix0 + 1, iy1 - iy0 + 1
        seg = np.repeat(np.arange(len(lo_x)), wide * tall)
        k = ramp(wide * tall)
        ix, iy = ix0[seg] + k % wide[seg], iy0[seg] + k // wide[seg]
        cx = (x0 + (ix + 0.5) * cell_m).astype(np.float64)
        cy = (y0 + (iy + 0.5) * cell_m).astype(np.float64)
        near = segment_distance_m(x, y, cx, cy, seg) <= reach_m + 0.7072 * cell_m + 1e-6
        seg, cell = seg[near], (iy * nx + ix)[near]
        order = np.lexsort((seg, cell))
        starts = np.searchsorted(cell[order], np.arange(nx * ny + 1))
        return cls(cell_m, x0, y0, nx, ny, starts.astype(np.int64), seg[order].astype(np.int64))

    def pairs(self, px: FloatArray, py: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
        """(fix index, segment index) of every segment listed in each fix's cell, and
        how many pairs each fix has."""
        ix, iy = _cell(px, self.x0, self.cell_m), _cell(py, self.y0, self.cell_m)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        cell = np.where(inside, iy * self.nx + ix, 0)
        lo = self.starts[cell]
        count = np.where(inside, self.starts[cell + 1] - lo, 0)
        fix = np.repeat(np.arange(len(px)), count)
        return fix, self.segs[np.repeat(lo, count) + ramp(count)], count


def _cell(v: FloatArray, origin: float, size: float) -> IntArray:
    return np.floor((v - origin) / size).astype(np.int64)


def ramp(count: IntArray) -> IntArray:
    """``0..c-1`` for each ``c`` in ``count``, concatenated."""
    total = int(count.sum())
    ends = np.cumsum(count)
    return np.arange(total) - np.repeat(ends - count, count)


def nearest_pairs(
    px: FloatArray, py: FloatArray, x: FloatArray, y: FloatArray, cell_m: float = 128.0
) -> tuple[IntArray, IntArray]:
    """(point, segment) pairs that include, for each point, its nearest segment.

    Points are grouped by square cell; a cell keeps the segments whose bounding box
    comes no farther from the cell than some route vertex is from the cell's farthest
    corner, a bound that the nearest segment of any point in the cell meets. Cheap for
    points far from the route, where an index query or a scan of all segments is not.
    """
    cx, cy = np.floor(px / cell_m), np.floor(py / cell_m)
    span = cy.max() - cy.min() + 1.0
    keys, inverse = np.unique(cx * span + (cy - cy.min()), return_inverse=True)
    kx = np.floor(keys / span)
    cells = np.c_[kx, keys - kx * span + cy.min()]
    sx0, sx1 = np.minimum(x[:-1], x[1:]), np.maximum(x[:-1], x[1:])
    sy0, sy1 = np.minimum(y[:-1], y[1:]), np.maximum(y[:-1], y[1:])
    keep_rows = []
    rows = max(1, (1 << 20) // len(x))
    for k in range(0, len(cells), rows):
        x0, y0 = cells[k : k + rows, :1] * cell_m, cells[k : k + rows, 1:] * cell_m
        x1, y1 = x0 + cell_m, y0 + cell_m
        far_x = np.maximum(np.abs(x[None, :] - x0), np.abs(x[None, :] - x1))
        far_y = np.maximum(np.abs(y[None, :] - y0), np.abs(y[None, :] - y1))
        bound = np.sqrt(far_x * far_x + far_y * far_y).min(1, keepdims=True)
        gx = np.maximum(np.maximum(sx0[None, :] - x1, x0 - sx1[None, :]), 0.0)
        gy = np.maximum(np.maximum(sy0[None, :] - y1, y0 - sy1[None, :]), 0.0)
        keep_rows.append(np.sqrt(gx * gx + gy * gy) <= bound * (1.0 + 1e-9) + 1e-6)
    keep = np.concatenate(keep_rows)
    count = keep.sum(1)
    starts = np.r_[0, np.cumsum(count)]
    segs = np.nonzero(keep)[1]
    per = count[inverse]
    return np.repeat(np.arange(len(px)), per), segs[np.repeat(starts[inverse], per) + ramp(per)]


def segment_distance_m(
    x: FloatArray, y: FloatArray, px: FloatArray, py: FloatArray, j: IntArray
) -> FloatArray:
    """Distance from each point to segment ``j`` of the polyline ``x, y``, with GEOS's
    formula (``Distance::pointToSegment``), so that it equals the tree's bit for bit."""
    ax, ay, bx, by = x[j], y[j], x[j + 1], y[j + 1]
    ex, ey = bx - ax, by - ay
    len2 = ex * ex + ey * ey
    r = ((px - ax) * ex + (py - ay) * ey) / len2
    s = ((ay - py) * ex - (ax - px) * ey) / len2
    wx, wy = np.where(r <= 0.0, px - ax, px - bx), np.where(r <= 0.0, py - ay, py - by)
    return np.where((r <= 0.0) | (r >= 1.0), np.sqrt(wx * wx + wy * wy), np.abs(s) * np.sqrt(len2))
