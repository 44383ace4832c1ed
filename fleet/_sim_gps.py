"""What a phone's GPS makes of a truck's true motion: one noisy fix per interval.

Noise is time-correlated (a phone's error wanders rather than jumping every fix),
scaled so each axis has standard deviation ``noise_sigma_m``; rare outliers land
~150 m away while still claiming good accuracy, as multipath does between buildings;
dropouts remove bursts of consecutive fixes. All arrays, one call per truck.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from fleet._sim_motion import Timeline
from fleet._sim_path import DayPath
from fleet.geo import to_lonlat

__all__ = ["BREAKDOWN", "SITE", "GpsConfig", "GpsTrace", "observe"]

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

#: Stop labels that are not bin ids.
SITE = "@site"
BREAKDOWN = "@breakdown"


@dataclass(frozen=True)
class GpsConfig:
    """How the phone samples and how wrong it is."""

    interval_s: float = 5.0
    noise_sigma_m: float = 5.0
    noise_correlation_s: float = 15.0
    outlier_prob: float = 0.004
    outlier_m: float = 150.0
    dropout_prob: float = 0.003
    dropout_fixes: tuple[int, int] = (1, 12)
    heading_sigma_deg: float = 2.0


@dataclass(frozen=True)
class GpsTrace:
    """Reported values and truth, one row per fix that was not dropped."""

    t_s: FloatArray
    lat: FloatArray
    lon: FloatArray
    speed_mps: FloatArray
    heading_deg: FloatArray
    accuracy_m: FloatArray
    battery_pct: FloatArray
    altitude_m: FloatArray
    odometer_m: FloatArray
    true_lat: FloatArray
    true_lon: FloatArray
    true_speed_mps: FloatArray
    progress_m: FloatArray
    at_bin: ObjArray
    phase: ObjArray
    outlier: npt.NDArray[np.bool_]


def observe(
    timeline: Timeline, path: DayPath, gps: GpsConfig, rng: np.random.Generator, *, first_s: float
) -> GpsTrace:
    """Sample the timeline every ``interval_s`` from ``first_s`` and add the phone's errors."""
    k0 = int(np.ceil(first_s / gps.interval_s - 1e-9))
    k1 = int(np.floor(timeline.duration_s / gps.interval_s + 1e-9))
    t_s = np.arange(k0, k1 + 1, dtype=float) * gps.interval_s
    n = len(t_s)
    path_m, speed, label = timeline.sample(t_s)
    true_xy = shapely.get_coordinates(shapely.line_interpolate_point(path.line, path_m))
    heading = _heading_deg(path, path_m) + np.where(
        speed > 0, rng.normal(0.0, gps.heading_sigma_deg, n), 0.0
    )
    noise, outlier = _position_error(n, gps, rng)
    accuracy: FloatArray = np.where(
        outlier,
        rng.uniform(10.0, 30.0, n),
        np.maximum(1.0, gps.noise_sigma_m * rng.uniform(1.0, 2.0, n)),
    )
    battery = np.clip(rng.uniform(70.0, 100.0) - rng.uniform(3.0, 6.0) * t_s / 3600.0, 5.0, 100.0)
    altitude = rng.uniform(15.0, 90.0) + rng.normal(0.0, 3.0, n)
    keep = ~_dropouts(n, gps, rng)
    lon, lat = to_lonlat(*(true_xy + noise).T)
    true_lon, true_lat = to_lonlat(*true_xy.T)
    phase = np.array([leg.name for leg in path.legs], dtype=object)[path.leg_index(path_m)]
    phase = np.where(label == SITE, "at_site", np.where(label == BREAKDOWN, "breakdown", phase))
    at_bin = np.where(np.isin(label, ["", SITE, BREAKDOWN]), "", label)
    return GpsTrace(
        t_s=t_s[keep],
        lat=np.round(lat, 7)[keep],
        lon=np.round(lon, 7)[keep],
        speed_mps=np.round(speed, 2)[keep],
        heading_deg=(np.round(heading, 1) % 360.0)[keep],
        accuracy_m=np.round(accuracy, 1)[keep],
        battery_pct=np.round(battery, 1)[keep],
        altitude_m=np.round(altitude, 1)[keep],
        odometer_m=np.round(path_m)[keep],
        true_lat=true_lat[keep],
        true_lon=true_lon[keep],
        true_speed_mps=speed[keep],
        progress_m=path.route_progress(path_m)[keep],
        at_bin=at_bin[keep].astype(object),
        phase=phase[keep].astype(object),
        outlier=outlier[keep],
    )


def _heading_deg(path: DayPath, path_m: FloatArray) -> FloatArray:
    """Direction of travel (degrees clockwise from grid north) from the path around each point."""
    ahead = shapely.line_interpolate_point(path.line, np.minimum(path_m + 1.0, path.length_m))
    behind = shapely.line_interpolate_point(path.line, np.maximum(path_m - 1.0, 0.0))
    d = shapely.get_coordinates(ahead) - shapely.get_coordinates(behind)
    heading: FloatArray = np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360.0
    return heading


def _position_error(
    n: int, gps: GpsConfig, rng: np.random.Generator
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Per-fix (dx, dy) metres: smoothed Gaussian noise plus rare outliers."""
    tau = gps.noise_correlation_s / gps.interval_s
    kernel = np.exp(-np.arange(int(np.ceil(5 * tau)) + 1) / tau) if tau > 0 else np.ones(1)
    kernel /= np.sqrt(np.sum(kernel**2))
    white = rng.normal(0.0, gps.noise_sigma_m, (2, n + len(kernel) - 1))
    noise = np.column_stack([np.convolve(w, kernel, mode="valid") for w in white])
    outlier = rng.random(n) < gps.outlier_prob
    angle = rng.uniform(0.0, 2 * np.pi, n)
    jump = rng.normal(gps.outlier_m, 0.15 * gps.outlier_m, n)
    noise[outlier] += np.column_stack([jump * np.sin(angle), jump * np.cos(angle)])[outlier]
    return noise, outlier


def _dropouts(n: int, gps: GpsConfig, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """True for fixes lost in bursts of ``dropout_fixes`` consecutive fixes."""
    starts = np.flatnonzero(rng.random(n) < gps.dropout_prob)
    lengths = rng.integers(gps.dropout_fixes[0], gps.dropout_fixes[1] + 1, len(starts))
    edges = np.zeros(n + 1, dtype=int)
    np.add.at(edges, starts, 1)
    np.add.at(edges, np.minimum(starts + lengths, n), -1)
    return np.cumsum(edges[:-1]) > 0
