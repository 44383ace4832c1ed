// The static-ish GeoJSON layers: routes (still to come), driven stretches, bins, sites and
// kecamatan outlines. Each loads itself and shows a small message instead of failing.

import { getJSON, guarded, withQuery } from "./api.js";
import { t } from "./i18n.js";
import { dateTimeWita, daysText, weekdayWita } from "./time.js";

const L = window.L;

export const BIN_COLORS = {
  today: "#1b9e3e",
  yesterday: "#f2b01e",
  older: "#e8590c",
  never: "#b0172a",
  planned: "#8a8f98",
};
export const SITE_COLORS = { depot: "#1f5fbf", processing: "#7b3fb5", landfill: "#7a5230" };
const FALLBACK_ROUTE_COLOR = "#3b6ea5";
const DRIVEN_REFRESH_MS = 30000;

/** A colour from the server if it is a plain hex colour, else the fallback. */
export function safeColor(color, fallback = FALLBACK_ROUTE_COLOR) {
  return typeof color === "string" && /^#[0-9a-f]{3,8}$/i.test(color) ? color : fallback;
}

function escapeHtml(text) {
  const div = document.createElement("div");
  div.textContent = text ?? "";
  return div.innerHTML;
}

/** Planned routes, drawn dashed and faint: the part of the day still to come. */
export class RoutesLayer {
  constructor(map) {
    this.byId = new Map();
    this.group = L.featureGroup().addTo(map);
  }

  async load() {
    const fc = await guarded("routes", "err.routes", () => getJSON("/api/v1/routes"));
    if (!fc) return;
    this.group.clearLayers();
    this.byId.clear();
    const today = weekdayWita();
    L.geoJSON(fc, {
      pane: "routesPane",
      style: (f) => this.styleFor(f.properties, today),
      onEachFeature: (f, layer) => {
        this.byId.set(f.properties.route_id, { props: f.properties, layer });
        layer.bindTooltip(() => this.tooltip(f.properties), { sticky: true });
      },
    }).eachLayer((layer) => this.group.addLayer(layer));
  }

  styleFor(props, today) {
    const scheduled = (props.schedule_days || []).includes(today);
    return {
      color: safeColor(props.color),
      weight: scheduled ? 3 : 2,
      opacity: scheduled ? 0.6 : 0.3,
      dashArray: "6 8",
      className: "route-line",
    };
  }

  tooltip(p) {
    const days = daysText(p.schedule_days);
    return `<b>${escapeHtml(p.name || p.route_id)}</b><br>${escapeHtml(p.kecamatan || "")}<br>${escapeHtml(
      t("eta.schedule", { days, start: p.shift_start || "–", end: p.shift_end || "–" }),
    )}`;
  }

  /** Route properties by id, or null. */
  props(routeId) {
    return this.byId.get(routeId)?.props ?? null;
  }

  color(routeId) {
    return safeColor(this.props(routeId)?.color);
  }

  name(routeId) {
    return this.props(routeId)?.name || routeId || "–";
  }

  /** Zoom the map to one route. */
  focus(map, routeId) {
    const entry = this.byId.get(routeId);
    if (entry) map.fitBounds(entry.layer.getBounds(), { padding: [30, 30] });
  }
}

/** Stretches already driven today, drawn solid and bold over the dashed routes. */
export class DrivenLayer {
  constructor(map, routes, date = null) {
    this.routes = routes;
    this.date = date;
    this.lastFetch = 0;
    this.timer = null;
    this.group = L.featureGroup().addTo(map);
  }

  async load() {
    this.lastFetch = Date.now();
    const url = withQuery("/api/v1/driven", { date: this.date });
    const fc = await guarded("driven", "err.driven", () => getJSON(url));
    if (!fc) return;
    this.group.clearLayers();
    L.geoJSON(fc, {
      pane: "drivenPane",
      interactive: false,
      style: (f) => ({
        color: this.routes.color(f.properties.route_id),
        weight: 6,
        opacity: 0.95,
        lineCap: "round",
        className: "driven-line",
      }),
    }).eachLayer((layer) => this.group.addLayer(layer));
  }

  /** The server says something changed: re-fetch, but at most every 30 s. */
  hint() {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFetch + DRIVEN_REFRESH_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.load();
    }, wait);
  }
}

function binStyle(serviceClass) {
  const color = BIN_COLORS[serviceClass] || BIN_COLORS.never;
  if (serviceClass === "planned") {
    return { radius: 4, color, weight: 1.5, fillOpacity: 0, opacity: 0.9 };
  }
  return { radius: 5, color: "#ffffff", weight: 1, fillColor: color, fillOpacity: 0.95, opacity: 1 };
}

/** Bin points coloured by time since last service; updated in place by socket events. */
export class BinsLayer {
  constructor(map) {
    this.byId = new Map();
    this.renderer = L.canvas({ padding: 0.3, pane: "binsPane" });
    this.group = L.featureGroup().addTo(map);
  }

  async load() {
    const fc = await guarded("bins", "err.bins", () => getJSON("/api/v1/bins"));
    if (!fc) return;
    this.group.clearLayers();
    this.byId.clear();
    for (const f of fc.features || []) {
      if (!f.geometry || f.geometry.type !== "Point") continue;
      const [lon, lat] = f.geometry.coordinates;
      const props = { ...f.properties };
      const marker = L.circleMarker([lat, lon], {
        ...binStyle(props.service_class),
        renderer: this.renderer,
        pane: "binsPane",
      });
      marker.bindTooltip(() => this.tooltip(props));
      this.byId.set(props.bin_id, { props, marker });
      this.group.addLayer(marker);
    }
  }

  tooltip(p) {
    const lines = [`<b>${escapeHtml(t("bin.title", { id: p.bin_id }))}</b>`];
    if (p.kelurahan || p.kecamatan) lines.push(escapeHtml([p.kelurahan, p.kecamatan].join(", ")));
    if (p.status === "planned") lines.push(escapeHtml(t("bin.planned")));
    else if (p.last_serviced_at) {
      lines.push(escapeHtml(t("bin.last", { time: dateTimeWita(p.last_serviced_at) })));
    } else lines.push(escapeHtml(t("bin.never")));
    return lines.join("<br>");
  }

  /** Apply a `bins` socket event: [{bin_id, last_serviced_at, service_class}]. */
  update(bins) {
    for (const b of bins || []) {
      const entry = this.byId.get(b.bin_id);
      if (!entry) continue;
      entry.props.last_serviced_at = b.last_serviced_at;
      entry.props.service_class = b.service_class;
      entry.marker.setStyle(binStyle(b.service_class));
    }
  }
}

/** Depot, processing and landfill geofences. */
export async function loadSites(map) {
  const fc = await guarded("sites", "err.sites", () => getJSON("/api/v1/sites"));
  if (!fc) return L.featureGroup();
  return L.geoJSON(fc, {
    pane: "routesPane",
    style: (f) => {
      const color = SITE_COLORS[f.properties.kind] || "#555";
      return { color, weight: 2, fillColor: color, fillOpacity: 0.15 };
    },
    onEachFeature: (f, layer) =>
      layer.bindTooltip(`${escapeHtml(f.properties.name)} (${escapeHtml(f.properties.kind)})`),
  }).addTo(map);
}

/** Kecamatan outlines, thin and non-interactive so clicks reach the map. */
export async function loadKecamatan(map) {
  const fc = await guarded("kecamatan", "err.kecamatan", () => getJSON("/api/v1/kecamatan"));
  if (!fc) return L.featureGroup();
  return L.geoJSON(fc, {
    interactive: false,
    style: { color: "#5b6470", weight: 1, opacity: 0.5, fill: false, dashArray: "2 4" },
  }).addTo(map);
}

export { escapeHtml };
