"""HTTP and Socket.IO interfaces: blueprints hold HTTP concerns only."""

from __future__ import annotations

from flask import Flask

__all__ = ["register"]


def register(app: Flask) -> None:
    from fleet.api import auth, coverage, dispatch, errors, ingest, live, public

    errors.register(app)
    for module in (ingest, public, coverage, auth, dispatch):
        app.register_blueprint(module.bp)
    live.register()
