"""Lon/lat (WGS84) <-> UTM 51S (EPSG:32751) in metres.

Every distance in the project is measured in UTM 51S, which covers Kupang with
negligible scale error; the transformers are built once at import because building
one costs far more than using it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

__all__ = ["METRIC_CRS", "to_lonlat", "to_metric", "to_metric_xy"]

METRIC_CRS = "EPSG:32751"

_FORWARD = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_INVERSE = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

FloatArray = npt.NDArray[np.float64]


def to_metric(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 ``lon, lat`` (degrees, scalars or arrays) to UTM 51S ``x, y`` metres.

    >>> x, y = to_metric(123.6, -10.17)
    >>> round(float(x)), round(float(y))
    (565724, 8875731)
    """
    x, y = _FORWARD.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`to_metric`: UTM 51S metres to WGS84 ``lon, lat`` degrees."""
    lon, lat = _INVERSE.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def to_metric_xy(lon: float, lat: float) -> tuple[float, float]:
    """Plain-float :func:`to_metric` for one fix: the live path's projection.

    Skipping the array wrapping is five times faster, and PROJ computes the same
    numbers either way, so live and batch matching see identical coordinates.
    """
    x, y = _FORWARD.transform(float(lon), float(lat))
    return float(x), float(y)
