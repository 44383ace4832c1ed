"""Boundaries, projections and a byte-stable GeoJSON writer for the reference build.

Everything metric happens in UTM 51S (EPSG:32751); files are written in WGS84 lon/lat
rounded to 6 decimals (about 0.1 m) so that the same seed gives identical bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

__all__ = [
    "KECAMATAN_POPULATION",
    "Boundaries",
    "load_boundaries",
    "geometry_json",
    "lonlat_to_utm",
    "utm_to_lonlat",
    "write_geojson",
]

#: Approximate BPS 2020 census (SP2020) population per kecamatan; sums to 442,758.
KECAMATAN_POPULATION: dict[str, int] = {
    "Alak": 70_227,
    "Maulafa": 97_427,
    "Kelapa Lima": 82_262,
    "Oebobo": 97_218,
    "Kota Raja": 54_135,
    "Kota Lama": 41_489,
}

_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32751", always_xy=True)
_TO_LONLAT = Transformer.from_crs("EPSG:32751", "EPSG:4326", always_xy=True)


def lonlat_to_utm(lonlat: np.ndarray) -> np.ndarray:
    """Project an (n, 2) lon/lat array to UTM 51S metres."""
    x, y = _TO_UTM.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def utm_to_lonlat(xy: np.ndarray) -> np.ndarray:
    """Unproject an (n, 2) UTM 51S array to lon/lat degrees rounded to 6 decimals."""
    lon, lat = _TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    return np.round(np.column_stack([lon, lat]), 6)


@dataclass(frozen=True)
class Boundaries:
    """Real kelurahan and kecamatan polygons, in lon/lat and in UTM, in source order."""

    kelurahan: gpd.GeoDataFrame
    kecamatan: gpd.GeoDataFrame
    kelurahan_utm: tuple[BaseGeometry, ...]
    kecamatan_utm: tuple[BaseGeometry, ...]
    city_utm: BaseGeometry


def load_boundaries(source: Path) -> Boundaries:
    """Read the boundary files, snap them to the 6-decimal grid and project them.

    Snapping with ``set_precision`` (not plain rounding) keeps every polygon valid.
    """
    kel = gpd.read_file(source / "kelurahan.geojson")
    kec = gpd.read_file(source / "kecamatan.geojson")
    kel = gpd.GeoDataFrame(
        {"name": kel["nama"], "kode": kel["kode"]},
        geometry=shapely.set_precision(kel.geometry.values, 1e-6),
        crs="EPSG:4326",
    )
    kec = gpd.GeoDataFrame(
        {"name": kec["nama"], "kode": kec["kode"]},
        geometry=shapely.set_precision(kec.geometry.values, 1e-6),
        crs="EPSG:4326",
    )
    kec_by_code = dict(zip(kec["kode"], kec["name"], strict=True))
    kel["kecamatan"] = [kec_by_code[k[:8]] for k in kel["kode"]]
    kel_utm = tuple(kel.to_crs("EPSG:32751").geometry)
    kec_utm = tuple(kec.to_crs("EPSG:32751").geometry)
    city = shapely.union_all(kec_utm)
    return Boundaries(kel, kec, kel_utm, kec_utm, city)


def _rounded(value: Any) -> Any:
    """Round nested coordinate sequences to 6 decimals, as plain Python floats."""
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return round(float(value), 6)


def geometry_json(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON geometry dict of a lon/lat geometry with rounded coordinates."""
    g = mapping(geom)
    return {"type": g["type"], "coordinates": _rounded(g["coordinates"])}


def write_geojson(path: Path, features: list[dict[str, Any]], name: str) -> None:
    """Write a FeatureCollection with one feature per line, so diffs stay readable."""
    lines = [
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), sort_keys=False) for f in features
    ]
    head = json.dumps({"type": "FeatureCollection", "name": name})[:-1]
    body = ",\n".join(lines)
    path.write_text(f'{head}, "features": [\n{body}\n]}}\n', encoding="utf-8")
