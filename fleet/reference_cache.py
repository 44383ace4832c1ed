"""Routes, bins and sites held in memory, with their spatial indexes, built once.

Every ping needs its truck's route geometry and the bins near it; reading them from
the database and rebuilding indexes per request would cost more than the rest of the
pipeline. The cache is rebuilt only when reference data is loaded again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shapely import wkt
from sqlalchemy import select

from fleet.db import Database
from fleet.models import BinSite, Route, Site
from fleet.schedule import Shift

__all__ = ["Reference", "ReferenceCache", "RouteInfo", "BinInfo", "SiteInfo"]

SHIFT_SLACK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RouteInfo:
    route_id: str
    truck_id: str | None
    name: str
    kecamatan: str
    color: str
    shift: Shift
    length_m: float
    collection_start_m: float
    collection_end_m: float
    wkt: str


@dataclass(frozen=True, slots=True)
class BinInfo:
    bin_id: str
    route_id: str
    status: str
    kecamatan: str
    kelurahan: str
    progress_m: float
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class SiteInfo:
    site_id: str
    kind: str
    name: str
    kecamatan: str
    wkt: str


@dataclass
class Reference:
    """One consistent snapshot of the reference data and the indexes built on it."""

    routes: dict[str, RouteInfo]
    bins: dict[str, BinInfo]
    sites: dict[str, SiteInfo]
    tz: ZoneInfo
    hide_off_shift: bool
    config: dict[str, Any]
    _lazy: dict[str, Any] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def route_for_truck(self, truck_id: str) -> RouteInfo | None:
        by_truck = self._get("by_truck", self._index_trucks)
        route: RouteInfo | None = by_truck.get(truck_id)
        return route

    def on_shift(self, route_id: str | None, moment: datetime) -> bool:
        """Whether the public may see a truck on this route at ``moment``."""
        if not self.hide_off_shift:
            return True
        route = self.routes.get(route_id or "")
        return route is not None and route.shift.covers(moment, self.tz, SHIFT_SLACK)

    def network(self) -> Any:
        """Route geometries in metric CRS with their segment indexes."""
        return self._get("network", self._build_network)

    def cached(self, key: str, build: Any) -> Any:
        """A value derived from this snapshot (a layer's GeoJSON, say), built once."""
        return self._get(f"cached:{key}", build)

    def matcher(self, route_id: str) -> Any:
        """The route's matcher, configured from settings, built on first use."""
        return self._get(f"matcher:{route_id}", lambda: self._build_matcher(route_id))

    def bin_index(self) -> Any:
        return self._get("bin_index", self._build_bin_index)

    def _get(self, key: str, build: Any) -> Any:
        value = self._lazy.get(key)
        if value is None:
            with self._lock:
                value = self._lazy.get(key)
                if value is None:
                    value = self._lazy[key] = build()
        return value

    def site_index(self) -> Any:
        return self._get("site_index", self._build_site_index)

    def _build_site_index(self) -> Any:
        from fleet.trips import build_site_index

        return build_site_index(list(self.sites.values()))

    def _index_trucks(self) -> dict[str, RouteInfo]:
        return {r.truck_id: r for r in self.routes.values() if r.truck_id}

    def _build_network(self) -> Any:
        from fleet.network import RouteNetwork

        return RouteNetwork.build({r.route_id: wkt.loads(r.wkt) for r in self.routes.values()})

    def _build_matcher(self, route_id: str) -> Any:
        from fleet.snap import Matcher, SnapConfig

        config = SnapConfig(
            off_route_m=self.config["OFF_ROUTE_M"], off_after_fixes=self.config["OFF_ROUTE_FIXES"]
        )
        return Matcher(self.network()[route_id], config)

    def _build_bin_index(self) -> Any:
        from fleet.visits import build_bin_index

        return build_bin_index(list(self.bins.values()))


class ReferenceCache:
    """Holds the current ``Reference``; ``invalidate`` after loading new layers."""

    def __init__(self, db: Database, config: Any) -> None:
        self._db = db
        self._config = config
        self._current: Reference | None = None
        self._lock = threading.Lock()

    def get(self) -> Reference:
        current = self._current
        if current is None:
            with self._lock:
                current = self._current or self._load()
                self._current = current
        return current

    def invalidate(self) -> None:
        with self._lock:
            self._current = None

    def _load(self) -> Reference:
        with self._db.read() as session:
            routes = {r.id: _route_info(r) for r in session.scalars(select(Route))}
            bins = {b.id: _bin_info(b) for b in session.scalars(select(BinSite))}
            sites = {
                s.id: SiteInfo(s.id, s.kind, s.name, s.kecamatan, s.wkt)
                for s in session.scalars(select(Site))
            }
        return Reference(
            routes=routes,
            bins=bins,
            sites=sites,
            tz=ZoneInfo(self._config["LOCAL_TZ"]),
            hide_off_shift=self._config["HIDE_OFF_SHIFT"],
            config=dict(self._config),
        )


def _route_info(r: Route) -> RouteInfo:
    return RouteInfo(
        route_id=r.id,
        truck_id=r.truck_id,
        name=r.name,
        kecamatan=r.kecamatan,
        color=r.color,
        shift=Shift(tuple(r.schedule_days), r.shift_start, r.shift_end),
        length_m=r.length_m,
        collection_start_m=r.collection_start_m,
        collection_end_m=r.collection_end_m,
        wkt=r.wkt,
    )


def _bin_info(b: BinSite) -> BinInfo:
    return BinInfo(b.id, b.route_id, b.status, b.kecamatan, b.kelurahan, b.progress_m, b.lat, b.lon)
