// History replay: one truck's fixes for one day, played back along a time slider.

import { t, onLangChange } from "./i18n.js";
import { clockSecondsWita, clockWita, parseTime } from "./time.js";
import { ARROW_SVG } from "./trucks.js";

const L = window.L;
const OFF_ROUTE_COLOR = "#d62828";

/** Index of the last time <= t in sorted `times` (binary search), clamped to 0. */
export function fixIndexAt(times, t) {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (times[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function historyUrl(truck, date, format) {
  const query = new URLSearchParams({ date, format });
  return `/api/v1/dispatch/history/${encodeURIComponent(truck)}?${query}`;
}

/** The replay tab: form, player controls and the track drawn on the map. */
export class Replay {
  constructor(map, routes, els, fetchJSON) {
    Object.assign(this, { map, routes, els, fetchJSON });
    this.group = L.featureGroup().addTo(map);
    this.fixes = [];
    this.times = [];
    this.t = 0;
    this.playing = false;
    this.marker = null;
    els.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.load();
    });
    els.truck.addEventListener("change", () => this.updateExports());
    els.date.addEventListener("change", () => this.updateExports());
    els.play.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    els.slider.addEventListener("input", () => {
      if (this.times.length) this.seek(this.times[0] + Number(els.slider.value) * 1000);
    });
    onLangChange(() => this.renderLabels());
  }

  /** Offer these fleet codes in the truck picker, keeping the current choice. */
  setTrucks(ids) {
    const chosen = this.els.truck.value;
    const unique = [...new Set(ids.filter(Boolean))].sort();
    this.els.truck.replaceChildren(...unique.map((id) => new Option(id, id)));
    if (unique.includes(chosen)) this.els.truck.value = chosen;
    this.updateExports();
  }

  updateExports() {
    const truck = this.els.truck.value;
    const date = this.els.date.value;
    for (const [format, link] of Object.entries(this.els.exports)) {
      if (truck && date) link.href = historyUrl(truck, date, format);
      else link.removeAttribute("href");
    }
  }

  async load() {
    const truck = this.els.truck.value;
    const date = this.els.date.value;
    if (!truck || !date) return;
    this.pause();
    this.els.message.textContent = t("eta.loading");
    const body = await this.fetchJSON(historyUrl(truck, date, "json"), "history", "dash.err.history");
    const fixes = (body?.fixes || []).filter((f) => parseTime(f.time) !== null);
    fixes.sort((a, b) => parseTime(a.time) - parseTime(b.time));
    this.fixes = fixes;
    this.times = fixes.map((f) => parseTime(f.time));
    this.group.clearLayers();
    this.marker = null;
    this.els.player.hidden = fixes.length === 0;
    this.els.message.textContent = body && fixes.length === 0 ? t("replay.empty") : "";
    if (fixes.length === 0) return;
    this.draw(truck);
    this.els.slider.max = String(Math.round((this.times.at(-1) - this.times[0]) / 1000));
    this.seek(this.times[0]);
    this.renderLabels();
  }

  draw(truck) {
    const routeId = this.fixes.find((f) => f.route_id)?.route_id ?? this.routeOf(truck);
    const latlngs = this.fixes.map((f) => [f.lat, f.lon]);
    const track = L.polyline(latlngs, { color: this.routes.color(routeId), weight: 4, opacity: 0.9 });
    this.group.addLayer(track);
    for (const f of this.fixes.filter((fix) => fix.on_route === false)) {
      this.group.addLayer(
        L.circleMarker([f.lat, f.lon], { radius: 4, color: OFF_ROUTE_COLOR, weight: 2, fillOpacity: 0.6 }),
      );
    }
    const icon = L.divIcon({
      className: "truck-marker replay-marker",
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      html: `<div class="truck-arrow">${ARROW_SVG}</div>`,
    });
    this.marker = L.marker(latlngs[0], { icon, zIndexOffset: 1000 }).addTo(this.group);
    this.map.fitBounds(track.getBounds(), { padding: [30, 30] });
  }

  routeOf(truck) {
    for (const [id, entry] of this.routes.byId) if (entry.props.truck_id === truck) return id;
    return null;
  }

  /** Move the marker to epoch ms `tMs`, between the two fixes around it. */
  seek(tMs) {
    if (this.fixes.length === 0) return;
    const start = this.times[0];
    this.t = Math.max(start, Math.min(this.times.at(-1), tMs));
    const i = fixIndexAt(this.times, this.t);
    const a = this.fixes[i];
    const b = this.fixes[Math.min(i + 1, this.fixes.length - 1)];
    const span = this.times[i + 1] !== undefined ? this.times[i + 1] - this.times[i] : 0;
    const k = span > 0 ? (this.t - this.times[i]) / span : 0;
    this.marker.setLatLng([a.lat + (b.lat - a.lat) * k, a.lon + (b.lon - a.lon) * k]);
    // Looked up each time: hiding and showing the layer recreates the element.
    const arrow = this.marker.getElement()?.querySelector(".truck-arrow");
    if (arrow && Number.isFinite(a.heading)) arrow.style.transform = `rotate(${a.heading}deg)`;
    this.els.slider.value = String(Math.round((this.t - start) / 1000));
    this.current = a;
    this.renderLabels();
  }

  play() {
    if (this.fixes.length === 0) return;
    if (this.t >= this.times.at(-1)) this.seek(this.times[0]);
    this.playing = true;
    let last = performance.now();
    const step = (now) => {
      if (!this.playing) return;
      const speed = Number(this.els.speed.value) || 60;
      this.seek(this.t + (now - last) * speed);
      last = now;
      if (this.t >= this.times.at(-1)) this.pause();
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
    this.renderLabels();
  }

  pause() {
    this.playing = false;
    this.renderLabels();
  }

  renderLabels() {
    this.els.play.textContent = t(this.playing ? "replay.pause" : "replay.play");
    if (this.fixes.length === 0) return;
    const a = this.current;
    const parts = [`${clockSecondsWita(this.t)} WITA`];
    if (a && Number.isFinite(a.speed_kmh)) parts.push(t("truck.speed", { n: Math.round(a.speed_kmh) }));
    if (a && a.on_route === false) parts.push(t("replay.off_route"));
    this.els.clock.textContent = parts.join(" · ");
    this.els.info.textContent = t("replay.fixes", {
      n: this.fixes.length,
      start: clockWita(this.times[0]),
      end: clockWita(this.times.at(-1)),
    });
  }
}
