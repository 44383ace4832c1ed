"""Fixtures: a fresh app per test on a real database, SQLite and PostgreSQL both.

The schema and reference layers are built once per backend per session; each test then
gets a copy (SQLite) or emptied live tables (PostgreSQL), so it starts from a city with
routes and bins but no devices, pings or visits.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from fleet import create_app
from fleet.bootstrap import prepare
from fleet.runtime import get_runtime

PG_URL = os.environ.get("FLEET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ON_CI = bool(os.environ.get("CI"))
LIVE_TABLES = (
    "alerts",
    "bin_visits",
    "site_visits",
    "route_days",
    "pending_pings",
    "pings",
    "truck_state",
    "devices",
    "users",
)
BACKENDS = ("sqlite", "postgresql")


def app_config(url: str, **extra: Any) -> dict[str, Any]:
    return {"DATABASE_URL": url, "SECRET_KEY": "test-secret", "TESTING": True, **extra}


def make_app(url: str, **extra: Any) -> Flask:
    return create_app(app_config(url, **extra))


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means the server is not usable for tests
        return str(exc).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "fleet.sqlite3"
    app = make_app(f"sqlite:///{path}")
    prepare(app)
    get_runtime(app).db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The ``test`` database, in a schema of this run's own, so that test runs at the
    same time (several developers, or a developer beside CI) never reset each other."""
    problem = _postgres_problem()
    if problem is not None:
        message = f"PostgreSQL at {PG_URL} is not reachable: {problem}"
        print(f"\n{'!' * 70}\n{message}\n{'!' * 70}")
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"fleet_test_{os.getpid()}"
    admin = create_engine(PG_URL, pool_pre_ping=True)
    with admin.begin() as conn:
        try:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))
        except Exception:  # another run created it at the same moment
            pass
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema},public"
    app = make_app(url)
    prepare(app)
    get_runtime(app).db.engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _fresh_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(LIVE_TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with schema and reference data, and nothing else, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "fleet.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _fresh_postgres(url)
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = make_app(database_url)
    yield app
    get_runtime(app).db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def device(app: Flask) -> str:
    """A registered device's identifier for truck KP-01."""
    from fleet.store.devices import add_device

    with get_runtime(app).db.write() as session:
        return add_device(session, "KP-01")


def login(client: FlaskClient, username: str, password: str) -> Any:
    """Sign in through the real form, CSRF token included."""
    import re

    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "login form has no CSRF token"
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
    )


@pytest.fixture
def dispatcher(app: Flask) -> FlaskClient:
    """A test client signed in as a dispatcher."""
    from fleet.store.users import add_user

    with get_runtime(app).db.write() as session:
        add_user(session, "rina", "sampah-bersih-1", "dispatcher")
    client = app.test_client()
    response = login(client, "rina", "sampah-bersih-1")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
