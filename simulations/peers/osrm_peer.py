"""OSRM's match service as a benchmark peer (Python 3.12 venv).

The osrm-bindings wheel ships the ``osrm-*`` tools under ``osrm/bin`` (run through
``python -m osrm``), the stock Lua profiles under ``osrm/share/profiles``, and an
in-process ``OSRM`` engine. Data: extract with ``car.lua``, then the MLD pipeline
(partition + customize), opened from files rather than shared memory.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import osrm
from peer_types import PeerMatch

__all__ = ["build", "match"]

_PROFILE = Path(osrm.__file__).parent / "share" / "profiles" / "car.lua"
# Timestamps must be positive epoch seconds; the traces start at t = 0.
_EPOCH_S = 1_700_000_000


def build(pbf: Path, workdir: Path) -> osrm.OSRM:
    """Extract, partition and customize ``pbf`` into ``workdir`` and open an engine."""
    base = workdir / pbf.name.removesuffix(".osm.pbf")
    log = workdir / "osrm_build.log"
    steps = [
        ["extract", "-p", str(_PROFILE), str(pbf)],
        ["partition", f"{base}.osrm"],
        ["customize", f"{base}.osrm"],
    ]
    with log.open("w") as out:
        for step in steps:
            proc = subprocess.run([sys.executable, "-m", "osrm", *step], stdout=out, stderr=out)
            if proc.returncode != 0:
                raise RuntimeError(f"osrm-{step[0]} exited {proc.returncode}, see {log}")
    return osrm.OSRM(
        algorithm="MLD",
        storage_config=f"{base}.osrm",
        use_shared_memory=False,
        max_locations_map_matching=-1,
        max_radius_map_matching=-1,
    )


def match(
    engine: osrm.OSRM,
    t_s: list[float],
    lon: list[float],
    lat: list[float],
    sigma_m: float,
    ways: dict[frozenset[int], int],
    options: dict[str, Any] | None = None,
) -> PeerMatch:
    """Match one trace, told the trace's GPS noise (OSRM's ``radiuses`` are its std dev);
    ``options`` are further ``MatchParameters`` (``tidy``, ``gaps``...)."""
    params = osrm.MatchParameters(
        coordinates=list(zip(lon, lat, strict=True)),
        timestamps=[_EPOCH_S + round(t) for t in t_s],
        radiuses=[sigma_m] * len(t_s),
        annotations=["nodes"],
        overview="false",
        **(options or {}),
    )
    start = time.perf_counter()
    try:
        reply = engine.Match(params)
    except RuntimeError as exc:
        return PeerMatch.failed(len(t_s), time.perf_counter() - start, str(exc))
    out = _parse(reply, ways)
    return PeerMatch(out.lon, out.lat, out.way_id, time.perf_counter() - start)


def _parse(reply: osrm.Object, ways: dict[frozenset[int], int]) -> PeerMatch:
    """Tracepoints in input order (``None`` where OSRM dropped the fix), each with the way
    of the first or last node pair of its leg, which is the edge the point lies on."""
    legs = [[list(leg["annotation"]["nodes"]) for leg in m["legs"]] for m in reply["matchings"]]
    lons: list[float | None] = []
    lats: list[float | None] = []
    way_ids: list[int | None] = []
    for tp in reply["tracepoints"]:
        if tp is None:
            lons.append(None)
            lats.append(None)
            way_ids.append(None)
            continue
        lons.append(float(tp["location"][0]))
        lats.append(float(tp["location"][1]))
        way_ids.append(_way(legs[int(tp["matchings_index"])], int(tp["waypoint_index"]), ways))
    return PeerMatch(lons, lats, way_ids, 0.0)


def _way(legs: list, waypoint: int, ways: dict[frozenset[int], int]) -> int | None:
    if waypoint < len(legs):
        pair = legs[waypoint][:2]
    elif legs:
        pair = legs[waypoint - 1][-2:]
    else:
        return None
    return ways.get(frozenset(int(n) for n in pair))
