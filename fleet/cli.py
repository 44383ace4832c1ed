"""The ``fleet`` command: serve, demo, database, reference data, devices and users."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask

from fleet.config import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(func: F) -> F:
    """Turn a bad setting into one line on stderr and exit 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"fleet: configuration error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def make_app(**overrides: Any) -> Flask:
    from fleet import create_app

    return create_app(overrides or None)


@click.group()
def main() -> None:
    """Kupang Fleet: live garbage-truck tracking and bin coverage for Kota Kupang."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--osmand-port", type=int, default=None, help="Also listen here, every path OsmAnd.")
@click.option("--no-load", is_flag=True, help="Do not load reference data into an empty database.")
@clean_errors
def serve(host: str, port: int, osmand_port: int | None, no_load: bool) -> None:
    """Run the service."""
    from fleet.server import patch_for_gevent

    mode = patch_for_gevent()
    from fleet.bootstrap import prepare
    from fleet.server import run

    app = make_app(ASYNC_MODE=mode)
    prepare(app, load_reference=False if no_load else None)
    run(app, host=host, port=port, osmand_port=osmand_port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--trucks", default=50, show_default=True, type=int)
@click.option("--speedup", default=1.0, show_default=True, type=float)
@click.option("--no-browser", is_flag=True, help="Do not open the public map in a browser.")
@clean_errors
def demo(host: str, port: int, trucks: int, speedup: float, no_browser: bool) -> None:
    """Run the service on Kupang's reference data with simulated trucks."""
    from fleet.demo import run_demo

    run_demo(host=host, port=port, trucks=trucks, speedup=speedup, browser=not no_browser)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision."""
    from fleet import migrate
    from fleet.runtime import get_runtime

    app = make_app()
    migrate.upgrade(get_runtime(app).db.engine)
    click.echo("database schema is up to date")


@main.group()
def data() -> None:
    """Reference data: routes, bins, kecamatan, sites."""


@data.command("load")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@clean_errors
def data_load(directory: Path | None) -> None:
    """Load reference layers (GeoJSON, GeoPackage or Shapefile) into the database."""
    from fleet import migrate
    from fleet.bootstrap import load_reference_dir
    from fleet.reference import ReferenceDataError
    from fleet.runtime import get_runtime

    app = make_app()
    migrate.upgrade(get_runtime(app).db.engine)
    try:
        counts = load_reference_dir(app, directory or Path(app.config["ROUTES_DATA"]))
    except ReferenceDataError as exc:
        click.echo(f"fleet: {exc}", err=True)
        sys.exit(1)
    click.echo(", ".join(f"{n} {layer}" for layer, n in counts.items()))


@main.group()
def device() -> None:
    """Tracking devices."""


@device.command("add")
@click.argument("truck")
@clean_errors
def device_add(truck: str) -> None:
    """Register a device for TRUCK and print its identifier (shown only now)."""
    from fleet.runtime import get_runtime
    from fleet.store.devices import UnknownTruck, add_device

    app = make_app()
    try:
        with get_runtime(app).db.write() as session:
            identifier = add_device(session, truck)
    except UnknownTruck:
        click.echo(f"fleet: unknown truck {truck!r} (fleet codes look like KP-01)", err=True)
        sys.exit(1)
    click.echo(identifier)


@device.command("list")
@clean_errors
def device_list() -> None:
    """List devices: truck, enabled, last contact, last fix (identifiers stay hidden)."""
    from fleet.runtime import get_runtime
    from fleet.store.devices import list_devices

    app = make_app()
    with get_runtime(app).db.read() as session:
        for dev in list_devices(session):
            hint = dev.identifier[:4] + "…"
            contact = dev.last_contact_at.isoformat() if dev.last_contact_at else "never"
            fix = dev.last_fix_at.isoformat() if dev.last_fix_at else "never"
            state = "enabled" if dev.enabled else "disabled"
            click.echo(f"{dev.truck_id}\t{hint}\t{state}\tcontact {contact}\tfix {fix}")


@main.group()
def user() -> None:
    """Dispatcher accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["dispatcher", "admin"]), default="dispatcher")
@click.password_option()
@clean_errors
def user_add(name: str, role: str, password: str) -> None:
    """Create a dispatcher or admin account."""
    from fleet.runtime import get_runtime
    from fleet.store.users import add_user

    app = make_app()
    try:
        with get_runtime(app).db.write() as session:
            add_user(session, name, password, role)
    except ValueError as exc:
        click.echo(f"fleet: {exc}", err=True)
        sys.exit(1)
    click.echo(f"user {name} ({role}) created")


if __name__ == "__main__":
    main()
