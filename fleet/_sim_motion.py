"""How a simulated truck moves along its day path: speeds, stops, and the clock.

Motion is piecewise constant: the path is cut into stretches of 80-300 m, each with
its own street speed, slowed further near sharp corners, and interrupted by stops
(bins, the dump site, a breakdown). The result is a timeline of intervals, each either
moving at one speed or standing still, which is sampled at any set of times in one
vectorized call. Distances are path metres (see ``_sim_path``), times seconds from
the truck's departure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely import LineString

__all__ = ["MotionConfig", "Stop", "Timeline", "build_timeline", "plan_speeds"]

FloatArray = npt.NDArray[np.float64]
KMH = 1.0 / 3.6


@dataclass(frozen=True)
class MotionConfig:
    """Street speeds (km/h) and what counts as a corner."""

    min_kmh: float = 15.0
    max_kmh: float = 40.0
    collection_max_kmh: float = 25.0
    corner_max_kmh: float = 20.0
    corner_turn_deg: float = 35.0
    corner_zone_m: float = 25.0
    stretch_m: tuple[float, float] = (80.0, 300.0)


@dataclass(frozen=True)
class Stop:
    """Standing still at path distance ``at_m`` for ``dwell_s``; ``label`` names the stop."""

    at_m: float
    dwell_s: float
    label: str


@dataclass(frozen=True)
class Timeline:
    """Consecutive intervals; ``speed_mps`` is 0 and ``label`` set while stopped."""

    start_s: FloatArray
    end_s: FloatArray
    start_m: FloatArray
    speed_mps: FloatArray
    label: npt.NDArray[np.object_]

    @property
    def duration_s(self) -> float:
        return float(self.end_s[-1]) if len(self.end_s) else 0.0

    def sample(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.object_]]:
        """Path metres, speed and stop label at each time (clamped to the timeline's span)."""
        idx = np.clip(np.searchsorted(self.end_s, t_s, side="right"), 0, len(self.end_s) - 1)
        elapsed = np.clip(t_s - self.start_s[idx], 0.0, self.end_s[idx] - self.start_s[idx])
        path_m = self.start_m[idx] + self.speed_mps[idx] * elapsed
        return path_m, self.speed_mps[idx], self.label[idx]

    def time_at(self, label: str) -> float | None:
        """When the stop with this label starts, or None if the day has no such stop."""
        hits = np.flatnonzero(self.label == label)
        return float(self.start_s[hits[0]]) if len(hits) else None


def plan_speeds(
    path: LineString,
    rng: np.random.Generator,
    config: MotionConfig,
    collection_m: tuple[float, float] = (0.0, 0.0),
) -> tuple[FloatArray, FloatArray]:
    """Break points along ``path`` (metres) and the speed (m/s) of each piece between them.

    Within ``collection_m`` (path metres) the crew walks beside the truck between bins,
    so speeds stay under ``collection_max_kmh``.
    """
    length = float(path.length)
    lo, hi = config.stretch_m
    stretch_ends = np.cumsum(rng.uniform(lo, hi, size=int(length / lo) + 2))
    stretch_kmh = rng.uniform(config.min_kmh, config.max_kmh, size=len(stretch_ends))
    corners = _corner_positions_m(path, config.corner_turn_deg)
    zone = config.corner_zone_m
    edges = np.concatenate(
        [[0.0, length], collection_m, stretch_ends, corners - zone, corners + zone]
    )
    breaks = np.unique(np.clip(edges, 0.0, length))
    mids = (breaks[:-1] + breaks[1:]) / 2.0
    kmh = stretch_kmh[np.searchsorted(stretch_ends, mids)]
    collecting = (mids > collection_m[0]) & (mids < collection_m[1])
    slow_kmh = config.min_kmh + (kmh - config.min_kmh) * _share(config.collection_max_kmh, config)
    kmh = np.where(collecting, slow_kmh, kmh)
    near = _distance_to_nearest(mids, corners) < zone
    corner_kmh = rng.uniform(config.min_kmh, config.corner_max_kmh, size=len(mids))
    kmh = np.where(near, np.minimum(kmh, corner_kmh), kmh)
    return breaks, kmh * KMH


def build_timeline(
    breaks_m: FloatArray, speeds_mps: FloatArray, stops: list[Stop], *, end_m: float
) -> Timeline:
    """Drive the pieces up to ``end_m``, standing still at each stop when it is reached."""
    stops = [s for s in stops if s.at_m <= end_m]
    stop_m = np.array([s.at_m for s in stops], dtype=float)
    cuts = np.unique(np.concatenate([breaks_m[breaks_m < end_m], [end_m], stop_m]))
    d0, d1 = cuts[:-1], cuts[1:]
    piece_speed = speeds_mps[np.clip(np.searchsorted(breaks_m, d0, side="right") - 1, 0, None)]
    start_m = np.concatenate([d0, stop_m])
    duration = np.concatenate([(d1 - d0) / piece_speed, [s.dwell_s for s in stops]])
    speed = np.concatenate([piece_speed, np.zeros(len(stops))])
    label = np.array([""] * len(d0) + [s.label for s in stops], dtype=object)
    order = np.lexsort((np.arange(len(start_m)), speed > 0, start_m))
    end_s = np.cumsum(duration[order])
    start_s = end_s - duration[order]
    return Timeline(start_s, end_s, start_m[order], speed[order], label[order])


def _share(cap_kmh: float, config: MotionConfig) -> float:
    """Factor that maps the full speed range onto ``min_kmh..cap_kmh``."""
    return (cap_kmh - config.min_kmh) / max(config.max_kmh - config.min_kmh, 1e-9)


def _corner_positions_m(path: LineString, turn_deg: float) -> FloatArray:
    """Path distances of the vertices where the direction turns by more than ``turn_deg``."""
    xy = shapely.get_coordinates(path)
    seg = np.diff(xy, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1])
    bearing = np.arctan2(seg[:, 0], seg[:, 1])
    turn = np.abs((np.diff(bearing) + np.pi) % (2 * np.pi) - np.pi)
    vertex_m = np.cumsum(seg_len)[:-1]
    corners: FloatArray = vertex_m[np.degrees(turn) > turn_deg]
    return corners


def _distance_to_nearest(values: FloatArray, sorted_refs: FloatArray) -> FloatArray:
    if len(sorted_refs) == 0:
        return np.full(len(values), np.inf)
    idx = np.searchsorted(sorted_refs, values)
    left = sorted_refs[np.clip(idx - 1, 0, len(sorted_refs) - 1)]
    right = sorted_refs[np.clip(idx, 0, len(sorted_refs) - 1)]
    nearest: FloatArray = np.minimum(np.abs(values - left), np.abs(values - right))
    return nearest
