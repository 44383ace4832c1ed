// Truck markers: an arrow in the route's colour pointing along the heading, the fleet
// code, and how fresh the position is. New positions glide in over about a second.

import { getJSON, guarded } from "./api.js";
import { t } from "./i18n.js";
import { ageSeconds, parseTime } from "./time.js";
import { escapeHtml } from "./layers.js";

const L = window.L;
const GLIDE_MS = 1000;
export const ARROW_SVG =
  '<svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">' +
  '<path d="M12 2 L20 21 L12 16.5 L4 21 Z" stroke="#fff" stroke-width="1.6" ' +
  'stroke-linejoin="round"/></svg>';

/** "updated n s ago" (minutes once past two minutes). */
export function updatedText(fixTime) {
  const s = ageSeconds(fixTime);
  if (s === null) return "";
  if (s < 120) return t("truck.updated", { n: s });
  return t("truck.updated_min", { n: Math.floor(s / 60) });
}

/** Turn by the short way round so 350° → 10° rotates 20°, not 340°. */
function unwrapAngle(previous, heading) {
  const delta = ((((heading - previous) % 360) + 540) % 360) - 180;
  return previous + delta;
}

function statusText(status) {
  return status ? t(`truck.status.${status}`) : "";
}

function isOlder(isoA, isoB) {
  const a = parseTime(isoA);
  const b = parseTime(isoB);
  return a !== null && b !== null && a < b;
}

function truckIcon() {
  return L.divIcon({
    className: "truck-marker",
    iconSize: [26, 26],
    iconAnchor: [13, 13],
    html:
      `<div class="truck-arrow">${ARROW_SVG}</div>` +
      '<div class="truck-label"><b class="truck-code"></b><span class="truck-age"></span></div>',
  });
}

/** All live trucks on one map; feed it `positions` events and GeoJSON snapshots. */
export class TrucksLayer {
  constructor(map, routes) {
    this.map = map;
    this.routes = routes;
    this.trucks = new Map();
    this.group = L.layerGroup().addTo(map);
    this.animating = false;
    setInterval(() => this.tick(), 1000);
  }

  /** Fetch /api/v1/trucks and make the map show exactly those trucks. */
  async sync() {
    const fc = await guarded("trucks", "err.trucks", () => getJSON("/api/v1/trucks"));
    if (!fc) return;
    const seen = new Set();
    for (const f of fc.features || []) {
      if (!f.geometry || f.geometry.type !== "Point") continue;
      const [lon, lat] = f.geometry.coordinates;
      seen.add(f.properties.id);
      this.place({ ...f.properties, lat, lon });
    }
    // The server leaves out trucks off shift; drop them here too.
    for (const id of [...this.trucks.keys()]) if (!seen.has(id)) this.remove(id);
  }

  /** Apply a `positions` event's trucks (only those that moved). */
  update(list) {
    for (const truck of list || []) {
      if (Number.isFinite(truck.lat) && Number.isFinite(truck.lon)) this.place(truck);
    }
  }

  place(data) {
    let entry = this.trucks.get(data.id);
    if (!entry) {
      const marker = L.marker([data.lat, data.lon], { icon: truckIcon(), keyboard: false });
      marker.bindPopup(() => this.popup(entry.data));
      entry = { marker, data, angle: 0, glide: null };
      this.trucks.set(data.id, entry);
      this.group.addLayer(marker);
    } else if (isOlder(data.fix_time, entry.data.fix_time)) {
      return; // an older fix arriving late must not pull the truck backwards
    } else {
      const from = entry.marker.getLatLng();
      entry.glide = { from, to: L.latLng(data.lat, data.lon), start: performance.now() };
      this.startAnimation();
    }
    entry.data = { ...entry.data, ...data };
    this.render(entry);
  }

  remove(id) {
    const entry = this.trucks.get(id);
    if (!entry) return;
    this.group.removeLayer(entry.marker);
    this.trucks.delete(id);
  }

  render(entry) {
    const el = entry.marker.getElement();
    if (!el) return;
    const { data } = entry;
    if (Number.isFinite(data.heading)) entry.angle = unwrapAngle(entry.angle, data.heading);
    const arrow = el.querySelector(".truck-arrow");
    arrow.style.transform = `rotate(${entry.angle}deg)`;
    arrow.style.fill = this.routes.color(data.route_id);
    el.querySelector(".truck-code").textContent = data.id;
    el.querySelector(".truck-age").textContent = updatedText(data.fix_time);
    el.dataset.status = data.status || "";
    el.title = `${data.id} — ${statusText(data.status)}`;
    if (entry.marker.isPopupOpen()) entry.marker.setPopupContent(this.popup(data));
  }

  popup(data) {
    const lines = [
      `<b>${escapeHtml(data.id)}</b>`,
      `${escapeHtml(t("truck.route"))}: ${escapeHtml(this.routes.name(data.route_id))}`,
      escapeHtml(statusText(data.status)),
    ];
    if (Number.isFinite(data.speed_kmh)) {
      lines.push(escapeHtml(t("truck.speed", { n: Math.round(data.speed_kmh) })));
    }
    lines.push(`<span class="muted">${escapeHtml(updatedText(data.fix_time))}</span>`);
    return lines.join("<br>");
  }

  startAnimation() {
    if (this.animating) return;
    this.animating = true;
    const step = (now) => {
      let active = false;
      for (const entry of this.trucks.values()) {
        if (!entry.glide) continue;
        const k = Math.min(1, (now - entry.glide.start) / GLIDE_MS);
        const { from, to } = entry.glide;
        entry.marker.setLatLng([from.lat + (to.lat - from.lat) * k, from.lng + (to.lng - from.lng) * k]);
        if (k >= 1) entry.glide = null;
        else active = true;
      }
      if (active) requestAnimationFrame(step);
      else this.animating = false;
    };
    requestAnimationFrame(step);
  }

  /** Once a second: refresh "updated n s ago" and colours after a language or route load. */
  tick() {
    for (const entry of this.trucks.values()) this.render(entry);
  }

  /** Fleet codes currently shown, sorted. */
  ids() {
    return [...this.trucks.keys()].sort();
  }
}
