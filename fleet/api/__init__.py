"""HTTP and Socket.IO interfaces: blueprints hold HTTP concerns only."""

from __future__ import annotations

from flask import Flask

__all__ = ["register"]


def register(app: Flask) -> None:
    from fleet.api import errors, ingest, public

    errors.register(app)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(public.bp)
