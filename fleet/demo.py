"""``fleet demo``: the service on Kupang's data with 50 simulated trucks, for newcomers.

The simulated phones post over HTTP to the server in this same process, with the real
protocols, so what a newcomer sees is the real path of a ping. Trucks start mid-shift,
spread along their routes, and the shift filter is off, so the map fills at once
whatever the hour in Kupang.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any

import requests
from flask import Flask

__all__ = ["run_demo", "demo_devices"]

DISPATCHER = "dispatcher"


def demo_devices(app: Flask, truck_ids: list[str]) -> dict[str, str]:
    """One device per truck, kept in the instance folder so restarts reuse them."""
    from fleet.runtime import get_runtime
    from fleet.store.devices import add_device, find_device

    path = Path(app.instance_path) / "demo_devices.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    db = get_runtime(app).db
    with db.write() as session:
        for truck in truck_ids:
            ident = known.get(truck)
            if ident is None or find_device(session, ident) is None:
                known[truck] = add_device(session, truck)
    path.write_text(json.dumps(known, indent=1))
    path.chmod(0o600)
    return known


def demo_login(app: Flask) -> str:
    """A dispatcher account for the demo; its password is kept in the instance folder."""
    from sqlalchemy import select

    from fleet.models import User
    from fleet.runtime import get_runtime
    from fleet.store.users import add_user

    path = Path(app.instance_path) / "demo_login.txt"
    with get_runtime(app).db.write() as session:
        exists = session.scalar(select(User.id).where(User.username == DISPATCHER))
        if exists is None or not path.exists():
            password = secrets.token_urlsafe(9)
            if exists is None:
                add_user(session, DISPATCHER, password, "admin")
            else:
                from werkzeug.security import generate_password_hash

                user = session.get(User, exists)
                assert user is not None
                user.password_hash = generate_password_hash(password)
            path.write_text(password)
            path.chmod(0o600)
    return path.read_text().strip()


def _wait_until_up(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/config", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)


def _simulate_forever(app: Flask, url: str, devices: dict[str, str], speedup: float) -> None:
    from fleet.simrun import load_reference, run_simulation

    routes, bins, sites = load_reference(app.config["ROUTES_DATA"])
    _wait_until_up(url)
    while True:
        run_simulation(
            url,
            routes,
            bins,
            sites,
            speedup=speedup,
            device_ids=devices,
            trucks=list(devices),
            mid_shift=True,
            wall_timestamps=True,
            progress=False,
        )


def run_demo(*, host: str, port: int, trucks: int, speedup: float, browser: bool) -> None:
    """Serve on ``host:port`` with ``trucks`` simulated trucks until interrupted."""
    from fleet.server import patch_for_gevent

    mode = patch_for_gevent()
    from fleet import create_app
    from fleet.bootstrap import prepare
    from fleet.server import run

    overrides: dict[str, Any] = {"ASYNC_MODE": mode, "HIDE_OFF_SHIFT": False}
    app = create_app(overrides)
    prepare(app, load_reference=True)
    reference = _reference_trucks(app)[:trucks]
    devices = demo_devices(app, reference)
    password = demo_login(app)
    url = f"http://{host}:{port}"
    print(f"Kupang Fleet demo: {len(devices)} simulated trucks")
    print(f"  public map:  {url}/")
    print(f"  dashboard:   {url}/dispatch  (user {DISPATCHER}, password {password})")
    print(f"  devices:     {url}/osmand  and  {url}/api/v1/pings")
    worker = threading.Thread(
        target=_simulate_forever, args=(app, url, devices, speedup), daemon=True, name="sim"
    )
    worker.start()
    if browser:
        threading.Timer(1.5, webbrowser.open, args=(f"{url}/",)).start()
    run(app, host=host, port=port)


def _reference_trucks(app: Flask) -> list[str]:
    from fleet.runtime import get_runtime

    routes = get_runtime(app).reference.get().routes.values()
    return sorted(r.truck_id for r in routes if r.truck_id)
