// The map legend, built from the same colours the layers use.

import { t, onLangChange } from "./i18n.js";
import { BIN_COLORS, SITE_COLORS } from "./layers.js";

const BIN_KEYS = ["today", "yesterday", "older", "never", "planned"];

function row(swatchClass, style, key) {
  const li = document.createElement("li");
  const sw = document.createElement("span");
  sw.className = `lg ${swatchClass}`;
  Object.assign(sw.style, style);
  const label = document.createElement("span");
  label.textContent = t(key);
  li.append(sw, label);
  return li;
}

/** Fill the <ul> `el` with the legend; re-rendered on language switch. */
export function renderLegend(el, { sites = false } = {}) {
  const draw = () => {
    const rows = BIN_KEYS.map((k) =>
      k === "planned"
        ? row("lg-bin lg-hollow", { borderColor: BIN_COLORS[k] }, `legend.${k}`)
        : row("lg-bin", { background: BIN_COLORS[k] }, `legend.${k}`),
    );
    rows.push(row("lg-line lg-driven", {}, "legend.driven"));
    rows.push(row("lg-line lg-todo", {}, "legend.todo"));
    rows.push(row("lg-truck", {}, "legend.truck"));
    if (sites) rows.push(row("lg-site", { borderColor: SITE_COLORS.landfill }, "legend.site"));
    el.replaceChildren(...rows);
  };
  onLangChange(draw);
  draw();
}
