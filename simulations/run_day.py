"""Drive a whole simulated day against a running server and print what happened.

    .venv/bin/python simulations/run_day.py http://127.0.0.1:5000 \\
        --scenario offline-hour --speedup 60 --devices devices.json

``devices.json`` maps trucks to device identifiers, either ``{"KP-01": "dev-id", ..}``
or ``[{"truck_id": "KP-01", "device_id": "dev-id", "protocol": "osmand-json"}, ..]``
(the protocol is optional; without it the default mix is used). Trucks missing from
the file post with their truck id as device id. The table counts fixes per protocol:
sent includes retries and resends; acked is what the server stored.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet.scenarios import SCENARIOS  # noqa: E402
from fleet.simrun import DEFAULT_MIX, load_reference, run_simulation  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
    parser.add_argument("--speedup", type=float, default=60.0, help="0 = as fast as possible")
    parser.add_argument("--devices", type=Path, help="truck -> device id (JSON)")
    parser.add_argument("--data", type=Path, default=ROOT / "routes_data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--day", type=date.fromisoformat, help="YYYY-MM-DD (default: yesterday)")
    parser.add_argument("--trucks", help="comma-separated truck ids (default: all)")
    parser.add_argument("--mid-shift", action="store_true", help="start now, trucks under way")
    parser.add_argument("--wall-timestamps", action="store_true")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--mix", help="protocol shares, e.g. osmand-json=0.5,batch=0.5")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def read_devices(path: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    """(truck -> device id, truck -> protocol) from either accepted file shape."""
    if path is None:
        return {}, {}
    data = json.loads(path.read_text())
    if isinstance(data, dict):
        return {str(k): str(v) for k, v in data.items()}, {}
    ids = {str(d["truck_id"]): str(d["device_id"]) for d in data}
    protocols = {str(d["truck_id"]): str(d["protocol"]) for d in data if d.get("protocol")}
    return ids, protocols


def parse_mix(text: str | None) -> dict[str, float]:
    if not text:
        return dict(DEFAULT_MIX)
    pairs = (item.split("=", 1) for item in text.split(","))
    return {name.strip(): float(share) for name, share in pairs}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    routes, bins, sites = load_reference(args.data)
    ids, protocols = read_devices(args.devices)
    trucks = args.trucks.split(",") if args.trucks else None
    stop = threading.Event()
    try:
        summary = run_simulation(
            args.base_url,
            routes,
            bins,
            sites,
            scenario=args.scenario,
            speedup=args.speedup,
            trucks=trucks,
            device_ids=ids,
            protocol_mix=protocols or parse_mix(args.mix),
            stop_event=stop,
            progress=not args.no_progress,
            seed=args.seed,
            day=args.day,
            mid_shift=args.mid_shift,
            wall_timestamps=args.wall_timestamps,
            workers=args.workers,
        )
    except KeyboardInterrupt:
        stop.set()
        return 130
    print(f"scenario {args.scenario}: {SCENARIOS[args.scenario]}")
    print(summary.table())
    rate = summary.fixes / summary.wall_s if summary.wall_s else 0.0
    print(f"{summary.fixes} fixes in {summary.wall_s:.1f} s wall ({rate:.0f} fixes/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
