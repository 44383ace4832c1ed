"""HTTP and Socket.IO interfaces: blueprints hold HTTP concerns only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from fleet.runtime import get_runtime

__all__ = ["register"]


def register(app: Flask) -> None:
    from fleet.api import auth, coverage, dispatch, errors, ingest, live, openapi, public
    from fleet.api.osmand import OsmAndEndpoint

    errors.register(app)
    for module in (ingest, public, coverage, auth, dispatch, openapi):
        app.register_blueprint(module.bp)
    live.register()
    app.wsgi_app = OsmAndEndpoint(app, app.wsgi_app)  # type: ignore[method-assign]

    def coverage_rows(route_ids: set[str]) -> list[dict[str, Any]]:
        with app.app_context():
            return dispatch.coverage_rows(route_ids)

    get_runtime(app).broadcaster.coverage_rows = coverage_rows
