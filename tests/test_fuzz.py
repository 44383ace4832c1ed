"""Fuzzing every documented operation (fleet/api/openapi.py) against the in-process app.

Schemathesis generates valid and invalid requests from the OpenAPI document. Whatever
comes in, the server must never answer 5xx, must answer only as documented (status,
content type, headers, body), and must never half-store a request: a refused request
leaves the pings as they were, an accepted one adds exactly what it reports.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func, select

from fleet.api.openapi import document
from fleet.api.osmand import PATHS as OSMAND_PATHS
from fleet.models import BinVisit, Ping
from fleet.ratelimit import RateLimiter
from fleet.runtime import get_runtime

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation and backend; with ~24 operations the module stays near a minute.
MAX_EXAMPLES = 12
RECENT_S = 7 * 86400
#: The requests that may store pings, when answered 200.
INGEST = {("/osmand", "GET"), ("/osmand", "POST"), ("/osmand", "PUT"), ("/api/v1/pings", "POST")}


def _fuzzable(doc: dict[str, Any]) -> list[str]:
    """Operations that take input; the input-free ones are checked in test_openapi.

    PUT /osmand is left out: it is POST's handler under another method.
    """
    return [
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if (op.get("parameters") or "requestBody" in op) and op["operationId"] != "osmand_put"
    ]


schema = schemathesis.openapi.from_dict(document()).include(operation_id=_fuzzable(document()))


def _served(app: Flask, path: str) -> bool:
    """Whether the app routes ``path`` (a document template) anywhere."""
    if path in OSMAND_PATHS:  # answered before Flask routes anything
        return True
    pattern = re.sub(r"\{[^/]+\}", "1", path)
    adapter = app.url_map.bind("localhost")
    return any(adapter.test(pattern, method=m) for m in ("GET", "POST"))


@pytest.fixture
def fuzzed_app(app: Flask) -> Flask:
    """The app without its rate limit: hundreds of requests from one device in seconds are
    the fuzzer's doing, and 429s would keep it from the decoders."""
    get_runtime(app).limiter = RateLimiter(rate_per_s=1e6, burst=10**6)
    return app


def _session_cookie(dispatcher: FlaskClient) -> str:
    """A signed-in dispatcher's session, so fuzzing reaches past the login check."""
    cookie = dispatcher.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _counts(app: Flask) -> tuple[int, int]:
    with get_runtime(app).db.read() as session:
        pings = session.scalar(select(func.count()).select_from(Ping)) or 0
        visits = session.scalar(select(func.count()).select_from(BinVisit)) or 0
    return pings, visits


def _with_device(value: object, device: str) -> object:
    """Half of the generated identifiers (by an even length) become the real device's.

    Deterministic in the generated value, so Hypothesis can still replay and shrink.
    """
    return device if isinstance(value, str | int) and len(str(value)) % 2 == 0 else value


def _recent(value: object) -> object:
    """Half of the generated epoch times (the even ones) move into the past week.

    Random epochs are nearly all before 2000 or in the future, which the server rightly
    refuses; these let some fixes through to snapping and storage.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return value
    return round(time.time()) - int(value) % RECENT_S if int(value) % 2 == 0 else value


def _steer(case: Any, device: str) -> None:
    """Let some ingest requests carry a registered device and a recent time."""
    fields = [f for f in (case.query, case.body) if isinstance(f, dict)]
    if isinstance(case.body, dict) and isinstance(case.body.get("location"), dict):
        fields.append(case.body["location"])
    if isinstance(case.body, list):
        fields.extend(item for item in case.body if isinstance(item, dict))
    for field in fields:
        for key in ("id", "deviceid", "device_id"):
            if key in field:
                field[key] = _with_device(field[key], device)
        for key in ("timestamp", "time"):
            if key in field:
                field[key] = _recent(field[key])


def _assert_no_partial_write(
    before: tuple[int, int], after: tuple[int, int], case: Any, response: Any
) -> None:
    """Only an accepted ingest request may add pings, and only as many as it says."""
    sent = (case.path, case.method.upper())
    if response.status_code != 200 or sent not in INGEST:
        assert after == before, f"{sent} got {response.status_code}; rows {before} -> {after}"
        return
    new_pings = after[0] - before[0]
    if case.path == "/api/v1/pings":
        assert new_pings == response.json()["stored"], "stored count differs from new rows"
    else:
        assert new_pings in (0, 1), f"one OsmAnd request stored {new_pings} pings"


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_fuzzed_requests_get_documented_answers_and_no_partial_writes(
    case: Any, fuzzed_app: Flask, device: str, request: pytest.FixtureRequest
) -> None:
    app = fuzzed_app
    if not _served(app, case.path):
        pytest.skip(f"{case.path} is documented but not served by this app")
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if case.path.startswith("/api/v1/dispatch/"):
        cookies["session"] = _session_cookie(request.getfixturevalue("dispatcher"))
    if case.path in ("/osmand", "/api/v1/pings"):
        _steer(case, device)
    if case.path == "/api/v1/pings":
        headers["Authorization"] = f"Bearer {device}"
    before = _counts(app)
    response = case.call(app=app, headers=headers, cookies=cookies)
    after = _counts(app)
    case.validate_response(response, checks=CHECKS)
    _assert_no_partial_write(before, after, case, response)


def test_nul_in_a_search_is_a_client_error(app: Flask) -> None:
    """Found by fuzzing: PostgreSQL refuses NUL in text, which once answered 500."""
    response = app.test_client().get("/api/v1/places?q=ab%00cd")
    assert response.status_code in (200, 400)
    assert response.is_json


def test_control_characters_in_a_truck_id_are_a_client_error(dispatcher: FlaskClient) -> None:
    """Found by fuzzing: the export file name carries the truck id into a header."""
    response = dispatcher.get("/api/v1/dispatch/history/KP-01%0A?format=csv")
    assert response.status_code in (400, 404)


def test_eta_far_from_kupang_is_not_found(app: Flask) -> None:
    """Found by fuzzing: a spot far outside the UTM zone had no distance to any route."""
    response = app.test_client().get("/api/v1/eta?lat=0.0&lon=24.0")
    assert response.status_code == 404
