"""Hand the benchmark's synthetic streets and traces to the peer engines, as files.

Valhalla and OSRM run in their own Python 3.12 environment (``run_peers.py``), so the
street network and the GPS traces cross over as files: OSM XML for the network (one
two-node way per street edge, ``way id = edge number + 1``, ``node id = node index + 1``,
so an engine's way or node ids map straight back to ``tracks.Streets``), and one JSON
document for the traces. ``run_peers.py`` turns the XML into the PBF Valhalla needs.

Coordinates: ``Streets.xy`` is UTM 51S metres; everything written is WGS84 degrees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tracks import Streets, Trace

from fleet.geo import to_lonlat

__all__ = ["PeerTrace", "write_osm", "write_traces"]

# Residential, two-way, no name: what both engines' car profiles route on at 25-30 km/h,
# like the narrow streets the trucks collect on.
_WAY_TAGS = (("highway", "residential"), ("oneway", "no"))


@dataclass(frozen=True)
class PeerTrace:
    """One GPS trace as the peers get it: an id, the GPS noise it was made with, fixes."""

    trace_id: str
    sigma_m: float
    trace: Trace


def write_osm(streets: Streets, path: Path) -> None:
    """Write the street network as OSM XML that ``osrm-extract`` and osmium read."""
    lon, lat = to_lonlat(streets.xy[:, 0], streets.xy[:, 1])
    used = sorted({n for edge in streets.edges for n in edge})
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="peers">']
    lines += [
        f'  <node id="{i + 1}" version="1" lat="{lat[i]:.8f}" lon="{lon[i]:.8f}"/>' for i in used
    ]
    tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in _WAY_TAGS)
    for edge, n in sorted(streets.edges.items(), key=lambda item: item[1]):
        a, b = sorted(edge)
        lines.append(f'  <way id="{n + 1}" version="1"><nd ref="{a + 1}"/><nd ref="{b + 1}"/>')
        lines.append(f"    {tags}</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n")


def write_traces(traces: list[PeerTrace], path: Path) -> None:
    """Write the fixes (time s, lon, lat) and noise of every trace as one JSON file."""
    doc = {
        "traces": [
            {
                "id": p.trace_id,
                "sigma_m": p.sigma_m,
                "t_s": p.trace.t_s.round(3).tolist(),
                "lon": p.trace.lon.round(8).tolist(),
                "lat": p.trace.lat.round(8).tolist(),
            }
            for p in traces
        ]
    }
    path.write_text(json.dumps(doc))
