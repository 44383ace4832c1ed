"""Build Valhalla and OSRM on the benchmark's streets and match every trace with each.

Runs in ``simulations/peers/.venv312`` (Python 3.12, see ``setup.sh``), called by
``simulations/bench_peers.py``::

    .venv312/bin/python run_peers.py --network streets.osm --traces traces.json \\
        --workdir build --out peers.json

Writes, per engine, its version, build time and, per trace, the matched point and way
id of every fix and the seconds the engine took. An engine that cannot be built is
reported with the error instead of stopping the other.
"""

from __future__ import annotations

import argparse
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import osmium
from peer_types import PeerMatch

__all__ = ["main", "to_pbf"]

ENGINES = ("valhalla", "osrm")
_DIST = {"valhalla": "pyvalhalla", "osrm": "osrm-bindings"}


def to_pbf(osm_xml: Path, pbf: Path) -> None:
    """Rewrite OSM XML as PBF: Valhalla's tile builder reads nothing else."""
    pbf.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(pbf))
    try:
        for obj in osmium.FileProcessor(str(osm_xml)):
            writer.add(obj)
    finally:
        writer.close()


def way_index(osm_xml: Path) -> dict[frozenset[int], int]:
    """Node-id pair -> way id, to name the edge OSRM reports as a node pair."""
    ways = {}
    for way in ET.parse(osm_xml).getroot().iter("way"):
        refs = frozenset(int(nd.get("ref", "0")) for nd in way.iter("nd"))
        ways[refs] = int(way.get("id", "0"))
    return ways


def open_engine(
    name: str, pbf: Path, workdir: Path, ways: dict, options: dict[str, Any]
) -> Callable[[dict], PeerMatch]:
    """Build one engine's data and return its trace matcher."""
    if name == "valhalla":
        import valhalla_peer

        actor = valhalla_peer.build(pbf, workdir)
        return lambda t: valhalla_peer.match(actor, *_fixes(t), options=options)
    import osrm_peer

    engine = osrm_peer.build(pbf, workdir)
    return lambda t: osrm_peer.match(engine, *_fixes(t), ways, options=options)


def run_engine(
    name: str, pbf: Path, workdir: Path, traces: list[dict], ways: dict, options: dict[str, Any]
) -> dict[str, Any]:
    """Build one engine and match every trace; the error instead if it cannot be built."""
    out: dict[str, Any] = {"version": metadata.version(_DIST[name]), "options": options}
    start = time.perf_counter()
    try:
        matcher = open_engine(name, pbf, workdir, ways, options)
    except Exception as exc:  # noqa: BLE001 - the report says why, the other engine runs
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out
    out["build_s"] = time.perf_counter() - start
    out["traces"] = {t["id"]: matcher(t).as_json() for t in traces}
    return out


def _fixes(t: dict) -> tuple[list[float], list[float], list[float], float]:
    return t["t_s"], t["lon"], t["lat"], float(t["sigma_m"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", type=Path, required=True, help="OSM XML street network")
    ap.add_argument("--traces", type=Path, required=True, help="traces JSON")
    ap.add_argument("--workdir", type=Path, required=True, help="where engine data is built")
    ap.add_argument("--out", type=Path, required=True, help="matches JSON to write")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    ap.add_argument("--options", type=json.loads, default={}, help='{"osrm": {"tidy": true}}')
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    pbf = args.workdir / "streets.osm.pbf"
    to_pbf(args.network, pbf)
    traces = json.loads(args.traces.read_text())["traces"]
    ways = way_index(args.network)
    result = {
        name: run_engine(name, pbf, args.workdir, traces, ways, args.options.get(name, {}))
        for name in args.engines
    }
    args.out.write_text(json.dumps({"engines": result}))


if __name__ == "__main__":
    main()
