// The public map at "/": layers, live trucks, the arrival panel, the legend.

import { bindLangButtons } from "./i18n.js";
import { createMap, loadConfig } from "./mapview.js";
import { BinsLayer, DrivenLayer, RoutesLayer, loadKecamatan, loadSites } from "./layers.js";
import { TrucksLayer } from "./trucks.js";
import { ConnectionBanner, connectLive } from "./live.js";
import { EtaPanel } from "./eta.js";
import { renderLegend } from "./legend.js";

const BINS_REFRESH_MS = 5 * 60000;
const TRUCKS_RESYNC_MS = 60000;
const DRIVEN_POLL_MS = 60000;

function bindSheet(map) {
  const panel = document.getElementById("panel");
  const toggle = document.getElementById("panel-toggle");
  toggle.addEventListener("click", () => {
    const open = panel.classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
    // On phones the sheet takes height from the map, which must then re-measure.
    map.invalidateSize();
  });
}

async function main() {
  bindLangButtons();
  renderLegend(document.getElementById("legend"));
  const banner = new ConnectionBanner(document.getElementById("conn"));
  const config = await loadConfig();
  const map = createMap(document.getElementById("map"), config);
  bindSheet(map);
  const routes = new RoutesLayer(map);
  const driven = new DrivenLayer(map, routes);
  const bins = new BinsLayer(map);
  const trucks = new TrucksLayer(map, routes);
  // A handle for browser tests and debugging: bins are on a canvas, not in the DOM.
  window.fleet = { map, routes, driven, bins, trucks };
  new EtaPanel(map, routes, {
    input: document.getElementById("place-q"),
    list: document.getElementById("place-list"),
    result: document.getElementById("eta-result"),
    clear: document.getElementById("eta-clear"),
  });
  loadKecamatan(map);
  await routes.load();
  await Promise.all([driven.load(), bins.load(), trucks.sync()]);
  let reconnected = false;
  // After a gap the missed events are gone: fetch the state again.
  const catchUp = () => Promise.all([trucks.sync(), bins.load(), driven.hint()]);
  connectLive(
    "/live",
    {
      positions: (msg) => trucks.update(msg?.trucks),
      bins: (msg) => bins.update(msg?.bins),
      driven: () => driven.hint(),
      disconnect: () => {
        reconnected = true;
      },
    },
    { banner, onConnect: () => reconnected && catchUp() },
  );
  setInterval(() => bins.load(), BINS_REFRESH_MS);
  setInterval(() => driven.hint(), DRIVEN_POLL_MS);
  setInterval(() => {
    if (!document.body.classList.contains("disconnected")) trucks.sync();
  }, TRUCKS_RESYNC_MS);
}

main();
