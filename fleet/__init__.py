"""Kupang Fleet: live tracking and bin coverage for Kota Kupang's garbage trucks."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from fleet.config import PROJECT_ROOT, load_settings

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, then extensions, then blueprints. No work at import time."""
    settings = load_settings(overrides=config)
    instance = settings["INSTANCE_PATH"]
    app = Flask(
        __name__,
        instance_path=str(Path(instance).resolve()) if instance else None,
        instance_relative_config=True,
        static_folder=str(PROJECT_ROOT / "static"),
        static_url_path="/static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    settings["DATABASE_URL"] = settings["DATABASE_URL"] or _default_database(app)
    settings["SECRET_KEY"] = settings["SECRET_KEY"] or _instance_secret(app)
    app.config.update(settings)
    app.config["WTF_CSRF_TIME_LIMIT"] = None

    from fleet import api, runtime

    runtime.init_app(app)
    api.register(app)
    return app


def _default_database(app: Flask) -> str:
    return f"sqlite:///{Path(app.instance_path) / 'fleet.sqlite3'}"


def _instance_secret(app: Flask) -> str:
    """A random key kept beside the database, so sessions survive restarts."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
