"""Settings: defaults, FLEET_* variables, and one clear line for a bad value."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fleet.config import ConfigError, load_settings


def test_defaults_apply_without_environment() -> None:
    settings = load_settings({})
    assert settings["OFF_ROUTE_M"] == 50.0
    assert settings["BIN_RADIUS_M"] == 25.0
    assert settings["LOCAL_TZ"] == "Asia/Makassar"
    assert settings["MESSAGE_QUEUE"] is None


def test_environment_overrides_defaults() -> None:
    settings = load_settings({"FLEET_OFF_ROUTE_M": "80", "FLEET_HIDE_OFF_SHIFT": "no"})
    assert settings["OFF_ROUTE_M"] == 80.0
    assert settings["HIDE_OFF_SHIFT"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLEET_OFF_ROUTE_M", "fifty"),
        ("FLEET_OFF_ROUTE_M", "-3"),
        ("FLEET_MAX_BATCH", "1.5"),
        ("FLEET_HIDE_OFF_SHIFT", "maybe"),
        ("FLEET_LOCAL_TZ", "Mars/Olympus"),
    ],
)
def test_malformed_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}:"):
        load_settings({name: value})


def _fleet(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fleet.cli", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_setting_stops_startup_with_one_line(tmp_path: object) -> None:
    done = _fleet("db", "upgrade", env={"FLEET_BIN_RADIUS_M": "wide"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "FLEET_BIN_RADIUS_M" in lines[0]
    assert "Traceback" not in done.stderr


def test_unreachable_database_stops_startup_with_one_line() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    done = _fleet("db", "upgrade", env={"FLEET_DATABASE_URL": url, "FLEET_SECRET_KEY": "x"})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("fleet: configuration error: FLEET_DATABASE_URL")


def test_malformed_database_url_names_the_setting() -> None:
    done = _fleet("db", "upgrade", env={"FLEET_DATABASE_URL": "not a url", "FLEET_SECRET_KEY": "x"})
    assert done.returncode == 2
    assert "FLEET_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
