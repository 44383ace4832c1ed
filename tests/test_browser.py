"""The public map and the dispatcher dashboard in headless Chromium against a real server.

What a resident or a dispatcher would notice: trucks appear and move, a serviced bin turns
green, the arrival panel answers, the language switch works, the page says when the
connection is lost and recovers by itself, and the dashboard needs a login and lets an
alert be acknowledged. Base-map tiles point at a local path that 404s, so nothing waits on
the internet and the pages are shown to work without tiles.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from serverproc import CHROMIUM, CHROMIUM_ARGS, FleetServer, add_devices, sqlite_database

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SERVER_ENV = {
    "FLEET_TILE_URL": "/static/none/{z}/{x}/{y}.png",
    "FLEET_HIDE_OFF_SHIFT": "false",
}
SIM_TRUCKS = ["KP-01", "KP-02", "KP-03", "KP-04", "KP-05"]
BIN_TRUCK = "KP-10"
OFF_ROUTE_TRUCK = "KP-20"
DISPATCHER = ("rina", "sampah-bersih-1")
TODAY_GREEN = "#1b9e3e"
WAIT_MS = 20_000

TRUCK_POSITIONS_JS = """() => Object.fromEntries([...window.fleet.trucks.trucks].map(
    ([id, e]) => [id, [e.marker.getLatLng().lat, e.marker.getLatLng().lng]]))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module; Playwright must not fetch its own."""
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def devices_and_url(tmp_path: Path, sqlite_template: Path) -> tuple[dict[str, str], str]:
    """A copy of the prepared city with devices, a dispatcher and one open alert."""
    from fleet.db import open_database
    from fleet.store.alerts import raise_alert
    from fleet.store.users import add_user

    url = sqlite_database(tmp_path / "fleet.sqlite3", template=sqlite_template)
    devices = add_devices(url, [*SIM_TRUCKS, BIN_TRUCK, OFF_ROUTE_TRUCK])
    db = open_database(url)
    try:
        with db.write() as session:
            add_user(session, *DISPATCHER, "dispatcher")
            raise_alert(
                session,
                "stale",
                "KP-07: no fix for 15 min",
                "browser-test:stale:KP-07",
                datetime.now(UTC) - timedelta(minutes=3),
                truck_id="KP-07",
                route_id="KP-07",
            )
    finally:
        db.engine.dispose()
    return devices, url


@pytest.fixture
def devices(devices_and_url: tuple[dict[str, str], str]) -> dict[str, str]:
    return devices_and_url[0]


@pytest.fixture
def server(devices_and_url: tuple[dict[str, str], str], tmp_path: Path) -> Iterator[FleetServer]:
    """``fleet serve`` on its own SQLite file, tiles unreachable, every truck public."""
    proc = FleetServer(devices_and_url[1], tmp_path / "server.log", env=SERVER_ENV)
    with proc:
        yield proc


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh desktop page; an uncaught script error anywhere fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="id-ID")
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == [], f"script errors in the page: {errors}"


@pytest.fixture
def moving_trucks(server: FleetServer, devices: dict[str, str]) -> Iterator[None]:
    """Five simulated phones posting mid-shift fixes at 8x speed until the test ends."""
    from fleet.simrun import load_reference, run_simulation

    routes, bins, sites = load_reference(Path(__file__).parent.parent / "routes_data")
    stop = threading.Event()
    worker = threading.Thread(
        target=run_simulation,
        args=(server.url, routes, bins, sites),
        kwargs={
            "speedup": 8.0,
            "trucks": SIM_TRUCKS,
            "device_ids": {t: devices[t] for t in SIM_TRUCKS},
            "mid_shift": True,
            "wall_timestamps": True,
            "progress": False,
            "stop_event": stop,
            "workers": 4,
        },
        daemon=True,
    )
    worker.start()
    yield
    stop.set()
    worker.join(timeout=20)


def open_map(page: Any, server: FleetServer) -> None:
    """Load the public map and wait until its layers are in and the socket is up."""
    page.goto(f"{server.url}/")
    page.wait_for_function("window.fleet && window.fleet.bins.byId.size > 0")
    page.wait_for_selector("#conn.conn-up", state="attached")


def post_fixes(
    server: FleetServer,
    device: str,
    points: list[tuple[float, float, float]],
    step_s: float = 5.0,
    end_ago_s: float = 0.0,
) -> None:
    """Post (lon, lat, speed_mps) fixes ``step_s`` apart, the last ``end_ago_s`` ago."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=end_ago_s)
    body = [
        {
            "time": (end - timedelta(seconds=step_s * (len(points) - 1 - i))).isoformat(),
            "lon": lon,
            "lat": lat,
            "speed_mps": speed_mps,
            "accuracy_m": 5.0,
        }
        for i, (lon, lat, speed_mps) in enumerate(points)
    ]
    response = requests.post(
        f"{server.url}/api/v1/pings",
        json=body,
        headers={"Authorization": f"Bearer {device}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert not response.json().get("rejected"), response.text


def route_bins(server: FleetServer, route_id: str) -> list[dict[str, Any]]:
    """Installed bins of a route, in the order the truck meets them."""
    features = requests.get(f"{server.url}/api/v1/bins", timeout=10).json()["features"]
    bins = [
        {
            **f["properties"],
            "lon": f["geometry"]["coordinates"][0],
            "lat": f["geometry"]["coordinates"][1],
        }
        for f in features
        if f["properties"]["route_id"] == route_id and f["properties"]["status"] == "installed"
    ]
    assert bins, f"route {route_id} has no installed bins"
    return bins


def approach_and_stop(
    server: FleetServer, route_id: str, target: dict[str, Any]
) -> list[tuple[float, float, float]]:
    """Fixes 25 m apart along the route up to ``target``, then 30 s standing beside it."""
    import numpy as np
    import shapely

    from fleet.geo import to_lonlat, to_metric

    routes = requests.get(f"{server.url}/api/v1/routes", timeout=10).json()["features"]
    coords = next(f for f in routes if f["properties"]["route_id"] == route_id)["geometry"]
    lon, lat = np.asarray(coords["coordinates"]).T
    line = shapely.linestrings(np.column_stack(to_metric(lon, lat)))
    at_m = float(
        shapely.line_locate_point(line, shapely.points(to_metric(target["lon"], target["lat"])))
    )
    along_m = np.clip(at_m - np.arange(250.0, -1.0, -25.0), 0.0, None)
    x, y = shapely.get_coordinates(shapely.line_interpolate_point(line, along_m)).T
    drive_lon, drive_lat = to_lonlat(x, y)
    drive = [(float(a), float(b), 5.0) for a, b in zip(drive_lon, drive_lat, strict=True)]
    return drive + [(target["lon"], target["lat"], 0.0)] * 6


def test_trucks_appear_and_move(page: Any, server: FleetServer, moving_trucks: None) -> None:
    open_map(page, server)
    page.wait_for_function("window.fleet.trucks.trucks.size >= 3")
    markers = page.locator(".truck-marker[data-status]")
    codes = set(page.locator(".truck-marker .truck-code").all_text_contents())
    assert codes and codes <= set(SIM_TRUCKS)
    assert markers.count() == len(codes)
    assert {markers.nth(i).get_attribute("data-status") for i in range(markers.count())} <= {
        "on_route",
        "off_route",
        "stale",
    }
    page.wait_for_function("document.querySelector('.truck-age').textContent.length > 0")
    before = page.evaluate(TRUCK_POSITIONS_JS)
    page.wait_for_function(
        """(before) => Object.entries(before).some(([id, [lat, lon]]) => {
            const e = window.fleet.trucks.trucks.get(id);
            const p = e && e.marker.getLatLng();
            return p && (Math.abs(p.lat - lat) > 1e-6 || Math.abs(p.lng - lon) > 1e-6);
        })""",
        arg=before,
    )


def test_serviced_bin_turns_green(page: Any, server: FleetServer, devices: dict[str, str]) -> None:
    target = route_bins(server, BIN_TRUCK)[len(route_bins(server, BIN_TRUCK)) // 2]
    bin_id = target["bin_id"]
    open_map(page, server)
    before = page.evaluate("(id) => window.fleet.bins.byId.get(id).props.service_class", bin_id)
    assert before == "never"
    post_fixes(server, devices[BIN_TRUCK], approach_and_stop(server, BIN_TRUCK, target))
    page.wait_for_function(
        "(id) => window.fleet.bins.byId.get(id).props.service_class === 'today'", arg=bin_id
    )
    fill = page.evaluate("(id) => window.fleet.bins.byId.get(id).marker.options.fillColor", bin_id)
    assert fill == TODAY_GREEN
    page.wait_for_function(
        "(id) => document.querySelector('.truck-code')?.textContent === id", arg=BIN_TRUCK
    )


def test_arrival_panel_answers_for_a_searched_kelurahan(page: Any, server: FleetServer) -> None:
    open_map(page, server)
    assert page.locator("#eta-result").inner_text() == ""
    page.fill("#place-q", "Oeb")
    first = page.locator("#place-list li[role=option]").first
    first.wait_for()
    assert "oeb" in first.inner_text().lower()
    first.click()
    route = page.locator("#eta-result .eta-route")
    route.wait_for()
    names = {
        f["properties"]["name"]
        for f in requests.get(f"{server.url}/api/v1/routes").json()["features"]
    }
    assert any(name in route.inner_text() for name in names)
    page.click("#eta-clear")
    page.wait_for_function("document.getElementById('eta-result').textContent === ''")


def test_language_switch_to_english(page: Any, server: FleetServer) -> None:
    open_map(page, server)
    toggle = page.locator("#panel-toggle")
    assert toggle.inner_text() == "Kapan truk datang?"
    page.click("[data-lang=en]")
    page.wait_for_function(
        "document.getElementById('panel-toggle').textContent.trim() === 'When does the truck come?'"
    )
    assert page.get_attribute("[data-lang=en]", "aria-pressed") == "true"
    assert "Kupang" in page.title()
    page.click("[data-lang=id]")
    page.wait_for_function(
        "document.getElementById('panel-toggle').textContent.trim() === 'Kapan truk datang?'"
    )


def test_offline_banner_and_reconnect(page: Any, server: FleetServer) -> None:
    sent: list[str | bytes] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    open_map(page, server)
    # A server that dies during the polling-to-websocket upgrade is only noticed at the
    # ping timeout (~45 s): stop it once the upgrade ("5") has gone out.
    for _ in range(100):
        if "5" in sent:
            break
        page.wait_for_timeout(100)
    assert "5" in sent, f"no websocket upgrade: {sent}"
    assert page.locator("#conn").is_hidden()
    server.terminate()
    page.wait_for_selector("#conn.conn-lost", state="visible")
    assert page.evaluate("document.body.classList.contains('disconnected')")
    server.start()
    page.wait_for_selector("#conn.conn-back", state="visible", timeout=30_000)
    page.wait_for_selector("#conn", state="hidden", timeout=10_000)
    assert not page.evaluate("document.body.classList.contains('disconnected')")


def test_dashboard_login_routes_and_alerts(
    page: Any, server: FleetServer, devices: dict[str, str]
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/dispatch")
    assert "/login" in page.url
    page.fill("#username", DISPATCHER[0])
    page.fill("#password", DISPATCHER[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/dispatch")
    page.wait_for_function(
        "document.querySelectorAll('#route-table tbody tr[data-route]').length === 50"
    )
    page.click("#tabbtn-alerts")
    alert = page.locator("#alerts li[data-id]")
    alert.wait_for()
    assert page.locator("#alert-badge").inner_text() == "1"
    page.click("button[data-ack]")
    page.wait_for_selector("#alerts li[data-id]", state="detached")
    page.wait_for_selector("#alert-badge", state="hidden")
    stored = page.request.get(f"{server.url}/api/v1/dispatch/alerts").json()["alerts"]
    assert [a["acknowledged"] for a in stored] == [True]
    drive_off_route(server, devices[OFF_ROUTE_TRUCK])
    live = page.locator("#alerts li.kind-off_route")
    live.wait_for()
    assert OFF_ROUTE_TRUCK in live.inner_text()
    assert page.locator("#alert-badge").inner_text() == "1"


def drive_off_route(server: FleetServer, device: str) -> None:
    """Fixes on the truck's route, then several 400 m north of it: an off_route alert."""
    home = route_bins(server, OFF_ROUTE_TRUCK)[0]
    post_fixes(server, device, [(home["lon"], home["lat"], 0.0)] * 3, end_ago_s=120.0)
    away = [(home["lon"], home["lat"] + 0.0036 + 0.0002 * i, 3.0) for i in range(5)]
    post_fixes(server, device, away, step_s=20.0)
