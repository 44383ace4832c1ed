"""fleet.reference: loading the reference layers and naming the feature that is wrong."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.reference import (
    LAYERS,
    ReferenceData,
    ReferenceDataError,
    ReferenceError,
    load_reference,
    validate,
)

DATA = Path(__file__).resolve().parents[1] / "routes_data"
Raw = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def shipped() -> ReferenceData:
    return load_reference(DATA)


@pytest.fixture(scope="module")
def small_raw() -> Raw:
    """The shipped layers cut down to two routes, their bins and a few streets."""
    raw = {name: json.loads((DATA / f"{name}.geojson").read_text())["features"] for name in LAYERS}
    raw["routes"] = raw["routes"][:2]
    raw["bins"] = [b for b in raw["bins"] if b["properties"]["route_id"] in ("KP-01", "KP-02")]
    raw["streets"] = raw["streets"][:20]
    return raw


def _write(directory: Path, raw: Raw) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, features in raw.items():
        text = json.dumps({"type": "FeatureCollection", "features": features})
        (directory / f"{name}.geojson").write_text(text)
    return directory


def _props(raw: Raw, layer: str, index: int) -> dict[str, Any]:
    return raw[layer][index]["properties"]


def test_shipped_layers_load_as_records(shipped):
    counts = {name: len(getattr(shipped, name)) for name in LAYERS}
    assert counts == {
        "kecamatan": 6,
        "kelurahan": 51,
        "streets": len(shipped.streets),
        "routes": 50,
        "bins": 1347,
        "sites": 8,
    }
    route = shipped.routes[0]
    assert route.route_id == "KP-01" and route.shift_start.count(":") == 1
    assert set(route.schedule_days) <= {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    assert 10_000 <= route.collection_m <= 25_000
    lon, lat = route.geometry.coords[0]
    assert 123.5 < lon < 123.7 and -10.3 < lat < -10.1
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.name = "changed"  # type: ignore[misc]


def test_geopackage_copy_loads_the_same(shipped, tmp_path):
    for name in LAYERS:
        frame = gpd.read_file(DATA / f"{name}.geojson")
        for column in ("kelurahan", "schedule_days"):
            if column in frame and name != "streets" and name != "bins":
                frame[column] = [",".join(v) for v in frame[column]]
        frame.to_file(tmp_path / f"{name}.gpkg", driver="GPKG")
    assert load_reference(tmp_path) == shipped


def test_a_city_shapefile_layer_is_read_too(small_raw, tmp_path):
    directory = _write(tmp_path, small_raw)
    bins = gpd.read_file(directory / "bins.geojson")
    (directory / "bins.geojson").unlink()
    bins.to_file(directory / "bins.shp")
    loaded = load_reference(directory)
    assert [b.bin_id for b in loaded.bins] == [b["properties"]["bin_id"] for b in small_raw["bins"]]


def _set(layer: str, index: int, **changes: Any) -> Callable[[Raw], None]:
    def mutate(raw: Raw) -> None:
        _props(raw, layer, index).update(changes)

    return mutate


def _drop(layer: str, index: int, field: str) -> Callable[[Raw], None]:
    return lambda raw: _props(raw, layer, index).pop(field)


def _geometry(layer: str, index: int, geometry: Any) -> Callable[[Raw], None]:
    def mutate(raw: Raw) -> None:
        raw[layer][index]["geometry"] = geometry

    return mutate


def _shift_bin(raw: Raw) -> None:
    lon, lat = raw["bins"][2]["geometry"]["coordinates"]
    raw["bins"][2]["geometry"]["coordinates"] = [lon, lat + 0.001]


BOWTIE = {"type": "Polygon", "coordinates": [[[123.6, -10.2], [123.601, -10.199],
                                               [123.601, -10.2], [123.6, -10.199],
                                               [123.6, -10.2]]]}  # fmt: skip

BAD_FEATURES = [
    ("routes", "KP-02", _geometry("routes", 1, {"type": "Point", "coordinates": [123.6, -10.2]}),
     "expected LineString"),
    ("routes", "KP-01", _drop("routes", 0, "shift_start"), "missing required field 'shift_start'"),
    ("routes", "KP-01", _set("routes", 0, shift_start="25:00"), "HH:MM"),
    ("routes", "KP-02", _set("routes", 1, schedule_days=["mon", "funday"]), "funday"),
    ("routes", "KP-01", _set("routes", 0, color="red"), "colour"),
    ("bins", "BIN-0001", _set("bins", 1, bin_id="BIN-0001"), "duplicate bin_id"),
    ("bins", "BIN-0002", _set("bins", 1, route_id="KP-99"), "unknown route 'KP-99'"),
    ("bins", "BIN-0003", _shift_bin, "m from route KP-01"),
    ("bins", "BIN-0004", _set("bins", 3, status="lost"), "installed, planned"),
    ("sites", "DEPOT-01", _geometry("sites", 0, BOWTIE), "invalid geometry"),
    ("streets", "ST-00005", _geometry("streets", 4, None), "empty geometry"),
    ("kelurahan", "53.71.01.1002", _drop("kelurahan", 1, "name"), "'name'"),
    ("kecamatan", "#2", _drop("kecamatan", 2, "name"), "'name'"),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "feature_id", "mutate", "reason"), BAD_FEATURES)
def test_bad_feature_is_named(small_raw, tmp_path, layer, feature_id, mutate, reason):
    raw = copy.deepcopy(small_raw)
    mutate(raw)
    with pytest.raises(ReferenceError) as caught:
        load_reference(_write(tmp_path, raw))
    assert (caught.value.layer, caught.value.feature_id) == (layer, feature_id)
    assert reason in caught.value.reason
    assert feature_id in str(caught.value)


def test_missing_layer_is_reported(small_raw, tmp_path):
    directory = _write(tmp_path, small_raw)
    (directory / "sites.geojson").unlink()
    with pytest.raises(ReferenceDataError, match="sites"):
        load_reference(directory)


def test_validate_checks_records_built_in_code(shipped):
    route = shipped.routes[0]
    broken = dataclasses.replace(route, collection_end_m=route.length_m + 100.0)
    data = dataclasses.replace(shipped, routes=(broken, *shipped.routes[1:]))
    with pytest.raises(ReferenceError, match="KP-01"):
        validate(data)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_any_wall_clock_time_is_accepted(small_raw, tmp_path, hour, minute):
    raw = copy.deepcopy(small_raw)
    _props(raw, "routes", 0)["shift_end"] = f"{hour:02d}:{minute:02d}"
    loaded = load_reference(_write(tmp_path / f"{hour}-{minute}", raw))
    assert loaded.routes[0].shift_end == f"{hour:02d}:{minute:02d}"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=8).filter(lambda t: not t[:2].isdigit()))
def test_text_that_is_not_a_time_is_rejected(small_raw, tmp_path, text):
    raw = copy.deepcopy(small_raw)
    _props(raw, "routes", 1)["shift_start"] = text
    with pytest.raises(ReferenceError) as caught:
        load_reference(_write(tmp_path / "t", raw))
    assert caught.value.feature_id == "KP-02"
