"""A reference for the snapping benchmark: progress estimated by someone told the truth.

Not a matcher, and not a proof of a bound: it is handed what no matcher knows. It
starts at the true progress; each fix is measured at the route candidate nearest the
true progress (a local minimum of distance, from ``RouteGeometry.window_candidates``,
within +-40 m of the truth, which also drops the fixes whose along-route error is
larger); it skips outliers and the fixes off the route; and its process noise is the
best of a small sweep on the very traces it is scored on. A Kalman filter on progress
predicts with the reported speeds as ``fleet._snap_core`` does; it is causal, as a
live map must be. The Rauch-Tung-Striebel smoother also uses every later fix, which no
live answer can. A better estimator (in 2-D, nonlinear at corners) might beat both; the
rows show how far an along-route filter gets with that head start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fleet.geo import to_metric
from simulations.tracks import SimRoute, Trace

FloatArray = npt.NDArray[np.float64]

#: Process noise sweep: standard deviation of the distance driven beyond what the
#: speeds say, ``sd0 + sd_per_s * dt`` metres (the matcher's default is
#: 0.5 + (0.5 + 0.05 speed) dt).
SWEEP = ((0.1, 0.2), (0.2, 0.3), (0.5, 0.3), (0.5, 0.5), (1.0, 0.5))
STANDSTILL_MPS = 0.5
WINDOW_M = 40.0


@dataclass(frozen=True)
class Estimates:
    """Per fix, for one process noise: filtered and smoothed progress."""

    filtered_m: FloatArray
    smoothed_m: FloatArray


def measurements(route: SimRoute, trace: Trace, sigma_m: float) -> FloatArray:
    """The candidate measure nearest the truth for each usable fix, NaN where none is.

    Outliers and fixes on the detour are NaN: the reference is told which they are.
    """
    geom = route.geometry
    x, y = to_metric(trace.lon, trace.lat)
    z = np.full(len(x), np.nan)
    gate = max(50.0, 4.0 * sigma_m)
    usable = ~(trace.outlier | trace.detour)
    for k in np.flatnonzero(usable).tolist():
        truth = float(trace.true_progress_m[k])
        ms, _ = geom.window_candidates(
            float(x[k]), float(y[k]), truth - WINDOW_M, truth + WINDOW_M, gate
        )
        if ms:
            z[k] = min(ms, key=lambda m: abs(m - truth))
    return z


def estimate(trace: Trace, z: FloatArray, sigma_m: float, sd0: float, sd_per_s: float) -> Estimates:
    """Kalman filter and RTS smoother of progress from measures ``z`` and reported speeds."""
    n = len(z)
    t, r = trace.t_s, sigma_m * sigma_m
    # Told when the truck is off its route, it does not count that driving as progress.
    speed = np.where((trace.speed_mps < STANDSTILL_MPS) | trace.detour, 0.0, trace.speed_mps)
    m_pred, p_pred = np.empty(n), np.empty(n)
    m_filt, p_filt = np.empty(n), np.empty(n)
    m, p = float(trace.true_progress_m[0]), r
    for k in range(n):
        if k:
            dt = float(t[k] - t[k - 1])
            m += 0.5 * float(speed[k - 1] + speed[k]) * dt
            still = speed[k - 1] == 0.0 and speed[k] == 0.0
            sd = 0.25 * dt if still else sd0 + sd_per_s * dt
            p += sd * sd
        m_pred[k], p_pred[k] = m, p
        if z[k] == z[k]:
            gain = p / (p + r)
            m += gain * (float(z[k]) - m)
            p *= 1.0 - gain
        m_filt[k], p_filt[k] = m, p
    m_smooth = m_filt.copy()
    for k in range(n - 2, -1, -1):
        c = p_filt[k] / p_pred[k + 1]
        m_smooth[k] = m_filt[k] + c * (m_smooth[k + 1] - m_pred[k + 1])
    return Estimates(m_filt, m_smooth)
