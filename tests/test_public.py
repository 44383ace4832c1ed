"""The public API (fleet/api/public.py): Kupang's layers, with nothing private in them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient


def test_routes_are_fifty_geojson_lines_with_route_and_truck(client: FlaskClient) -> None:
    body = client.get("/api/v1/routes").get_json()
    assert body["type"] == "FeatureCollection"
    features = body["features"]
    assert len(features) == 50
    props = features[0]["properties"]
    assert props["route_id"] == "KP-01" and props["truck_id"] == "KP-01"
    assert features[0]["geometry"]["type"] == "LineString"
    lon, lat = features[0]["geometry"]["coordinates"][0]
    assert 123.4 < lon < 123.8 and -10.4 < lat < -10.0


def test_bins_carry_status_route_kecamatan_and_service(client: FlaskClient) -> None:
    features = client.get("/api/v1/bins").get_json()["features"]
    assert len(features) == 1347
    statuses = [f["properties"]["status"] for f in features]
    assert statuses.count("installed") == 900
    props = features[0]["properties"]
    assert {
        "bin_id",
        "status",
        "route_id",
        "kecamatan",
        "last_serviced_at",
        "service_class",
    } <= set(props)
    classes = {f["properties"]["service_class"] for f in features}
    assert classes == {"never", "planned"}


def test_six_kecamatan_with_their_kelurahan(client: FlaskClient) -> None:
    features = client.get("/api/v1/kecamatan").get_json()["features"]
    names = sorted(f["properties"]["name"] for f in features)
    assert names == ["Alak", "Kelapa Lima", "Kota Lama", "Kota Raja", "Maulafa", "Oebobo"]
    assert all(f["properties"]["kelurahan"] for f in features)


def test_sites_include_depot_processing_and_tpa_alak(client: FlaskClient) -> None:
    kinds = [f["properties"]["kind"] for f in client.get("/api/v1/sites").get_json()["features"]]
    assert kinds.count("depot") == 1 and kinds.count("processing") == 6
    assert kinds.count("landfill") == 1


def test_places_finds_kelurahan_by_name(client: FlaskClient) -> None:
    places = client.get("/api/v1/places?q=oebo").get_json()["places"]
    assert any(p["kind"] == "kelurahan" and p["name"].lower().startswith("oebo") for p in places)
    assert client.get("/api/v1/places?q=o").get_json()["places"] == []


def test_config_names_tiles_and_attribution(app: Flask, client: FlaskClient) -> None:
    body = client.get("/api/v1/config").get_json()
    assert body["tile_url"] == app.config["TILE_URL"]
    assert "OpenStreetMap" in body["tile_attribution"]


def test_public_map_page_is_served(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"leaflet" in response.data.lower()
