"""Valhalla's map matching (``trace_attributes``) as a benchmark peer (Python 3.12 venv).

The pyvalhalla wheel ships ``valhalla_build_tiles`` under ``valhalla/bin`` and an
in-process ``Actor``; tiles are built from a PBF (Valhalla reads no OSM XML) with the
wheel's default config, no admin or time-zone database (both only warn when missing).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import valhalla
from peer_types import PeerMatch

__all__ = ["build", "match"]

# Valhalla caps search_radius at meili's max_search_radius (100 m by default).
_MAX_SEARCH_RADIUS_M = 100.0


def build(pbf: Path, workdir: Path) -> valhalla.Actor:
    """Build routing tiles for ``pbf`` under ``workdir`` and open an Actor on them."""
    tile_dir = workdir / "valhalla_tiles"
    tile_dir.mkdir(parents=True, exist_ok=True)
    config = valhalla.get_config(tile_extract="", tile_dir=tile_dir, verbose=False)
    config_path = workdir / "valhalla.json"
    config_path.write_text(json.dumps(config, indent=1))
    exe = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"
    log = workdir / "valhalla_build.log"
    with log.open("w") as out:
        proc = subprocess.run([str(exe), "-c", str(config_path), str(pbf)], stdout=out, stderr=out)
    if proc.returncode != 0:
        raise RuntimeError(f"valhalla_build_tiles exited {proc.returncode}, see {log}")
    return valhalla.Actor(str(config_path))


def match(
    actor: valhalla.Actor,
    t_s: list[float],
    lon: list[float],
    lat: list[float],
    sigma_m: float,
    options: dict[str, Any] | None = None,
) -> PeerMatch:
    """Match one trace with the ``auto`` costing, told the trace's GPS noise; ``options``
    override or add ``trace_options`` (meili's customizable parameters)."""
    request = {
        "shape": [{"lon": x, "lat": y, "time": t} for t, x, y in zip(t_s, lon, lat, strict=True)],
        "costing": "auto",
        "shape_match": "map_snap",
        "trace_options": {
            "gps_accuracy": sigma_m,
            "search_radius": min(max(50.0, 4.0 * sigma_m), _MAX_SEARCH_RADIUS_M),
            **(options or {}),
        },
        "filters": {
            "attributes": ["edge.way_id", "matched.point", "matched.type", "matched.edge_index"],
            "action": "include",
        },
    }
    start = time.perf_counter()
    try:
        reply = actor.trace_attributes(request)
    except Exception as exc:  # noqa: BLE001 - any refusal is a result to report
        return PeerMatch.failed(len(t_s), time.perf_counter() - start, str(exc))
    elapsed = time.perf_counter() - start
    return _parse(reply, elapsed)


def _parse(reply: dict, elapsed_s: float) -> PeerMatch:
    """Matched points in input order; ``unmatched`` ones become ``None``."""
    edges = reply.get("edges", [])
    lons: list[float | None] = []
    lats: list[float | None] = []
    ways: list[int | None] = []
    for p in reply["matched_points"]:
        ok = p.get("type") != "unmatched"
        k = p.get("edge_index")
        lons.append(p["lon"] if ok else None)
        lats.append(p["lat"] if ok else None)
        ways.append(edges[k].get("way_id") if ok and k is not None and k < len(edges) else None)
    return PeerMatch(lons, lats, ways, elapsed_s)
