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
from fleet.runtime import get_runtime

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
    "/api/v1/openapi.json",
)


def _template(path: str) -> str:
    """``/a/<int:x>/b/`` and ``/a/{y}/b`` both become ``/a/{}/b``: names may differ."""
    path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "{}", path)
    return re.sub(r"\{[^{}]*\}", "{}", path).rstrip("/") or "/"


def _served_operations(app: Flask) -> set[tuple[str, str]]:
    return {
        (_template(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/v1/", "/osmand"))
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


def _ok_validator(doc: dict[str, Any], path: str) -> Draft202012Validator:
    """The schema of GET ``path``'s JSON 200 response."""
    return _validator(doc, "paths", path, "get", "responses", "200", "content", JSON, "schema")


def _drive_past_a_bin(app: Flask, client: FlaskClient, device: str) -> None:
    """KP-01 creeps past its first installed bin, so trucks and bins carry live data."""
    reference = get_runtime(app).reference.get()
    route = reference.route_for_truck("KP-01")
    assert route is not None
    bin_m = min(
        b.progress_m
        for b in reference.bins.values()
        if b.route_id == route.route_id and b.status == "installed"
    )
    measures = [bin_m + offset for offset in range(-40, 41, 2)]
    lon, lat = reference.network()[route.route_id].lonlat_at(measures)
    start = datetime.now(UTC) - timedelta(seconds=2 * len(measures))
    fixes = [
        {"time": (start + timedelta(seconds=2 * i)).isoformat(), "lat": y, "lon": x}
        for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))
    ]
    response = client.post(
        "/api/v1/pings", json=fixes, headers={"Authorization": f"Bearer {device}"}
    )
    assert response.status_code == 200, response.get_json()


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
    app: Flask, client: FlaskClient, device: str, url: str
) -> None:
    app.config["HIDE_OFF_SHIFT"] = False
    get_runtime(app).reference.invalidate()
    _drive_past_a_bin(app, client, device)
    if url == "/api/v1/openapi.json" and "openapi" not in app.blueprints:
        pytest.skip("fleet.api.openapi.bp is not registered yet")
    response = client.get(url)
    assert response.status_code == 200
    validator = _ok_validator(document(), url.partition("?")[0])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json)]
    assert not errors, errors[:5]
    if url == "/api/v1/trucks":
        assert [f["properties"]["id"] for f in response.json["features"]] == ["KP-01"]
    if url == "/api/v1/bins":
        classes = {f["properties"]["service_class"] for f in response.json["features"]}
        assert classes & {"today", "yesterday"}, "the visited bin counts as serviced"


def test_documented_errors_match_the_error_schema(app: Flask, client: FlaskClient) -> None:
    error = _validator(document(), "components", "schemas", "Error")
    osmand = client.get("/osmand?id=no-such-device&lat=-10.17&lon=123.6")
    assert osmand.status_code == 400
    assert not list(error.iter_errors(osmand.json))
    unauthorized = client.post("/api/v1/pings", json=[])
    assert unauthorized.status_code == 401
    assert unauthorized.json["field"] == "Authorization"
    assert not list(error.iter_errors(unauthorized.json))
