"""The ``fleet`` command: serve, demo, database, reference data, devices and users."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from fleet.config import ConfigError

if TYPE_CHECKING:
    from flask import Flask

#: Commands that serve: gevent must patch the standard library before anything imports it.
SERVING = {"serve", "demo", "worker"}

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


def main() -> None:
    """Entry point of the ``fleet`` command."""
    if len(sys.argv) > 1 and sys.argv[1] in SERVING:
        from fleet.server import patch_for_gevent

        patch_for_gevent()
    cli()


@click.group()
def cli() -> None:
    """Kupang Fleet: live garbage-truck tracking and bin coverage for Kota Kupang."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--osmand-port", type=int, default=None, help="Also listen here, every path OsmAnd.")
@click.option("--no-load", is_flag=True, help="Do not load reference data into an empty database.")
@click.option("--no-worker", is_flag=True, help="Leave processing to `fleet worker` processes.")
@click.option(
    "--inline-worker", is_flag=True, help="Process pings in the server process (one core)."
)
@clean_errors
def serve(
    host: str,
    port: int,
    osmand_port: int | None,
    no_load: bool,
    no_worker: bool,
    inline_worker: bool,
) -> None:
    """Run the service; pings are processed in a child process unless told otherwise."""
    from fleet.server import patch_for_gevent

    mode = patch_for_gevent()
    from fleet.bootstrap import prepare
    from fleet.server import run

    app = make_app(ASYNC_MODE=mode)
    prepare(app, load_reference=False if no_load else None)
    worker = "none" if no_worker else "inline" if inline_worker else "process"
    run(app, host=host, port=port, osmand_port=osmand_port, worker=worker)


@cli.command()
@click.option("--report", is_flag=True, help="Report results on stdout (the server's child).")
@clean_errors
def worker(report: bool) -> None:
    """Snap, count and broadcast queued pings, for servers started with --no-worker.

    Live updates reach the servers' clients through FLEET_MESSAGE_QUEUE (Redis).
    """
    from fleet.server import patch_for_gevent

    mode = patch_for_gevent()
    from fleet.runtime import get_runtime, start_flusher

    app = make_app(ASYNC_MODE=mode)
    if report:
        from fleet.worker_process import report_forever

        report_forever(app)
        return
    if not app.config["MESSAGE_QUEUE"]:
        click.echo(
            "fleet: no FLEET_MESSAGE_QUEUE: live updates from this worker reach nobody", err=True
        )
    runtime = get_runtime(app)
    start_flusher(app)
    runtime.worker.started = True
    with app.app_context():
        runtime.worker.run_forever()


@cli.command()
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


@cli.group()
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


@db.command("maintain")
@click.option("--ahead-days", default=7, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--archive",
    "archive_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each day of pings to DIR/pings-YYYY-MM-DD.csv before removing it.",
)
@clean_errors
def db_maintain(ahead_days: int, archive_dir: Path | None) -> None:
    """Create ping partitions ahead; remove pings older than FLEET_RETENTION_DAYS."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from fleet.retention import maintain
    from fleet.runtime import get_runtime

    app = make_app()
    report = maintain(
        get_runtime(app).db,
        datetime.now(UTC),
        ZoneInfo(app.config["LOCAL_TZ"]),
        retention_days=app.config["RETENTION_DAYS"],
        ahead_days=ahead_days,
        archive_dir=archive_dir,
    )
    for line in report.lines():
        click.echo(line)


@cli.group()
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


@cli.group()
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


@cli.group()
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
    from sqlalchemy.exc import IntegrityError

    try:
        with get_runtime(app).db.write() as session:
            add_user(session, name, password, role)
    except ValueError as exc:
        click.echo(f"fleet: {exc}", err=True)
        sys.exit(1)
    except IntegrityError:
        click.echo(f"fleet: user {name!r} exists already", err=True)
        sys.exit(1)
    click.echo(f"user {name} ({role}) created")


@cli.command()
@click.argument("base_url", default="http://127.0.0.1:5000")
@click.option("--scenario", default="normal", show_default=True, help="See --list.")
@click.option("--speedup", default=60.0, show_default=True, type=float)
@click.option("--trucks", default=None, help="Comma-separated fleet codes (default all).")
@click.option(
    "--devices",
    "devices_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON {truck: device identifier}; default: register devices here.",
)
@click.option("--mid-shift", is_flag=True, help="Start now with trucks spread along routes.")
@click.option("--list", "list_only", is_flag=True, help="List the scenarios and exit.")
@clean_errors
def simulate(
    base_url: str,
    scenario: str,
    speedup: float,
    trucks: str | None,
    devices_file: Path | None,
    mid_shift: bool,
    list_only: bool,
) -> None:
    """Drive simulated trucks against a server at BASE_URL with the real device protocols."""
    import json

    from fleet.scenarios import SCENARIOS

    if list_only or scenario not in SCENARIOS:
        for name, text in SCENARIOS.items():
            click.echo(f"{name:14} {text}")
        if not list_only:
            sys.exit(2)
        return
    from fleet.demo import demo_devices
    from fleet.simrun import load_reference, run_simulation

    app = make_app()
    routes, bins, sites = load_reference(app.config["ROUTES_DATA"])
    chosen = trucks.split(",") if trucks else [r.truck_id for r in routes]
    if devices_file is not None:
        devices = json.loads(devices_file.read_text())
    else:
        devices = demo_devices(app, chosen)
    summary = run_simulation(
        base_url.rstrip("/"),
        routes,
        bins,
        sites,
        scenario=scenario,
        speedup=speedup,
        trucks=chosen,
        device_ids=devices,
        mid_shift=mid_shift,
        wall_timestamps=mid_shift,
    )
    click.echo(summary.table())


@cli.command()
@click.argument("routes", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("traces", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--route-id", default=None, help="Route of a GPX trace without one.")
def snap(routes: Path, traces: Path, out: Path | None, route_id: str | None) -> None:
    """Snap TRACES (CSV or GPX) onto ROUTES (any GIS file with route_id); write a CSV."""
    from fleet.snap_files import snap_files

    target = out or traces.with_name(traces.stem + "-snapped.csv")
    rows = snap_files(routes, traces, target, route_id=route_id)
    click.echo(f"{rows} fixes snapped -> {target}")


@cli.group()
def report() -> None:
    """Reports."""


@report.command("coverage")
@click.option("--date", "day", default=None, help="YYYY-MM-DD in WITA (default today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@clean_errors
def report_coverage(day: str | None, fmt: str) -> None:
    """Bins scheduled, serviced, passed and missed per route, kecamatan and city."""
    import json
    from datetime import UTC, date, datetime

    from fleet.runtime import get_runtime
    from fleet.store.coverage import coverage_day, coverage_json, trips_on

    app = make_app()
    runtime = get_runtime(app)
    reference = runtime.reference.get()
    try:
        when = date.fromisoformat(day) if day else datetime.now(reference.tz).date()
    except ValueError:
        click.echo("fleet: --date: expected YYYY-MM-DD", err=True)
        sys.exit(2)
    with runtime.db.read() as session:
        body = coverage_json(
            coverage_day(session, reference, when, datetime.now(UTC)), trips_on(session, when)
        )
    if fmt == "json":
        click.echo(json.dumps(body, indent=1))
        return
    _print_coverage(body, csv_out=fmt == "csv")


@report.command("recompute")
@click.option("--date", "day", required=True, help="YYYY-MM-DD in WITA.")
@clean_errors
def report_recompute(day: str) -> None:
    """Recompute a day's bin visits from its stored pings (after corrections)."""
    from datetime import date

    from fleet.recompute import recompute_day
    from fleet.runtime import get_runtime

    app = make_app()
    runtime = get_runtime(app)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        click.echo("fleet: --date: expected YYYY-MM-DD", err=True)
        sys.exit(2)
    with runtime.db.write() as session:
        counts = recompute_day(session, runtime.reference.get(), when)
    click.echo(f"{when}: {counts['serviced']} serviced, {counts['passed']} passed")


def _print_coverage(body: dict[str, Any], *, csv_out: bool) -> None:
    cols = ["scheduled", "serviced", "passed", "missed", "pending", "coverage_pct"]
    rows = [(r["route_id"], r) for r in body["routes"]]
    rows += [(k["kecamatan"], k) for k in body["kecamatan"]] + [("city", body["city"])]
    if csv_out:
        click.echo(",".join(["name", *cols]))
        for name, r in rows:
            click.echo(",".join([name, *(str(r[c]) for c in cols)]))
        return
    click.echo(f"coverage {body['date']} (WITA)")
    click.echo(f"{'':14}" + "".join(f"{c:>13}" for c in cols))
    for name, r in rows:
        click.echo(f"{name:14}" + "".join(f"{'-' if r[c] is None else r[c]:>13}" for c in cols))
    trips = body["trips"]
    click.echo(f"disposal trips {trips['total']}, TPA Alak {trips['landfill_pct']}% (target 15%)")


if __name__ == "__main__":
    main()
