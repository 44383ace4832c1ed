// The dispatcher dashboard at /dispatch: route table, alerts, replay, coverage, full map.

import { ApiError, clearNotice, getJSON, notify } from "./api.js";
import { bindLangButtons, onLangChange, t } from "./i18n.js";
import { createMap, loadConfig } from "./mapview.js";
import { BinsLayer, DrivenLayer, RoutesLayer, loadKecamatan, loadSites } from "./layers.js";
import { TrucksLayer } from "./trucks.js";
import { ConnectionBanner, connectLive } from "./live.js";
import { renderLegend } from "./legend.js";
import { RouteTable } from "./dash-routes.js";
import { AlertsFeed } from "./dash-alerts.js";
import { Replay } from "./replay.js";
import { CoverageReport } from "./coverage.js";
import { todayWita } from "./time.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const TABLE_REFRESH_MS = 60000;

function toLogin() {
  window.location.assign(`/login?next=${encodeURIComponent("/dispatch")}`);
}

/** GET for dispatcher endpoints: 401 sends to the login page, other errors show a notice. */
async function dispatchJSON(url, source, key) {
  try {
    const body = await getJSON(url);
    clearNotice(source);
    return body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) toLogin();
    else notify(source, key);
    return null;
  }
}

function bindTabs(onShow) {
  const buttons = [...document.querySelectorAll("[data-tab]")];
  for (const button of buttons) {
    button.addEventListener("click", () => {
      for (const other of buttons) {
        const selected = other === button;
        other.setAttribute("aria-selected", String(selected));
        $(`tab-${other.dataset.tab}`).hidden = !selected;
      }
      onShow(button.dataset.tab);
    });
  }
}

async function loadSession() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const session = await dispatchJSON("/api/v1/dispatch/session", "session", "dash.err.session");
  let token = meta?.content || "";
  if (!token && session?.csrf_token) token = session.csrf_token;
  if (session?.user) $("user").textContent = `${session.user}${session.role ? ` (${session.role})` : ""}`;
  document.querySelector('#logout input[name="csrf_token"]').value = token;
  return () => token;
}

function buildMap(map) {
  const routes = new RoutesLayer(map);
  const layers = {
    routes,
    driven: new DrivenLayer(map, routes),
    bins: new BinsLayer(map),
    trucks: new TrucksLayer(map, routes),
  };
  return layers;
}

function addLayerControl(map, overlays) {
  let control = null;
  // Leaflet keeps the names it was given, so a language switch rebuilds the control.
  const build = () => {
    control?.remove();
    const named = Object.fromEntries(
      Object.entries(overlays).map(([key, layer]) => [t(`layer.${key}`), layer]),
    );
    control = L.control.layers(null, named, { position: "topright" }).addTo(map);
  };
  build();
  onLangChange(build);
  const legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const box = L.DomUtil.create("div", "map-legend");
    renderLegend(L.DomUtil.create("ul", "legend", box), { sites: true });
    return box;
  };
  legend.addTo(map);
}

function dashboardParts(map, layers, csrfToken) {
  const focusRoute = (id) => id && layers.routes.focus(map, id);
  const table = new RouteTable($("route-table").querySelector("tbody"), layers.routes, {
    onSelect: focusRoute,
  });
  const alerts = new AlertsFeed(
    { list: $("alerts"), badge: $("alert-badge"), showAcked: $("show-acked") },
    csrfToken,
    { onSelect: (a) => focusRoute(a.route_id) },
  );
  const replay = new Replay(
    map,
    layers.routes,
    {
      form: $("replay-form"), truck: $("replay-truck"), date: $("replay-date"),
      player: $("replay-player"), play: $("replay-play"), speed: $("replay-speed"),
      slider: $("replay-slider"), clock: $("replay-clock"), info: $("replay-info"),
      message: $("replay-msg"),
      exports: { gpx: $("exp-gpx"), csv: $("exp-csv"), geojson: $("exp-geojson") },
    },
    dispatchJSON,
  );
  const coverage = new CoverageReport(
    {
      form: $("coverage-form"), date: $("coverage-date"), output: $("coverage-report"),
      exports: { csv: $("cov-csv"), geojson: $("cov-geojson"), gpkg: $("cov-gpkg") },
    },
    dispatchJSON,
  );
  return { table, alerts, replay, coverage };
}

async function loadTable(table) {
  const body = await dispatchJSON("/api/v1/dispatch/routes", "droutes", "dash.err.routes");
  if (body) table.replace(body.routes);
}

async function loadAlerts(alerts) {
  const body = await dispatchJSON("/api/v1/dispatch/alerts", "alerts", "dash.err.alerts");
  if (body) alerts.replace(body.alerts);
}

async function main() {
  bindLangButtons();
  const banner = new ConnectionBanner($("conn"));
  const csrfToken = await loadSession();
  const config = await loadConfig();
  const map = createMap($("map"), config);
  const layers = buildMap(map);
  const parts = dashboardParts(map, layers, csrfToken);
  window.fleet = { map, ...layers, ...parts };
  const today = todayWita();
  $("replay-date").value = today;
  $("coverage-date").value = today;
  parts.coverage.updateExports();
  bindTabs((tab) => {
    map.invalidateSize();
    if (tab === "coverage" && !parts.coverage.report) parts.coverage.load();
  });
  const [sites, kecamatan] = await Promise.all([loadSites(map), loadKecamatan(map)]);
  addLayerControl(map, {
    routes: layers.routes.group,
    driven: layers.driven.group,
    bins: layers.bins.group,
    trucks: layers.trucks.group,
    sites,
    kecamatan,
    replay: parts.replay.group,
  });
  await layers.routes.load();
  const truckIds = () => [
    ...[...layers.routes.byId.values()].map((e) => e.props.truck_id),
    ...layers.trucks.ids(),
  ];
  await Promise.all([
    layers.driven.load(), layers.bins.load(), layers.trucks.sync(),
    loadTable(parts.table), loadAlerts(parts.alerts),
  ]);
  parts.replay.setTrucks(truckIds());
  startLive(layers, parts, banner);
  setInterval(() => loadTable(parts.table), TABLE_REFRESH_MS);
  setInterval(() => layers.driven.hint(), TABLE_REFRESH_MS);
}

function startLive(layers, parts, banner) {
  let reconnected = false;
  connectLive(
    "/live",
    {
      positions: (msg) => layers.trucks.update(msg?.trucks),
      bins: (msg) => layers.bins.update(msg?.bins),
      driven: () => layers.driven.hint(),
      disconnect: () => {
        reconnected = true;
      },
    },
    {
      banner,
      onConnect: () => {
        if (!reconnected) return;
        layers.trucks.sync();
        layers.bins.load();
        loadTable(parts.table);
        loadAlerts(parts.alerts);
      },
    },
  );
  connectLive("/dispatch", {
    alert: (a) => parts.alerts.add(a),
    coverage: (msg) => parts.table.update(msg?.routes),
  });
}

main();
