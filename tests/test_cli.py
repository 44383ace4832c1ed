"""The ``fleet`` command (fleet/cli.py) on a real database, as city IT staff would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from fleet.cli import cli
from fleet.models import BinSite, Device, Route, User


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FLEET_DATABASE_URL", database_url)
    monkeypatch.setenv("FLEET_SECRET_KEY", "test-secret")
    return database_url


def _count(url: str, model: type) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return n


def test_device_add_prints_identifier_once_and_list_hides_it(env: str) -> None:
    runner = CliRunner()
    added = runner.invoke(cli, ["device", "add", "KP-07"])
    assert added.exit_code == 0, added.output
    identifier = added.output.strip()
    assert len(identifier) >= 20
    listed = runner.invoke(cli, ["device", "list"])
    assert "KP-07" in listed.output and identifier not in listed.output


def test_device_add_refuses_unknown_truck(env: str) -> None:
    result = CliRunner().invoke(cli, ["device", "add", "XX-99"])
    assert result.exit_code == 1 and "unknown truck" in result.output
    assert _count(env, Device) == 0


def test_user_add_stores_a_hash_not_the_password(env: str) -> None:
    result = CliRunner().invoke(
        cli, ["user", "add", "budi", "--role", "admin"], input="rahasia-123\nrahasia-123\n"
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(env)
    with engine.connect() as conn:
        row = conn.execute(select(User.role, User.password_hash)).one()
    engine.dispose()
    assert row.role == "admin" and "rahasia-123" not in row.password_hash


def test_data_load_is_idempotent(env: str) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["data", "load"])
        assert result.exit_code == 0, result.output
    assert _count(env, Route) == 50 and _count(env, BinSite) == 1347


def test_data_load_names_a_bad_feature(env: str, tmp_path: Path) -> None:
    source = Path(__file__).resolve().parent.parent / "routes_data"
    for layer in source.glob("*.geojson"):
        (tmp_path / layer.name).write_text(layer.read_text())
    bins = json.loads((tmp_path / "bins.geojson").read_text())
    bins["features"][3]["geometry"]["coordinates"] = [123.0, -9.0]
    (tmp_path / "bins.geojson").write_text(json.dumps(bins))
    result = CliRunner().invoke(cli, ["data", "load", str(tmp_path)])
    assert result.exit_code == 1
    assert bins["features"][3]["properties"]["bin_id"] in result.output


def test_report_coverage_prints_every_kecamatan(env: str) -> None:
    result = CliRunner().invoke(cli, ["report", "coverage", "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    for name in ("Alak", "Oebobo", "city"):
        assert name in result.output
    bad = CliRunner().invoke(cli, ["report", "coverage", "--date", "23/11"])
    assert bad.exit_code == 2
