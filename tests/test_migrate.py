"""Migrations build the same schema on SQLite and PostgreSQL, PostGIS on PostgreSQL only,
and retention (``fleet db maintain``) removes old pings and nothing else.

PostgreSQL tests run on a database of their own (``fleet_migrate_<pid>``), never the
shared ``test`` one: they create and drop partitions, which would surprise other runs.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyproj import Transformer
from serverproc import PG_ADMIN_URL, postgres_database
from sqlalchemy import create_engine, inspect, text

from fleet import create_app, migrate
from fleet.models import Base
from fleet.retention import maintain
from fleet.runtime import get_runtime
from fleet.store.devices import add_device

WITA = ZoneInfo("Asia/Makassar")
SPATIAL = {
    "routes": "LINESTRING",
    "streets": "LINESTRING",
    "kecamatan": "MULTIPOLYGON",
    "kelurahan": "MULTIPOLYGON",
    "sites": "MULTIPOLYGON",
    "bins": "POINT",
    "pings": "POINT",
    "truck_state": "POINT",
}
LIVE_TABLES = ("alerts", "bin_visits", "site_visits", "pings", "truck_state", "devices", "users")
KEPT_TABLES = ("devices", "truck_state", "bin_visits", "route_days", "site_visits", "alerts")


def _postgres_or_skip() -> None:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means the server is not usable here
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {str(exc).splitlines()[0]}")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A prepared database of this run's own, dropped afterwards."""
    _postgres_or_skip()
    name = f"fleet_migrate_{os.getpid()}"
    url = postgres_database(name)
    yield url
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a prepared database with no pings, visits or devices."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "fleet.sqlite3")
        url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(LIVE_TABLES)} RESTART IDENTITY CASCADE"))
        engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "DEVICE_RATE": 1e6}
    )
    yield app
    get_runtime(app).db.engine.dispose()


def test_sqlite_gets_the_models_schema_and_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    for name, table in Base.metadata.tables.items():  # the models' indexes, every one
        migrated = {i["name"] for i in inspect(engine).get_indexes(name)}
        assert {i.name for i in table.indexes} <= migrated, name
    assert "geom" not in {c["name"] for c in inspect(engine).get_columns("bins")}
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == _head()
    engine.dispose()


def test_postgres_has_postgis_layers_with_spatial_indexes(pg_url: str) -> None:
    engine = create_engine(pg_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        layers = dict(
            conn.execute(
                text(
                    "SELECT f_table_name, type FROM geometry_columns"
                    " WHERE f_geometry_column = 'geom' AND srid = 4326"
                )
            ).all()
        )
        gist = set(
            conn.execute(
                text("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%'")
            ).scalars()
        )
        partitioned = conn.execute(
            text("SELECT relkind FROM pg_class WHERE oid = 'pings'::regclass")
        ).scalar()
        missing = conn.execute(
            text("SELECT count(*) FROM routes WHERE geom IS NULL OR NOT ST_IsValid(geom)")
        ).scalar()
    engine.dispose()
    assert {t: layers.get(t) for t in SPATIAL} == SPATIAL
    assert set(SPATIAL) <= gist
    assert partitioned == "p"
    assert missing == 0


def test_bins_within_a_distance_agree_with_utm_measurement(pg_url: str) -> None:
    """What a GIS user asks with ST_DWithin matches our own metric geometry (UTM 51S)."""
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, lon, lat FROM bins ORDER BY id")).all()
        centre = rows[len(rows) // 2]
        found = set(
            conn.execute(
                text(
                    "SELECT b.id FROM bins b WHERE ST_DWithin(ST_Transform(b.geom, 32751),"
                    " ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 32751), 400)"
                ),
                {"lon": centre.lon, "lat": centre.lat},
            ).scalars()
        )
    engine.dispose()
    to_utm = Transformer.from_crs(4326, 32751, always_xy=True)
    x, y = to_utm.transform([r.lon for r in rows], [r.lat for r in rows])
    cx, cy = to_utm.transform(centre.lon, centre.lat)
    near = np.hypot(np.asarray(x) - cx, np.asarray(y) - cy) <= 400
    assert found == {r.id for r, keep in zip(rows, near, strict=True) if keep}
    assert 1 < len(found) < len(rows)


def test_duplicate_fixes_are_skipped_on_the_partitioned_table(fresh_app: Flask) -> None:
    client = fresh_app.test_client()
    device = _device(fresh_app)
    now = datetime.now(UTC).replace(microsecond=0)
    days = [now - timedelta(days=3), now]
    fixes = [_fix(t + timedelta(seconds=s)) for t in days for s in range(0, 50, 5)]
    assert _post(client, device, fixes)["stored"] == len(fixes)
    again = _post(client, device, fixes)
    assert (again["stored"], again["duplicates"]) == (0, len(fixes))
    assert _count(fresh_app, "SELECT count(*) FROM pings") == len(fixes)


def test_retention_removes_old_days_and_nothing_else(fresh_app: Flask, tmp_path: Path) -> None:
    client = fresh_app.test_client()
    device = _device(fresh_app)
    now = datetime.now(UTC)
    today = now.astimezone(WITA).date()
    ages = (100, 91, 90, 89, 1)
    fixes = {age: _day_of_fixes(today - timedelta(days=age)) for age in ages}
    for day_fixes in fixes.values():
        assert _post(client, device, day_fixes)["stored"] == len(day_fixes)
    kept_before = _counts(fresh_app, KEPT_TABLES)
    db = get_runtime(fresh_app).db

    first = maintain(db, now, WITA, retention_days=90, ahead_days=2, archive_dir=tmp_path)
    assert _stored_times(fresh_app) == _times(fixes, 90, 89, 1)
    assert _archived_times(first.archived) == _times(fixes, 100, 91)
    if db.is_sqlite:
        assert first.created == () and first.dropped == ()
    else:
        created = {today + timedelta(days=n) for n in (-90, -89, -1, 0, 1, 2)}
        assert set(first.created) == {f"pings_p{d:%Y%m%d}" for d in created}
        assert _count(fresh_app, "SELECT count(*) FROM pings_default") == 0

    later = maintain(db, now + timedelta(days=2), WITA, retention_days=90, archive_dir=tmp_path)
    assert _stored_times(fresh_app) == _times(fixes, 1)
    assert _archived_times(later.archived) == _times(fixes, 90, 89)
    if not db.is_sqlite:
        gone = {today - timedelta(days=n) for n in (90, 89)}
        assert set(later.dropped) == {f"pings_p{d:%Y%m%d}" for d in gone}
    assert _counts(fresh_app, KEPT_TABLES) == kept_before
    assert _post(client, device, fixes[1])["duplicates"] == len(fixes[1])


def test_retention_takes_unprocessed_old_pings_off_the_queue(fresh_app: Flask) -> None:
    """A worker that was down past the retention period: the old pings go, and so do
    their queue rows (a queue row without its ping would wait forever); the rest is
    processed when the worker returns."""
    client = fresh_app.test_client()
    device = _device(fresh_app)
    runtime = get_runtime(fresh_app)
    runtime.worker.external = True  # nothing processes while the pings arrive
    now = datetime.now(UTC)
    today = now.astimezone(WITA).date()
    old, recent = (_day_of_fixes(today - timedelta(days=age)) for age in (91, 1))
    for day_fixes in (old, recent):
        assert _post(client, device, day_fixes)["stored"] == len(day_fixes)
    assert _count(fresh_app, "SELECT count(*) FROM pending_pings") == len(old) + len(recent)
    # Two days earlier nothing is old enough; on PostgreSQL each day gets its partition,
    # so the run after drops a whole partition rather than deleting rows.
    earlier = maintain(runtime.db, now - timedelta(days=2), WITA, retention_days=90, ahead_days=0)
    assert earlier.deleted_rows == 0
    maintain(runtime.db, now, WITA, retention_days=90, ahead_days=0)
    assert _count(fresh_app, "SELECT count(*) FROM pending_pings") == len(recent)
    runtime.worker.external = False
    assert runtime.worker.drain() == len(recent)
    assert _count(fresh_app, "SELECT count(*) FROM pending_pings") == 0


def test_retention_zero_keeps_everything(fresh_app: Flask) -> None:
    client = fresh_app.test_client()
    device = _device(fresh_app)
    now = datetime.now(UTC)
    old = _day_of_fixes(now.astimezone(WITA).date() - timedelta(days=4000))
    _post(client, device, old)
    report = maintain(get_runtime(fresh_app).db, now, WITA, retention_days=0, ahead_days=0)
    assert report.dropped == () and report.deleted_rows == 0
    assert len(_stored_times(fresh_app)) == len(old)


def _head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _device(app: Flask) -> str:
    with get_runtime(app).db.write() as session:
        return add_device(session, "KP-01")


def _fix(moment: datetime) -> dict[str, object]:
    return {"time": moment.isoformat(), "lat": -10.1700, "lon": 123.6000, "speed_mps": 0.0}


def _day_of_fixes(day: date) -> list[dict[str, object]]:
    """Ten fixes of a local day, from 06:00 WITA (a morning shift) to just before midnight."""
    start = datetime.combine(day, time(6), WITA)
    return [_fix(start + timedelta(minutes=107 * n)) for n in range(10)]


def _post(client: FlaskClient, device: str, fixes: list[dict[str, object]]) -> dict[str, int]:
    response = client.post(
        "/api/v1/pings", json=fixes, headers={"Authorization": f"Bearer {device}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, int] = response.get_json()
    return body


def _times(fixes: dict[int, list[dict[str, object]]], *ages: int) -> set[datetime]:
    return {datetime.fromisoformat(str(f["time"])).astimezone(UTC) for a in ages for f in fixes[a]}


def _stored_times(app: Flask) -> set[datetime]:
    from sqlalchemy import select

    from fleet.models import Ping

    with get_runtime(app).db.read() as session:
        return set(session.scalars(select(Ping.fix_time)))


def _archived_times(paths: tuple[Path, ...]) -> set[datetime]:
    out: set[datetime] = set()
    for path in paths:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                value = datetime.fromisoformat(row["fix_time"].replace(" ", "T"))
                out.add(value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC))
    return out


def _count(app: Flask, query: str) -> int:
    with get_runtime(app).db.read() as session:
        return int(session.execute(text(query)).scalar_one())


def _counts(app: Flask, tables: tuple[str, ...]) -> dict[str, int]:
    return {t: _count(app, f"SELECT count(*) FROM {t}") for t in tables}
