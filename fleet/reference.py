"""Read and check the city's reference layers: boundaries, streets, routes, bins and sites.

A city can hand over its own files, so each layer is looked up as ``<layer>.geojson``,
``.gpkg`` or ``.shp`` and read with geopandas; anything wrong is reported as a
``ReferenceError`` that names the layer and the feature, so the file can be fixed
before a single record reaches the database. Geometries are returned in WGS84 lon/lat;
distances are checked in UTM 51S (EPSG:32751). Pure: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "DAYS",
    "LAYERS",
    "MAX_BIN_OFFSET_M",
    "BinRecord",
    "KecamatanRecord",
    "KelurahanRecord",
    "ReferenceData",
    "ReferenceDataError",
    "ReferenceError",
    "RouteRecord",
    "SiteRecord",
    "StreetRecord",
    "load_reference",
    "read_layer",
    "validate",
]

LAYERS = ("kecamatan", "kelurahan", "streets", "routes", "bins", "sites")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A bin farther than this from its route cannot be credited as serviced.
MAX_BIN_OFFSET_M = 15.0
_SUFFIXES = (".geojson", ".gpkg", ".shp")
_METRIC_CRS = "EPSG:32751"


class ReferenceDataError(ValueError):
    """A feature that cannot be accepted; names its layer and id (or ``#row``)."""

    def __init__(self, layer: str, feature_id: str, reason: str) -> None:
        super().__init__(f"{layer} {feature_id}: {reason}")
        self.layer, self.feature_id, self.reason = layer, feature_id, reason


#: The name the project's interface uses (it shadows the builtin inside importers only).
ReferenceError = ReferenceDataError  # noqa: A001


@dataclass(frozen=True, slots=True)
class KecamatanRecord:
    name: str
    kode: str
    kelurahan: tuple[str, ...]
    population: int
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class KelurahanRecord:
    name: str
    kode: str
    kecamatan: str
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class StreetRecord:
    street_id: str
    name: str
    kecamatan: str
    kelurahan: str
    road_class: str
    synthetic: bool
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class RouteRecord:
    """A truck's planned drive; depot legs are [0, start] and [end, length] metres."""

    route_id: str
    truck_id: str
    name: str
    kecamatan: str
    color: str
    schedule_days: tuple[str, ...]
    shift_start: str
    shift_end: str
    length_m: float
    collection_start_m: float
    collection_end_m: float
    geometry: BaseGeometry

    @property
    def collection_m(self) -> float:
        """Length of the part of the route where bins are emptied."""
        return self.collection_end_m - self.collection_start_m


@dataclass(frozen=True, slots=True)
class BinRecord:
    bin_id: str
    status: str
    kecamatan: str
    kelurahan: str
    route_id: str
    progress_m: float
    street: str
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class SiteRecord:
    site_id: str
    kind: str
    name: str
    kecamatan: str
    geometry: BaseGeometry


@dataclass(frozen=True, slots=True)
class ReferenceData:
    kecamatan: tuple[KecamatanRecord, ...]
    kelurahan: tuple[KelurahanRecord, ...]
    streets: tuple[StreetRecord, ...]
    routes: tuple[RouteRecord, ...]
    bins: tuple[BinRecord, ...]
    sites: tuple[SiteRecord, ...]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is np.nan


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {value!r}")
    return value.strip()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return float(value)


def _count(value: Any) -> int:
    number = _number(value)
    if number != int(number):
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def _names(value: Any) -> tuple[str, ...]:
    """A list field: a real list, a JSON array, or comma-separated text (Shapefile)."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
    if not isinstance(value, list | tuple | np.ndarray):
        raise ValueError(f"expected a list, got {value!r}")
    return tuple(_text(v) for v in value)


def _days(value: Any) -> tuple[str, ...]:
    days = tuple(d.lower() for d in _names(value))
    bad = [d for d in days if d not in DAYS]
    if bad or not days:
        raise ValueError(f"schedule days must be among {', '.join(DAYS)}; got {bad or 'none'}")
    return days


def _hhmm(value: Any) -> str:
    """'HH:MM' local time (WITA); GDAL may hand back a ``datetime.time``."""
    if isinstance(value, time):
        value = value.strftime("%H:%M")
    match = re.fullmatch(
        r"([01]\d|2[0-3]):([0-5]\d)(:00)?", value if isinstance(value, str) else ""
    )
    if not match:
        raise ValueError(f"expected HH:MM, got {value!r}")
    return f"{match[1]}:{match[2]}"


def _color(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"expected a #rrggbb colour, got {value!r}")
    return value.lower()


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    return check


def _flag(value: Any) -> bool:
    return bool(value)


_POLYGONAL = ("Polygon", "MultiPolygon")
#: layer -> (id field, record type, allowed geometry types, field converters in order)
_SPECS: dict[str, tuple[str, type, tuple[str, ...], dict[str, Callable[[Any], Any]]]] = {
    "kecamatan": (
        "name",
        KecamatanRecord,
        _POLYGONAL,
        {"name": _text, "kode": _text, "kelurahan": _names, "population": _count},
    ),
    "kelurahan": (
        "kode",
        KelurahanRecord,
        _POLYGONAL,
        {"name": _text, "kode": _text, "kecamatan": _text},
    ),
    "streets": (
        "street_id",
        StreetRecord,
        ("LineString",),
        {
            "street_id": _text,
            "name": _text,
            "kecamatan": _text,
            "kelurahan": _text,
            "road_class": _one_of("primary", "secondary", "residential"),
            "synthetic": _flag,
        },
    ),
    "routes": (
        "route_id",
        RouteRecord,
        ("LineString",),
        {
            "route_id": _text,
            "truck_id": _text,
            "name": _text,
            "kecamatan": _text,
            "color": _color,
            "schedule_days": _days,
            "shift_start": _hhmm,
            "shift_end": _hhmm,
            "length_m": _number,
            "collection_start_m": _number,
            "collection_end_m": _number,
        },
    ),
    "bins": (
        "bin_id",
        BinRecord,
        ("Point",),
        {
            "bin_id": _text,
            "status": _one_of("installed", "planned"),
            "kecamatan": _text,
            "kelurahan": _text,
            "route_id": _text,
            "progress_m": _number,
            "street": _text,
        },
    ),
    "sites": (
        "site_id",
        SiteRecord,
        _POLYGONAL,
        {
            "site_id": _text,
            "kind": _one_of("depot", "processing", "landfill"),
            "name": _text,
            "kecamatan": _text,
        },
    ),
}
#: Fields a city's own files may leave out, with the value assumed then.
_DEFAULTS: dict[str, Any] = {"synthetic": False}


def _find(directory: Path, layer: str) -> Path:
    for suffix in _SUFFIXES:
        path = directory / f"{layer}{suffix}"
        if path.exists():
            return path
    raise ReferenceDataError(layer, "-", f"no {layer}.geojson/.gpkg/.shp in {directory}")


def read_layer(directory: Path, layer: str) -> gpd.GeoDataFrame:
    """One layer as a GeoDataFrame in EPSG:4326 (files without a CRS are taken as lon/lat)."""
    frame = gpd.read_file(_find(Path(directory), layer))
    if frame.crs is None:
        return frame.set_crs("EPSG:4326")
    return frame.to_crs("EPSG:4326")


def _geometry(geom: Any, allowed: tuple[str, ...]) -> BaseGeometry:
    """Checked 2D geometry; the reason string is what the feature's owner needs to fix."""
    if geom is None or geom.is_empty:
        raise ValueError("empty geometry")
    if geom.geom_type not in allowed:
        raise ValueError(f"expected {' or '.join(allowed)} geometry, got {geom.geom_type}")
    geom = shapely.force_2d(geom)
    if not geom.is_valid:
        raise ValueError(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    return geom


def _records(layer: str, frame: gpd.GeoDataFrame) -> tuple[Any, ...]:
    """Convert each row into its record, naming the first bad feature."""
    id_field, record_type, allowed, converters = _SPECS[layer]
    rows = frame.drop(columns=frame.geometry.name).to_dict("records")
    records, seen = [], set()
    for i, (row, geom) in enumerate(zip(rows, frame.geometry, strict=True)):
        raw_id = row.get(id_field)
        feature_id = f"#{i}" if _missing(raw_id) else str(raw_id)
        try:
            values = {}
            for name, convert in converters.items():
                value = row.get(name)
                if _missing(value) and name in _DEFAULTS:
                    value = _DEFAULTS[name]
                elif _missing(value):
                    raise ValueError(f"missing required field {name!r}")
                values[name] = convert(value)
            values["geometry"] = _geometry(geom, allowed)
        except (ValueError, TypeError) as err:
            raise ReferenceDataError(layer, feature_id, str(err)) from None
        if feature_id in seen:
            raise ReferenceDataError(layer, feature_id, f"duplicate {id_field}")
        seen.add(feature_id)
        names = [f.name for f in fields(record_type)]
        records.append(record_type(**{n: values[n] for n in names}))
    return tuple(records)


def validate(data: ReferenceData) -> None:
    """Cross-layer checks: route measures add up, and every bin sits on a known route.

    Distances are measured in UTM 51S (EPSG:32751); raises ``ReferenceDataError``.
    """
    for r in data.routes:
        if not r.collection_start_m <= r.collection_end_m <= r.length_m + 1.0:
            raise ReferenceDataError(
                "routes", r.route_id, "need collection_start_m <= collection_end_m <= length_m"
            )
    routes = {r.route_id: r for r in data.routes}
    for b in data.bins:
        if b.route_id not in routes:
            raise ReferenceDataError("bins", b.bin_id, f"unknown route {b.route_id!r}")
    if not data.bins:
        return
    lines = gpd.GeoSeries([routes[b.route_id].geometry for b in data.bins], crs="EPSG:4326")
    points = gpd.GeoSeries([b.geometry for b in data.bins], crs="EPSG:4326")
    offset_m = shapely.distance(points.to_crs(_METRIC_CRS).values, lines.to_crs(_METRIC_CRS).values)
    far = np.nonzero(offset_m > MAX_BIN_OFFSET_M)[0]
    if len(far):
        b = data.bins[int(far[0])]
        reason = f"{offset_m[far[0]]:.1f} m from route {b.route_id} (max {MAX_BIN_OFFSET_M} m)"
        raise ReferenceDataError("bins", b.bin_id, reason)


def load_reference(directory: Path) -> ReferenceData:
    """Read, convert and validate all six layers from ``directory``."""
    layers = {layer: _records(layer, read_layer(Path(directory), layer)) for layer in LAYERS}
    data = ReferenceData(**layers)
    validate(data)
    return data
