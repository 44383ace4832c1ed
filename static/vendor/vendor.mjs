// Copies the front-end packages from node_modules into static/vendor so the pages
// run offline and without npm; run `npm ci && npm run vendor`, then commit the result.
import { cpSync, mkdirSync, rmSync } from "node:fs";

const copies = [
  ["node_modules/leaflet/dist/leaflet.js", "static/vendor/leaflet/leaflet.js"],
  ["node_modules/leaflet/dist/leaflet.css", "static/vendor/leaflet/leaflet.css"],
  ["node_modules/leaflet/dist/images", "static/vendor/leaflet/images"],
  ["node_modules/leaflet/LICENSE", "static/vendor/leaflet/LICENSE"],
  ["node_modules/socket.io-client/dist/socket.io.min.js", "static/vendor/socket.io/socket.io.min.js"],
  ["node_modules/socket.io-client/LICENSE", "static/vendor/socket.io/LICENSE"],
];

for (const dir of ["static/vendor/leaflet", "static/vendor/socket.io"]) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}
for (const [from, to] of copies) {
  cpSync(from, to, { recursive: true });
  console.log(`${from} -> ${to}`);
}
