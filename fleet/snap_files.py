"""Snap recorded traces (CSV or GPX) to planned routes, file to file.

Backs the ``fleet snap ROUTES TRACES [-o OUT]`` command: backfill and reprocessing go
through :func:`fleet.snap.match_trace`, one call per truck and route, so a file gives
the same answers the live service would have given fix by fix.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from fleet.network import RouteNetwork
from fleet.snap import SnapConfig, match_trace

__all__ = ["read_gpx", "read_routes", "read_traces", "snap_files"]

RESULT_COLUMNS = ["progress_m", "snap_lat", "snap_lon", "offset_m", "on_route"]


def read_routes(path: str | Path) -> RouteNetwork:
    """Routes from any file geopandas reads, one LineString per ``route_id``, lon/lat."""
    frame = gpd.read_file(path)
    if "route_id" not in frame.columns:
        raise ValueError(f"{path}: routes need a route_id property")
    if frame.crs is not None:
        frame = frame.to_crs("EPSG:4326")
    return RouteNetwork.build(dict(zip(frame["route_id"].astype(str), frame.geometry, strict=True)))


def read_traces(path: str | Path, route_id: str | None = None) -> pd.DataFrame:
    """CSV with ``truck_id,route_id,time,lat,lon`` (+ optional columns), or a GPX file."""
    if Path(path).suffix.lower() == ".gpx":
        return read_gpx(path, route_id)
    frame = pd.read_csv(path, dtype={"truck_id": str, "route_id": str})
    if route_id is not None:
        frame["route_id"] = route_id
    missing = {"truck_id", "route_id", "time", "lat", "lon"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return frame


def read_gpx(path: str | Path, route_id: str | None = None) -> pd.DataFrame:
    """Track points of a GPX file; the route is ``route_id`` or else the track's name."""
    root = ET.parse(path).getroot()
    ns = {"g": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {"g": ""}
    q = (lambda tag: f"g:{tag}") if ns["g"] else (lambda tag: tag)
    rows = []
    for trk in root.iter(f"{{{ns['g']}}}trk" if ns["g"] else "trk"):
        name = trk.findtext(q("name"), default="", namespaces=ns) or None
        rid = route_id or name
        if rid is None:
            raise ValueError(f"{path}: track has no <name>; give the route id")
        for pt in trk.iterfind(f".//{q('trkpt')}", ns):
            rows.append(
                {
                    "truck_id": Path(path).stem,
                    "route_id": rid,
                    "time": pt.findtext(q("time"), namespaces=ns),
                    "lat": float(pt.attrib["lat"]),
                    "lon": float(pt.attrib["lon"]),
                }
            )
    return pd.DataFrame(rows, columns=["truck_id", "route_id", "time", "lat", "lon"])


def snap_files(
    routes_path: str | Path,
    traces_path: str | Path,
    out_path: str | Path,
    route_id: str | None = None,
    config: SnapConfig | None = None,
) -> int:
    """Write ``out_path``: the trace rows plus snapping columns; returns rows snapped.

    Rows whose route is unknown keep empty result columns. Fixes are matched per
    truck and route in time order; the output keeps the input's row order.
    """
    network = read_routes(routes_path)
    frame = read_traces(traces_path, route_id)
    t_s = _seconds(frame["time"])
    out = pd.DataFrame(index=frame.index, columns=RESULT_COLUMNS, dtype=object)
    snapped = 0
    for (_, rid), group in frame.groupby(["truck_id", "route_id"], sort=False):
        if rid not in network:
            continue
        order = group.index[np.argsort(t_s[group.index], kind="stable")]
        res = match_trace(
            network[rid],
            t_s[order],
            frame.loc[order, "lon"].to_numpy(float),
            frame.loc[order, "lat"].to_numpy(float),
            speed_mps=_column(frame, order, "speed_mps"),
            accuracy_m=_column(frame, order, "accuracy_m"),
            config=config,
        )
        values = (res.progress_m, res.snap_lat, res.snap_lon, res.offset_m)
        for name, col, digits in zip(RESULT_COLUMNS, values, (2, 7, 7, 2), strict=False):
            out.loc[order, name] = col.round(digits)
        out.loc[order, "on_route"] = res.on_route
        snapped += len(order)
    pd.concat([frame, out], axis=1).to_csv(out_path, index=False)
    return snapped


def _seconds(times: pd.Series) -> np.ndarray:
    """Epoch seconds from numbers (already seconds) or ISO 8601 strings (UTC if naive)."""
    seconds: np.ndarray = pd.to_numeric(times, errors="coerce").to_numpy(float, copy=True)
    text = np.isnan(seconds)
    if text.any():
        stamps = pd.to_datetime(times[text], utc=True, format="ISO8601")
        seconds[text] = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(float)
    return seconds


def _column(frame: pd.DataFrame, rows: pd.Index, name: str) -> np.ndarray | None:
    if name not in frame.columns:
        return None
    values: np.ndarray = pd.to_numeric(frame.loc[rows, name], errors="coerce").to_numpy(float)
    return values
