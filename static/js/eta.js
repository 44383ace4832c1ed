// "Kapan truk datang?": a resident picks a spot (map click or place search) and sees
// which route serves it and whether the truck has passed today or when it should come.

import { ApiError, getJSON, withQuery } from "./api.js";
import { t, onLangChange } from "./i18n.js";
import { clockWita, daysText } from "./time.js";
import { escapeHtml, safeColor } from "./layers.js";

const L = window.L;
const SPOT_KEY = "fleet.spot";
const SEARCH_DELAY_MS = 250;
const ETA_REFRESH_MS = 60000;

/** The search box, its suggestion list, and the result card. */
export class EtaPanel {
  constructor(map, routes, { input, list, result, clear }) {
    Object.assign(this, { map, routes, input, list, result, clear });
    this.marker = null;
    this.spot = null;
    this.outcome = null;
    this.places = [];
    this.active = -1;
    this.searchSeq = 0;
    this.etaSeq = 0;
    this.bindSearch();
    map.on("click", (e) => this.setSpot(e.latlng.lat, e.latlng.lng));
    clear.addEventListener("click", () => this.clearSpot());
    onLangChange(() => this.renderResult());
    setInterval(() => this.spot && this.fetchEta(), ETA_REFRESH_MS);
    this.restoreSpot();
    this.renderResult();
  }

  bindSearch() {
    let timer = null;
    this.input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.search(this.input.value.trim()), SEARCH_DELAY_MS);
    });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.showList(false), 150));
  }

  async search(q) {
    const seq = ++this.searchSeq;
    if (q.length < 2) {
      this.places = [];
      this.renderList();
      return;
    }
    let places;
    try {
      const body = await getJSON(withQuery("/api/v1/places", { q }));
      places = Array.isArray(body.places) ? body.places : [];
    } catch {
      places = null;
    }
    if (seq !== this.searchSeq) return; // a newer query has been typed meanwhile
    this.places = places ?? [];
    this.renderList(places === null ? "err.places" : "eta.none");
  }

  renderList(emptyKey = "eta.none") {
    this.active = -1;
    const items = this.places.map((p, i) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = `place-${i}`;
      li.innerHTML = `<span>${escapeHtml(p.name)}</span> <small>${escapeHtml(
        t(`eta.kind.${p.kind}`),
      )}${p.kecamatan ? ` · ${escapeHtml(p.kecamatan)}` : ""}</small>`;
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.choose(i);
      });
      return li;
    });
    if (items.length === 0 && this.input.value.trim().length >= 2) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = t(emptyKey);
      items.push(li);
    }
    this.list.replaceChildren(...items);
    this.showList(items.length > 0);
  }

  showList(visible) {
    this.list.hidden = !visible;
    this.input.setAttribute("aria-expanded", String(visible));
  }

  onKey(e) {
    const n = this.places.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (n === 0) return;
      e.preventDefault();
      this.active = (this.active + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      [...this.list.children].forEach((li, i) => li.classList.toggle("active", i === this.active));
      this.input.setAttribute("aria-activedescendant", `place-${this.active}`);
    } else if (e.key === "Enter" && n > 0) {
      e.preventDefault();
      this.choose(Math.max(0, this.active));
    } else if (e.key === "Escape") {
      this.showList(false);
    }
  }

  choose(i) {
    const place = this.places[i];
    if (!place) return;
    this.input.value = place.name;
    this.showList(false);
    this.map.setView([place.lat, place.lon], Math.max(this.map.getZoom(), 16));
    this.setSpot(place.lat, place.lon);
  }

  /** Put the resident's spot at lat/lon (WGS84) and ask for the arrival estimate. */
  setSpot(lat, lon) {
    this.spot = { lat, lon };
    try {
      localStorage.setItem(SPOT_KEY, JSON.stringify(this.spot));
    } catch {
      // Storage refused: the spot simply is not remembered.
    }
    if (!this.marker) {
      this.marker = L.circleMarker([lat, lon], {
        pane: "spotPane",
        radius: 9,
        color: "#111",
        weight: 3,
        fillColor: "#fff",
        fillOpacity: 1,
        interactive: false,
      }).addTo(this.map);
    } else this.marker.setLatLng([lat, lon]);
    this.clear.hidden = false;
    this.outcome = { state: "loading" };
    this.renderResult();
    this.fetchEta();
  }

  clearSpot() {
    this.spot = null;
    this.outcome = null;
    this.marker?.remove();
    this.marker = null;
    this.clear.hidden = true;
    try {
      localStorage.removeItem(SPOT_KEY);
    } catch {
      // Nothing stored to forget.
    }
    this.renderResult();
  }

  restoreSpot() {
    try {
      const saved = JSON.parse(localStorage.getItem(SPOT_KEY) || "null");
      if (saved && Number.isFinite(saved.lat) && Number.isFinite(saved.lon)) {
        this.setSpot(saved.lat, saved.lon);
      }
    } catch {
      // A damaged entry is ignored.
    }
  }

  async fetchEta() {
    const seq = ++this.etaSeq;
    const { lat, lon } = this.spot;
    let outcome;
    try {
      const url = withQuery("/api/v1/eta", { lat: lat.toFixed(6), lon: lon.toFixed(6) });
      outcome = { state: "ok", data: await getJSON(url) };
    } catch (err) {
      const noRoute = err instanceof ApiError && err.status === 404;
      outcome = { state: noRoute ? "no_route" : "error" };
    }
    if (seq !== this.etaSeq || !this.spot) return;
    this.outcome = outcome;
    this.renderResult();
  }

  renderResult() {
    const o = this.outcome;
    if (!o) {
      this.result.innerHTML = "";
      return;
    }
    const simple = { loading: "eta.loading", no_route: "eta.no_route", error: "err.eta" };
    if (o.state in simple) {
      this.result.innerHTML = `<p class="eta-${o.state}">${escapeHtml(t(simple[o.state]))}</p>`;
      return;
    }
    this.result.innerHTML = this.describe(o.data);
  }

  describe(d) {
    const route = this.routes.props(d.route_id);
    const color = safeColor(d.route_color, this.routes.color(d.route_id));
    const schedule = t("eta.schedule", {
      days: daysText(route?.schedule_days) || "–",
      start: d.shift_start || route?.shift_start || "–",
      end: d.shift_end || route?.shift_end || "–",
    });
    const head =
      `<p class="eta-route"><span class="swatch" style="background:${escapeHtml(color)}"></span>` +
      `<b>${escapeHtml(t("eta.route", { name: this.routes.name(d.route_id) }))}</b>` +
      (d.truck_id ? ` · ${escapeHtml(t("eta.truck", { id: d.truck_id }))}` : "") +
      "</p>" +
      (Number.isFinite(d.distance_m)
        ? `<p class="muted">${escapeHtml(t("eta.distance", { n: Math.round(d.distance_m) }))}</p>`
        : "");
    let main;
    if (!d.scheduled_today) main = `<p class="eta-main">${escapeHtml(t("eta.not_today"))}</p>`;
    else if (d.passed_today) {
      const text = d.passed_at ? t("eta.passed", { time: clockWita(d.passed_at) }) : t("eta.passed_notime");
      main = `<p class="eta-main eta-passed">${escapeHtml(text)}</p>`;
    } else if (d.eta) {
      const mins = Number.isFinite(d.eta_minutes) ? Math.max(0, Math.round(d.eta_minutes)) : null;
      main =
        `<p class="eta-main eta-coming">${escapeHtml(t("eta.arrives", { time: clockWita(d.eta) }))}</p>` +
        (mins === null ? "" : `<p>${escapeHtml(t("eta.in_minutes", { n: mins }))}</p>`);
    } else main = `<p class="eta-main">${escapeHtml(t("eta.unknown"))}</p>`;
    return `${head}${main}<p class="muted">${escapeHtml(schedule)}</p>`;
  }
}
