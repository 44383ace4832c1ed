"""The OpenAPI document (fleet/api/openapi.py): valid, complete, and true of the responses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from fleet.api.openapi import document
from fleet.api.osmand import METHODS as OSMAND_METHODS
from fleet.runtime import get_runtime
from fleet.store.alerts import raise_alert

DOC_URI = "urn:kupang-fleet:openapi"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
JSON = "application/json"
PUBLIC_GETS = (
    "/api/v1/config",
    "/api/v1/routes",
    "/api/v1/bins",
    "/api/v1/kecamatan",
    "/api/v1/kelurahan",
    "/api/v1/sites",
    "/api/v1/trucks",
    "/api/v1/places?q=ja",
    "/api/v1/places?q=x",
    "/api/v1/eta?lat={lat}&lon={lon}",
    "/api/v1/driven",
    "/api/v1/coverage",
    "/api/v1/openapi.json",
)
DISPATCHER_GETS = (
    "/api/v1/dispatch/session",
    "/api/v1/dispatch/routes",
    "/api/v1/dispatch/alerts",
    "/api/v1/dispatch/missed",
    "/api/v1/dispatch/history/KP-01",
    "/api/v1/dispatch/bins/{bin_id}/history",
)


def _template(path: str) -> str:
    """``/a/<int:x>/b/`` and ``/a/{y}/b`` both become ``/a/{}/b``: names may differ."""
    path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "{}", path)
    return re.sub(r"\{[^{}]*\}", "{}", path).rstrip("/") or "/"


def _served_operations(app: Flask) -> set[tuple[str, str]]:
    """Flask's routes under /api/v1/, and the OsmAnd endpoint that answers before Flask."""
    osmand = {("/osmand", method.lower()) for method in OSMAND_METHODS - IGNORED_METHODS}
    return osmand | {
        (_template(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - IGNORED_METHODS
    }


def _documented_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(_template(path), method) for path, item in doc["paths"].items() for method in item}


def _validator(doc: dict[str, Any], *pointer: str) -> Draft202012Validator:
    """Validates against the schema at ``pointer`` in the document, with its references."""
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    escaped = "/".join(p.replace("~", "~0").replace("/", "~1") for p in pointer)
    schema = {"$ref": f"{DOC_URI}#/{escaped}"}
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def _doc_path(doc: dict[str, Any], url: str) -> str:
    """The document's path template that a concrete URL falls under."""
    path = url.partition("?")[0]
    for template in doc["paths"]:
        parts = re.split(r"(\{[^/]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(pattern, path):
            return str(template)
    raise AssertionError(f"{path} is not in the document")


def _assert_documented(doc: dict[str, Any], url: str, body: Any, method: str = "get") -> None:
    """``body`` matches the JSON schema of the 200 response documented for ``url``."""
    pointer = ("paths", _doc_path(doc, url), method, "responses", "200", "content", JSON)
    validator = _validator(doc, *pointer, "schema")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors[:5]


@pytest.fixture
def live_city(app: Flask, client: FlaskClient, device: str) -> dict[str, Any]:
    """KP-01 has crept past its first installed bin, and an alert is open.

    Returns the bin's id and position, for URLs that need one.
    """
    app.config["HIDE_OFF_SHIFT"] = False
    reference = get_runtime(app).reference.get()
    route = reference.route_for_truck("KP-01")
    assert route is not None
    first = min(
        (b for b in reference.bins.values() if b.route_id == route.route_id),
        key=lambda b: (b.status != "installed", b.progress_m),
    )
    measures = [first.progress_m + offset for offset in range(-40, 41, 2)]
    lon, lat = reference.network()[route.route_id].lonlat_at(measures)
    start = datetime.now(UTC) - timedelta(seconds=2 * len(measures))
    fixes = [
        {"time": (start + timedelta(seconds=2 * i)).isoformat(), "lat": y, "lon": x}
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))
    ]
    batch = client.post("/api/v1/pings", json=fixes, headers={"Authorization": f"Bearer {device}"})
    assert batch.status_code == 200 and batch.json["stored"] == len(fixes), batch.json
    with get_runtime(app).db.write() as session:
        raise_alert(session, "off_route", "KP-01 off route", "openapi", datetime.now(UTC), "KP-01")
    get_runtime(app).reference.invalidate()
    return {"bin_id": first.bin_id, "lat": first.lat, "lon": first.lon}


def test_document_is_valid_openapi() -> None:
    doc = document()
    validate(doc)
    assert doc["openapi"].startswith("3.")


def test_document_is_served_as_json(app: Flask, client: FlaskClient) -> None:
    if "openapi" not in app.blueprints:
        pytest.skip("fleet.api.openapi.bp is not registered yet")
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == document()


def test_every_api_route_is_documented(app: Flask) -> None:
    served = _served_operations(app)
    assert served, "no routes found under /api/v1 or /osmand"
    missing = served - _documented_operations(document())
    assert not missing, f"served but not in the OpenAPI document: {sorted(missing)}"


def test_protected_operations_name_their_security_scheme() -> None:
    paths = document()["paths"]
    assert paths["/api/v1/pings"]["post"]["security"] == [{"deviceBearer": []}]
    dispatch = [item for path, item in paths.items() if path.startswith("/api/v1/dispatch/")]
    assert len(dispatch) >= 7
    for item in dispatch:
        for operation in item.values():
            assert operation["security"] == [{"dispatcherSession": []}]
            assert "401" in operation["responses"]


def test_socketio_namespaces_and_events_are_described() -> None:
    namespaces = document()["x-socketio"]["namespaces"]
    assert set(namespaces["/live"]["events"]) == {"positions", "bins", "driven"}
    assert set(namespaces["/dispatch"]["events"]) == {"positions", "alert", "coverage"}


@pytest.mark.parametrize("url", PUBLIC_GETS)
def test_public_responses_match_their_schemas(
    app: Flask, client: FlaskClient, live_city: dict[str, Any], url: str
) -> None:
    if url == "/api/v1/openapi.json" and "openapi" not in app.blueprints:
        pytest.skip("fleet.api.openapi.bp is not registered yet")
    response = client.get(url.format(**live_city))
    assert response.status_code == 200, response.json
    _assert_documented(document(), url, response.json)
    if url == "/api/v1/trucks":
        assert [f["properties"]["id"] for f in response.json["features"]] == ["KP-01"]
    if url == "/api/v1/bins":
        classes = {f["properties"]["service_class"] for f in response.json["features"]}
        assert classes & {"today", "yesterday"}, "the visited bin counts as serviced"


@pytest.mark.parametrize("url", DISPATCHER_GETS)
def test_dispatcher_responses_match_their_schemas(
    dispatcher: FlaskClient, live_city: dict[str, Any], url: str
) -> None:
    response = dispatcher.get(url.format(**live_city))
    assert response.status_code == 200, response.json
    _assert_documented(document(), url, response.json)


def test_acknowledged_alert_matches_its_schema(
    dispatcher: FlaskClient, live_city: dict[str, Any]
) -> None:
    alert_id = dispatcher.get("/api/v1/dispatch/alerts").json["alerts"][0]["id"]
    token = dispatcher.get("/api/v1/dispatch/session").json["csrf_token"]
    url = f"/api/v1/dispatch/alerts/{alert_id}/ack"
    response = dispatcher.post(url, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json["acknowledged"] is True
    _assert_documented(document(), url, response.json, method="post")


def test_documented_errors_match_the_error_schema(app: Flask, client: FlaskClient) -> None:
    error = _validator(document(), "components", "schemas", "Error")
    osmand = client.get("/osmand?id=no-such-device&lat=-10.17&lon=123.6")
    assert osmand.status_code == 400
    assert not list(error.iter_errors(osmand.json))
    unauthorized = client.post("/api/v1/pings", json=[])
    assert unauthorized.status_code == 401
    assert unauthorized.json["field"] == "Authorization"
    assert not list(error.iter_errors(unauthorized.json))
