// The dispatcher's route table: one row per route, refreshed by the `coverage` event.

import { t, onLangChange } from "./i18n.js";
import { agoText, dateTimeWita } from "./time.js";
import { escapeHtml } from "./layers.js";

const AGO_REFRESH_MS = 5000;

function pct(value) {
  return Number.isFinite(value) ? Math.max(0, Math.min(100, value)) : 0;
}

/** Table body `tbody`; rows come from /api/v1/dispatch/routes or the socket. */
export class RouteTable {
  constructor(tbody, routes, { onSelect }) {
    Object.assign(this, { tbody, routes, onSelect });
    this.rows = new Map();
    const select = (e) => {
      const tr = e.target.closest("tr[data-route]");
      if (tr) this.onSelect(tr.dataset.route);
    };
    tbody.addEventListener("click", select);
    tbody.addEventListener("keydown", (e) => e.key === "Enter" && select(e));
    onLangChange(() => this.render());
    setInterval(() => this.render(), AGO_REFRESH_MS);
    this.render();
  }

  /** Replace all rows (a full load). */
  replace(list) {
    this.rows.clear();
    this.update(list);
  }

  /** Merge rows by route_id (a socket update may carry only some). */
  update(list) {
    for (const row of list || []) {
      if (row && row.route_id) this.rows.set(row.route_id, { ...this.rows.get(row.route_id), ...row });
    }
    this.render();
  }

  render() {
    const rows = [...this.rows.values()].sort((a, b) => a.route_id.localeCompare(b.route_id));
    if (rows.length === 0) {
      this.tbody.innerHTML = `<tr><td colspan="7" class="muted">${escapeHtml(t("dash.empty"))}</td></tr>`;
      return;
    }
    this.tbody.innerHTML = rows.map((r) => this.rowHtml(r)).join("");
  }

  rowHtml(r) {
    const color = escapeHtml(this.routes.color(r.route_id));
    const status = r.device_status || "none";
    const progress = pct(r.progress_pct);
    const serviced = `${r.bins_serviced ?? 0}/${r.bins_scheduled ?? 0}`;
    const passedTitle = `${t("cov.passed")}: ${r.bins_passed ?? 0}`;
    return (
      `<tr data-route="${escapeHtml(r.route_id)}" tabindex="0">` +
      `<td><span class="swatch" style="background:${color}"></span>${escapeHtml(this.routes.name(r.route_id))}</td>` +
      `<td>${escapeHtml(r.truck_id || "–")}</td>` +
      `<td><span class="pill dev-${escapeHtml(status)}">${escapeHtml(t(`dash.device.${status}`))}</span></td>` +
      `<td><span class="bar"><span style="width:${progress}%;background:${color}"></span></span>` +
      ` ${Math.round(progress)}%</td>` +
      `<td class="num" title="${escapeHtml(passedTitle)}">${serviced}</td>` +
      `<td class="num${r.bins_missed ? " missed" : ""}">${r.bins_missed ?? 0}</td>` +
      `<td title="${escapeHtml(dateTimeWita(r.last_contact))}">${escapeHtml(agoText(r.last_contact))}</td>` +
      "</tr>"
    );
  }
}
