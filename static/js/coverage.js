// Coverage report for one day: city totals, then per kecamatan, route and truck.

import { t, onLangChange } from "./i18n.js";
import { escapeHtml } from "./layers.js";

const COUNT_KEYS = ["scheduled", "serviced", "passed", "missed", "pending"];
const GROUPS = [
  ["kecamatan", "cov.kecamatan"],
  ["routes", "cov.routes"],
  ["trucks", "cov.trucks"],
];

function label(row) {
  return row.name ?? row.route_id ?? row.truck_id ?? row.kecamatan ?? row.id ?? "–";
}

function num(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function kmText(row) {
  return `${num(row.progress_km, 1)} / ${num(row.length_km, 1)}`;
}

function exportUrl(date, format) {
  return `/api/v1/coverage/export?${new URLSearchParams({ date, format })}`;
}

/** The coverage tab: a date form, export links and the rendered report. */
export class CoverageReport {
  constructor(els, fetchJSON) {
    Object.assign(this, { els, fetchJSON });
    this.report = null;
    els.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.load();
    });
    els.date.addEventListener("change", () => this.updateExports());
    onLangChange(() => this.render());
  }

  updateExports() {
    const date = this.els.date.value;
    for (const [format, link] of Object.entries(this.els.exports)) {
      if (date) link.href = exportUrl(date, format);
      else link.removeAttribute("href");
    }
  }

  async load() {
    const date = this.els.date.value;
    this.updateExports();
    this.els.output.innerHTML = `<p class="muted">${escapeHtml(t("eta.loading"))}</p>`;
    const url = `/api/v1/coverage?${new URLSearchParams({ date })}`;
    this.report = await this.fetchJSON(url, "coverage", "dash.err.coverage");
    this.render();
  }

  render() {
    const r = this.report;
    if (!r) {
      this.els.output.innerHTML = "";
      return;
    }
    const parts = [this.cityHtml(r.city || {})];
    for (const [key, title] of GROUPS) {
      if (Array.isArray(r[key]) && r[key].length) parts.push(this.tableHtml(t(title), r[key]));
    }
    if (r.trips && typeof r.trips === "object") parts.push(this.tripsHtml(r.trips));
    this.els.output.innerHTML = parts.join("");
  }

  cityHtml(city) {
    const counts = COUNT_KEYS.map(
      (k) => `<div><span class="muted">${escapeHtml(t(`cov.${k}`))}</span><b>${num(city[k])}</b></div>`,
    ).join("");
    return (
      `<section class="cov-city"><h3>${escapeHtml(t("cov.city"))}</h3>` +
      `<div class="big">${num(city.coverage_pct, 1)}%</div>` +
      `<div class="counts">${counts}<div><span class="muted">${escapeHtml(t("cov.km"))}</span>` +
      `<b>${kmText(city)}</b></div></div></section>`
    );
  }

  tableHtml(title, rows) {
    const head = [t("cov.name"), ...COUNT_KEYS.map((k) => t(`cov.${k}`)), t("cov.pct"), t("cov.km")]
      .map((h, i) => `<th${i ? ' class="num"' : ""}>${escapeHtml(h)}</th>`)
      .join("");
    const body = rows
      .map(
        (row) =>
          `<tr><td>${escapeHtml(String(label(row)))}</td>` +
          COUNT_KEYS.map((k) => `<td class="num">${num(row[k])}</td>`).join("") +
          `<td class="num">${num(row.coverage_pct, 1)}%</td><td class="num">${kmText(row)}</td></tr>`,
      )
      .join("");
    return `<h3>${escapeHtml(title)}</h3><div class="scroll-x"><table class="data"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
  }

  tripsHtml(trips) {
    const items = Object.entries(trips)
      .filter(([, v]) => v === null || typeof v !== "object")
      .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v ?? "–"))}</dd>`)
      .join("");
    return items ? `<h3>${escapeHtml(t("cov.trips"))}</h3><dl class="kv">${items}</dl>` : "";
  }
}
