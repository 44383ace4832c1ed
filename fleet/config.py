"""Settings: defaults, then ``FLEET_*`` environment variables, then explicit overrides.

Every setting is parsed and checked here, once, so that a malformed value stops start-up
with one line naming the variable instead of failing later inside a request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["ConfigError", "SETTINGS", "load_settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting that cannot be used; the message starts with the variable's name."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("expected a positive number")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("expected a positive whole number")
    return value


def _whole_number(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number, 0 or more")
    return value


def _zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("unknown time zone") from exc
    return raw


def _text(raw: str) -> str:
    return raw


def _optional_text(raw: str) -> str | None:
    return raw or None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "INSTANCE_PATH",
        None,
        _optional_text,
        "folder for the default SQLite file, the secret key and the demo's devices and login;"
        " default instance/ beside the package",
    ),
    Setting(
        "DATABASE_URL", None, _text, "SQLAlchemy URL; default an SQLite file in the instance folder"
    ),
    Setting(
        "SECRET_KEY",
        None,
        _text,
        "session signing key; default a random key kept in the instance folder",
    ),
    Setting(
        "MESSAGE_QUEUE",
        None,
        _optional_text,
        "redis:// URL of the Socket.IO message queue (several processes)",
    ),
    Setting(
        "MESSAGE_CHANNEL",
        "flask-socketio",
        _text,
        "queue channel; processes of one deployment share it, other deployments differ",
    ),
    Setting(
        "ROUTES_DATA",
        str(PROJECT_ROOT / "routes_data"),
        _text,
        "folder of reference layers loaded into an empty database",
    ),
    Setting("LOAD_REFERENCE", True, _bool, "load ROUTES_DATA into an empty database at start-up"),
    Setting(
        "LOCAL_TZ",
        "Asia/Makassar",
        _zone,
        "zone for timestamps sent without one, and for report dates",
    ),
    Setting(
        "MAX_FUTURE_S",
        300.0,
        _positive_float,
        "how far ahead of the server clock a fix time may be",
    ),
    Setting("MAX_SPEED_MPS", 70.0, _positive_float, "fastest plausible reported speed"),
    Setting("MAX_BATCH", 1000, _positive_int, "most fixes in one POST /api/v1/pings"),
    Setting(
        "MAX_CONTENT_LENGTH",
        2 * 1024 * 1024,
        _positive_int,
        "largest request body in bytes (413 beyond)",
    ),
    Setting(
        "DEVICE_RATE",
        20.0,
        _positive_float,
        "requests per second one device may sustain (429 beyond)",
    ),
    Setting(
        "DEVICE_BURST",
        200,
        _positive_int,
        "requests one device may send at once before the rate applies",
    ),
    Setting(
        "OFF_ROUTE_M",
        50.0,
        _positive_float,
        "distance from the route beyond which fixes count as off route",
    ),
    Setting(
        "OFF_ROUTE_FIXES", 3, _positive_int, "consecutive far fixes before a truck is off route"
    ),
    Setting("BIN_RADIUS_M", 25.0, _positive_float, "how close a truck must come to service a bin"),
    Setting(
        "ONLINE_S",
        120.0,
        _positive_float,
        "a device is online while its last fix is younger than this",
    ),
    Setting(
        "OFFLINE_S",
        600.0,
        _positive_float,
        "a device is offline after this long without any contact",
    ),
    Setting(
        "IDLE_S",
        900.0,
        _positive_float,
        "a truck standing still this long on shift raises an alert",
    ),
    Setting("BROADCAST_INTERVAL_S", 1.0, _positive_float, "how often live positions go out"),
    Setting(
        "HIDE_OFF_SHIFT",
        True,
        _bool,
        "hide trucks outside their route's shift window from the public",
    ),
    Setting(
        "TILE_URL",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        _text,
        "base-map tile URL template",
    ),
    Setting(
        "TILE_ATTRIBUTION",
        "© OpenStreetMap contributors",
        _text,
        "attribution shown with the tiles",
    ),
    Setting(
        "RETENTION_DAYS",
        90,
        _whole_number,
        "keep pings this many days before `fleet db maintain` drops them; 0 keeps all",
    ),
    Setting(
        "SQLITE_SYNCHRONOUS",
        "FULL",
        _text,
        "SQLite synchronous mode of acknowledged writes (FULL survives power loss);"
        " processing, redone if lost, commits with NORMAL",
    ),
)


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Resolve every setting; raise ConfigError naming the first bad ``FLEET_*`` variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(f"FLEET_{setting.name}")
        if raw is None:
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"FLEET_{setting.name}: {exc} (got {raw!r})") from None
    for key, value in (overrides or {}).items():
        values[key] = value
    if values["SQLITE_SYNCHRONOUS"].upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError("FLEET_SQLITE_SYNCHRONOUS: expected OFF, NORMAL, FULL or EXTRA")
    if values["ONLINE_S"] >= values["OFFLINE_S"]:
        raise ConfigError("FLEET_ONLINE_S: must be shorter than FLEET_OFFLINE_S")
    return values
