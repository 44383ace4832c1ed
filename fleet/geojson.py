"""GeoJSON (RFC 7946) building: lon/lat order, coordinates rounded to ~10 cm."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shapely import wkt
from shapely.geometry import mapping

__all__ = ["feature", "collection", "point", "from_wkt"]

PRECISION = 6


def _round(coords: Any) -> Any:
    if isinstance(coords, (int, float)):
        return round(float(coords), PRECISION)
    return [_round(c) for c in coords]


def from_wkt(text: str) -> dict[str, Any]:
    geom = mapping(wkt.loads(text))
    return {"type": geom["type"], "coordinates": _round(geom["coordinates"])}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(lon, PRECISION), round(lat, PRECISION)]}


def feature(geometry: dict[str, Any] | None, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": dict(properties)}


def collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}
