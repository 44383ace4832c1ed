// The Leaflet map both pages share: server-chosen tiles that may fail without harm,
// and panes that keep bins above routes and trucks above everything.

import { getJSON, notify, clearNotice } from "./api.js";

const L = window.L;

export const DEFAULT_CONFIG = {
  tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
  tile_attribution: "© OpenStreetMap contributors",
  center: [-10.1772, 123.607],
  zoom: 13,
};

/** Fetch /api/v1/config, falling back to Kupang defaults when it fails. */
export async function loadConfig() {
  try {
    const config = await getJSON("/api/v1/config");
    clearNotice("config");
    return { ...DEFAULT_CONFIG, ...config };
  } catch (err) {
    console.warn("config", err);
    notify("config", "err.config");
    return DEFAULT_CONFIG;
  }
}

function addTiles(map, config) {
  let failures = 0;
  const tiles = L.tileLayer(config.tile_url, {
    attribution: config.tile_attribution,
    maxZoom: 19,
    crossOrigin: false,
  });
  // Missing tiles leave the plain background; say so once rather than per tile.
  tiles.on("tileerror", () => {
    failures += 1;
    if (failures === 3) notify("tiles", "err.tiles");
  });
  tiles.on("tileload", () => {
    if (failures > 0) clearNotice("tiles");
    failures = 0;
  });
  tiles.addTo(map);
  return tiles;
}

/** Create the map in element `el` from a config; returns the Leaflet map. */
export function createMap(el, config) {
  const map = L.map(el, { zoomControl: false, preferCanvas: false }).setView(
    config.center,
    config.zoom,
  );
  L.control.zoom({ position: "topright" }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  map.createPane("routesPane").style.zIndex = 410;
  map.createPane("drivenPane").style.zIndex = 420;
  map.createPane("binsPane").style.zIndex = 430;
  map.createPane("spotPane").style.zIndex = 640;
  addTiles(map, config);
  if (config.data_attribution) map.attributionControl.addAttribution(config.data_attribution);
  // Truck labels would pile up when the whole city is in view.
  const zoomClass = () => el.classList.toggle("zoom-far", map.getZoom() < 14);
  map.on("zoomend", zoomClass);
  zoomClass();
  return map;
}
