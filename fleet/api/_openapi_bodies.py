"""The named request and response bodies of the OpenAPI document, one per shape.

Written from what the blueprints send (``fleet.api.ingest``, ``public``, ``coverage``,
``dispatch``) and what ``fleet.broadcast`` emits; ``tests/test_openapi.py`` holds the
real responses to them.
"""

from __future__ import annotations

from fleet.api._openapi_schemas import (
    ANY_GEOMETRY,
    AREAS,
    COUNT,
    DATE,
    FIX_TIME,
    HHMM,
    JSON,
    LINES,
    TIME,
    array,
    boolean,
    feature_collection,
    integer,
    nullable,
    number,
    obj,
    ref,
    string,
)

__all__ = ["SCHEMAS"]

DEVICE: dict[str, JSON] = {
    "Error": obj(
        ("error",),
        "What went wrong, in English; `field` names the offending input as sent.",
        error=string(),
        field=string(),
    ),
    "PingFix": obj(
        ("time", "lat", "lon"),
        "One buffered fix. Other members are kept as attributes (at most 64).",
        time=FIX_TIME,
        lat=number(minimum=-90, maximum=90),
        lon=number(minimum=-180, maximum=180),
        speed_mps=nullable(number(minimum=0, maximum=70)),
        heading_deg=nullable(number(minimum=0, maximum=360)),
        accuracy_m=nullable(number(minimum=0)),
        altitude_m=nullable(number()),
        battery_pct=nullable(number(minimum=0, maximum=100)),
    ),
    "PingsResult": obj(
        ("stored", "duplicates", "duplicate_indexes", "rejected"),
        stored=COUNT | {"description": "fixes committed by this request"},
        duplicates=COUNT | {"description": "fixes stored before (safe to drop)"},
        duplicate_indexes=array(COUNT),
        rejected=array(
            obj(("index", "field", "error"), index=COUNT, field=string(), error=string())
        ),
    ),
    "TraccarLocation": obj(
        ("location",),
        "Traccar Client 9's location; speeds in m/s, -1 for unknown.",
        device_id={"oneOf": [string(maxLength=128), integer()]},
        location=obj(
            timestamp=FIX_TIME,
            coords=obj(
                latitude=number(minimum=-90, maximum=90),
                longitude=number(minimum=-180, maximum=180),
                speed=nullable(number()),
                heading=nullable(number()),
                accuracy=nullable(number()),
                altitude=nullable(number()),
            ),
            battery=obj(level=nullable(number()), is_charging=boolean()),
            is_moving=boolean(),
            odometer=number(),
            event=string(),
            activity=obj(type=string()),
            extras={"type": "object"},
        ),
    ),
}

_COVERAGE_ROW = obj(
    ("scheduled", "serviced", "passed", "missed", "pending", "coverage_pct"),
    "Bins of the day by state; `coverage_pct` is null when none were scheduled.",
    route_id=string(),
    truck_id=string(),
    kecamatan=string(),
    scheduled=COUNT,
    serviced=COUNT,
    passed=COUNT,
    missed=COUNT,
    pending=COUNT,
    late_corrections=COUNT,
    coverage_pct=nullable(number(minimum=0, maximum=100)),
    progress_km=number(minimum=0),
    length_km=number(minimum=0),
)
_TRIPS = obj(
    ("total", "landfill", "landfill_pct", "trucks"),
    "Disposal trips, and the share that went to the landfill (TPA Alak) against its target.",
    total=COUNT,
    landfill=COUNT,
    landfill_pct=nullable(number(minimum=0, maximum=100)),
    target_landfill_pct=number(),
    trucks=array(obj(("truck_id",), truck_id=string(), processing=COUNT, landfill=COUNT)),
)

PUBLIC: dict[str, JSON] = {
    "Config": obj(
        ("tile_url", "tile_attribution", "center", "zoom", "time_zone"),
        tile_url=string(),
        tile_attribution=string(),
        center=array(number(), minItems=2, maxItems=2) | {"description": "lat, lon"},
        zoom=integer(),
        time_zone=string(),
    ),
    "Routes": feature_collection(
        LINES,
        obj(
            ("route_id", "truck_id", "name", "kecamatan", "color", "length_m"),
            route_id=string(),
            truck_id=nullable(string()),
            name=string(),
            kecamatan=string(),
            color=string(pattern="^#[0-9a-fA-F]{6}$"),
            length_m=number(minimum=0),
            schedule_days=array(string(enum=["mon", "tue", "wed", "thu", "fri", "sat", "sun"])),
            shift_start=HHMM,
            shift_end=HHMM,
        ),
    ),
    "ServiceClass": string(enum=["today", "yesterday", "older", "never", "planned"]),
    "Bins": feature_collection(
        ref("Point"),
        obj(
            ("bin_id", "status", "route_id", "last_serviced_at", "service_class"),
            bin_id=string(),
            status=string(enum=["installed", "planned"]),
            route_id=nullable(string()),
            kecamatan=string(),
            kelurahan=string(),
            last_serviced_at=nullable(TIME),
            service_class=ref("ServiceClass"),
        ),
    ),
    "Kecamatan": feature_collection(
        AREAS, obj(("name", "kode"), name=string(), kode=string(), kelurahan=array(string()))
    ),
    "Kelurahan": feature_collection(
        AREAS, obj(("name", "kode", "kecamatan"), name=string(), kode=string(), kecamatan=string())
    ),
    "Sites": feature_collection(
        ANY_GEOMETRY,
        obj(
            ("site_id", "kind", "name"),
            site_id=string(),
            kind=string("depot, landfill or processing site"),
            name=string(),
            kecamatan=string(),
        ),
    ),
    "TruckPosition": obj(
        ("id", "route_id", "lat", "lon", "status", "fix_time"),
        "A truck's newest fix: fleet code and route, never the device.",
        id=string("fleet code, e.g. KP-01"),
        route_id=nullable(string()),
        lat=number(minimum=-90, maximum=90),
        lon=number(minimum=-180, maximum=180),
        heading=nullable(number()),
        speed_kmh=nullable(number(minimum=0)),
        progress_m=nullable(number()),
        status=string(enum=["on_route", "off_route", "stale", "offline"]),
        fix_time=TIME,
    ),
    "Trucks": feature_collection(ref("Point"), ref("TruckPosition")),
    "Places": obj(
        ("places",),
        places=array(
            obj(
                ("name", "kind", "lat", "lon"),
                name=string(),
                kind=string(enum=["kelurahan", "street"]),
                kecamatan=string(),
                lat=number(),
                lon=number(),
            ),
            maxItems=20,
        ),
    ),
    "Eta": obj(
        ("route_id", "truck_id", "distance_m", "passed_today", "eta", "scheduled_today"),
        route_id=string(),
        truck_id=nullable(string()),
        route_color=string(),
        distance_m=number(minimum=0, maximum=500),
        passed_today=boolean(),
        passed_at=nullable(TIME),
        eta=nullable(TIME),
        eta_minutes=nullable(number()),
        scheduled_today=boolean(),
        shift_start=HHMM,
        shift_end=HHMM,
    ),
    "Driven": feature_collection(
        LINES,
        obj(("route_id",), route_id=string(), driven_m=number(minimum=0), length_m=number()),
    ),
    "CoverageRow": _COVERAGE_ROW,
    "Coverage": obj(
        ("date", "city", "routes", "trucks", "kecamatan", "trips"),
        date=DATE,
        city=ref("CoverageRow"),
        routes=array(ref("CoverageRow")),
        trucks=array(ref("CoverageRow")),
        kecamatan=array(ref("CoverageRow")),
        trips=_TRIPS,
    ),
    "BinUpdate": obj(
        ("bin_id", "last_serviced_at", "service_class"),
        bin_id=string(),
        last_serviced_at=TIME,
        service_class=ref("ServiceClass"),
    ),
}

DISPATCH: dict[str, JSON] = {
    "Session": obj(("user", "csrf_token"), user=string(), role=string(), csrf_token=string()),
    "RouteStatus": obj(
        ("route_id", "truck_id", "device_status", "progress_pct"),
        route_id=string(),
        truck_id=nullable(string()),
        scheduled=boolean("the route runs on the day"),
        device_status=string(enum=["online", "stale", "offline", "none"]),
        progress_pct=number(minimum=0),
        bins_scheduled=COUNT,
        bins_serviced=COUNT,
        bins_missed=COUNT,
        bins_passed=COUNT,
        bins_pending=COUNT,
        last_contact=nullable(TIME),
    ),
    "RouteStatuses": obj(("routes",), routes=array(ref("RouteStatus"))),
    "Alert": obj(
        ("id", "kind", "created_at", "acknowledged"),
        id=integer(),
        kind=string(enum=["off_route", "stale", "offline", "missed_bins", "idle"]),
        truck_id=nullable(string()),
        route_id=nullable(string()),
        message=nullable(string()),
        created_at=TIME,
        acknowledged=boolean(),
        acknowledged_by=nullable(string()),
    ),
    "Alerts": obj(("alerts",), alerts=array(ref("Alert"))),
    "History": obj(
        ("truck_id", "date", "fixes"),
        truck_id=string(),
        date=DATE,
        fixes=array(
            obj(
                ("time", "lat", "lon"),
                time=TIME,
                lat=number(),
                lon=number(),
                speed_kmh=nullable(number()),
                heading=nullable(number()),
                progress_m=nullable(number()),
                on_route=nullable(boolean()),
            )
        ),
    ),
    "Missed": obj(
        ("date", "missed"),
        date=DATE,
        missed=array(
            obj(
                ("bin_id", "route_id", "state"),
                bin_id=string(),
                route_id=string(),
                state=string(enum=["missed", "passed"]),
                kecamatan=string(),
                kelurahan=string(),
                lat=number(),
                lon=number(),
            )
        ),
    ),
    "BinHistory": obj(
        ("bin_id", "visits"),
        bin_id=string(),
        visits=array(
            obj(
                ("date", "truck_id", "status"),
                date=DATE,
                truck_id=string(),
                status=string(enum=["serviced", "passed"]),
                first_time=TIME,
                last_time=TIME,
                closest_m=number(minimum=0),
                dwell_s=number(minimum=0),
                recorded_at=TIME,
                evidence={"type": ["object", "array", "null"]},
            )
        ),
    ),
}

SCHEMAS: dict[str, JSON] = DEVICE | PUBLIC | DISPATCH
