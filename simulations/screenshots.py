"""README screenshots: the public map (desktop and phone) and the dispatcher dashboard.

    .venv/bin/python simulations/screenshots.py [--out docs/screenshots] [--warmup-s 20]

Starts ``fleet serve`` on a fresh SQLite copy of the reference data, lets simulated
trucks post mid-shift for ``--warmup-s`` seconds, then photographs the pages in headless
Chromium (Debian's ``/usr/bin/chromium``; Playwright never downloads a browser here).
Base-map tiles point at a local path that 404s, so the pictures show the service's own
layers on the plain map background and the "base map unavailable" notice is dismissed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from serverproc import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    FleetServer,
    add_devices,
    sqlite_database,
)

from fleet.simrun import load_reference, run_simulation  # noqa: E402

SERVER_ENV = {"FLEET_TILE_URL": "/static/none/{z}/{x}/{y}.png", "FLEET_HIDE_OFF_SHIFT": "false"}
LOGIN = ("dispatcher", "screenshots-only")
PLACE = "Oebobo"
MAX_PNG_BYTES = 400_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--warmup-s", type=float, default=20.0, help="trucks drive this long")
    parser.add_argument("--speedup", type=float, default=5.0, help="simulated s per wall s")
    parser.add_argument("--trucks", type=int, default=50)
    return parser.parse_args(argv)


def prepared_city(folder: Path, trucks: int) -> tuple[str, dict[str, str]]:
    """A fresh database with one device per truck and a dispatcher account."""
    from fleet.db import open_database
    from fleet.store.users import add_user

    url = sqlite_database(folder / "fleet.sqlite3")
    routes, _, _ = load_reference(ROOT / "routes_data")
    truck_ids = sorted(r.truck_id for r in routes)[:trucks]
    devices = add_devices(url, truck_ids)
    db = open_database(url)
    try:
        with db.write() as session:
            add_user(session, *LOGIN, "dispatcher")
    finally:
        db.engine.dispose()
    return url, devices


@contextmanager
def simulated_trucks(url: str, devices: dict[str, str], speedup: float) -> Iterator[None]:
    """Phones posting mid-shift fixes in a background thread until the block ends."""
    routes, bins, sites = load_reference(ROOT / "routes_data")
    stop = threading.Event()
    worker = threading.Thread(
        target=run_simulation,
        args=(url, routes, bins, sites),
        kwargs={
            "speedup": speedup,
            "trucks": list(devices),
            "device_ids": devices,
            "mid_shift": True,
            "wall_timestamps": True,
            "progress": False,
            "stop_event": stop,
        },
        daemon=True,
    )
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(timeout=30)


def dismiss_notices(page: Any) -> None:
    """Tap away the notices (missing tiles are expected offline) so they hide nothing."""
    for notice in page.locator("#notices .notice").all():
        notice.click()


def public_map(page: Any, base_url: str, trucks: int) -> None:
    """The public map once bins are in and most trucks have reported."""
    page.goto(f"{base_url}/")
    page.wait_for_function("window.fleet && window.fleet.bins.byId.size > 0")
    try:
        page.wait_for_function(
            f"window.fleet.trucks.trucks.size >= {max(1, trucks * 4 // 5)}", timeout=30_000
        )
    except PlaywrightTimeout:
        print("  fewer trucks than hoped (a busy machine); taking the picture anyway")
    page.wait_for_timeout(1500)


def arrival_answer(page: Any) -> None:
    """Search a kelurahan and pick it, so the panel shows when the truck comes."""
    page.fill("#place-q", PLACE)
    page.locator("#place-list li[role=option]").first.click()
    page.locator("#eta-result .eta-route").wait_for()
    page.wait_for_timeout(800)


def dashboard(page: Any, base_url: str) -> None:
    """Sign in, then pick the route with most bins serviced so the map zooms to it."""
    page.goto(f"{base_url}/dispatch")
    page.fill("#username", LOGIN[0])
    page.fill("#password", LOGIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/dispatch")
    page.wait_for_function("document.querySelectorAll('#route-table tr[data-route]').length > 0")
    page.wait_for_function("window.fleet && window.fleet.trucks.trucks.size > 0")
    page.evaluate(
        """() => {
            const rows = [...window.fleet.table.rows.values()];
            rows.sort((a, b) => (b.bins_serviced ?? 0) - (a.bins_serviced ?? 0));
            window.fleet.routes.focus(window.fleet.map, rows[0].route_id);
        }"""
    )
    page.wait_for_timeout(1500)


def shoot(page: Any, path: Path) -> int:
    """Screenshot the viewport to ``path``; returns its size in bytes."""
    dismiss_notices(page)
    page.screenshot(path=str(path))
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size / 1000:.0f} kB")
    if size > MAX_PNG_BYTES:
        print(f"  warning: larger than {MAX_PNG_BYTES / 1000:.0f} kB")
    return size


def take_all(base_url: str, out: Path, trucks: int) -> None:
    """The three pictures, each in its own browser context."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        desktop = browser.new_page(viewport={"width": 1280, "height": 800}, locale="id-ID")
        desktop.set_default_timeout(60_000)
        public_map(desktop, base_url, trucks)
        shoot(desktop, out / "public-map.png")
        phone = browser.new_page(
            viewport={"width": 390, "height": 844},
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="id-ID",
        )
        phone.set_default_timeout(60_000)
        public_map(phone, base_url, trucks)
        arrival_answer(phone)
        shoot(phone, out / "public-map-phone.png")
        dash = browser.new_page(viewport={"width": 1440, "height": 900}, locale="id-ID")
        dash.set_default_timeout(60_000)
        dashboard(dash, base_url)
        shoot(dash, out / "dashboard.png")
        browser.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fleet-shots-") as tmp:
        folder = Path(tmp)
        url, devices = prepared_city(folder, args.trucks)
        with FleetServer(url, folder / "server.log", env=SERVER_ENV) as server:
            with simulated_trucks(server.url, devices, args.speedup):
                print(f"{len(devices)} trucks driving for {args.warmup_s:.0f} s at {server.url}")
                time.sleep(args.warmup_s)
                take_all(server.url, args.out, len(devices))


if __name__ == "__main__":
    main()
