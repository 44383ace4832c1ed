"""The OpenAPI 3.1 document of the HTTP API, served at ``GET /api/v1/openapi.json``.

Written by hand beside the code rather than generated from it, so that it states the
contract a device author or map embedder may rely on, and tests hold the server to it
(``tests/test_openapi.py``, ``tests/test_fuzz.py``). OpenAPI cannot describe Socket.IO;
its namespaces, events and payloads are in the ``x-socketio`` extension.
"""

from __future__ import annotations

import copy

from flask import Blueprint, Response, jsonify

from fleet.api._openapi_bodies import SCHEMAS
from fleet.api._openapi_paths import PATHS
from fleet.api._openapi_schemas import GEOMETRIES, JSON, RESPONSES, SECURITY, array, obj, ref

__all__ = ["bp", "document"]

bp = Blueprint("openapi", __name__)

_DESCRIPTION = """\
Live positions of Kota Kupang's garbage trucks and the service of its bins.

Devices send fixes over the OsmAnd protocol (`/osmand`, also `/osmand/`, as Traccar's
apps do) or in batches (`POST /api/v1/pings`). Times are ISO-8601 with offset; dates are
local days in WITA (Asia/Makassar, UTC+8). GeoJSON is WGS84 in lon, lat order. Every
error is JSON `{"error", "field"?}`; 429 and 503 carry `Retry-After`.

Live updates use Socket.IO (path `/socket.io`; see `x-socketio`): namespace `/live`
for everyone (events `positions`, `bins`, `driven`) and `/dispatch` for signed-in
dispatchers (`positions`, `alert`, `coverage`). A client that joins gets `positions` at
once, then changes at most once per broadcast interval.
"""


def _socketio() -> JSON:
    """Namespaces, and for each event the schema of its payload."""
    trucks = obj(("trucks",), trucks=array(ref("TruckPosition")))
    return {
        "path": "/socket.io",
        "namespaces": {
            "/live": {
                "description": "Public; trucks outside their shift are left out.",
                "events": {
                    "positions": trucks,
                    "bins": obj(("bins",), bins=array(ref("BinUpdate"))),
                    "driven": ref("Driven"),
                },
            },
            "/dispatch": {
                "description": "Signed-in dispatchers only (session cookie); every truck.",
                "events": {
                    "positions": trucks,
                    "alert": ref("Alert"),
                    "coverage": obj(("routes",), routes=array(ref("RouteStatus"))),
                },
            },
        },
    }


def document() -> JSON:
    """The whole document, a fresh copy each call (test tools may change what they get)."""
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {"title": "Kupang Fleet", "version": "1", "description": _DESCRIPTION},
            "tags": [
                {"name": "devices", "description": "GPS trackers in the trucks"},
                {"name": "public", "description": "The residents' map and reports"},
                {"name": "dispatch", "description": "The dispatchers' dashboard"},
            ],
            "paths": PATHS,
            "components": {
                "schemas": GEOMETRIES | SCHEMAS,
                "responses": RESPONSES,
                "securitySchemes": SECURITY,
            },
            "x-socketio": _socketio(),
        }
    )


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    return jsonify(document())
