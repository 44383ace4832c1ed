// The alerts feed: newest first, unacknowledged ones stand out and can be acknowledged.

import { notify, clearNotice, postJSON } from "./api.js";
import { t, onLangChange } from "./i18n.js";
import { agoText, dateTimeWita, parseTime } from "./time.js";
import { escapeHtml } from "./layers.js";

/** Feed in `list` (<ul>), count in `badge`, filter checkbox `showAcked`. */
export class AlertsFeed {
  constructor({ list, badge, showAcked }, csrfToken, { onSelect }) {
    Object.assign(this, { list, badge, showAcked, csrfToken, onSelect });
    this.alerts = new Map();
    showAcked.addEventListener("change", () => this.render());
    list.addEventListener("click", (e) => this.onClick(e));
    onLangChange(() => this.render());
    setInterval(() => this.render(), 30000);
    this.render();
  }

  replace(list) {
    this.alerts.clear();
    (list || []).forEach((a) => this.add(a, false));
    this.render();
  }

  /** Add or update one alert (from the `alert` socket event). */
  add(alert, render = true) {
    if (!alert || alert.id === undefined || alert.id === null) return;
    this.alerts.set(String(alert.id), { ...this.alerts.get(String(alert.id)), ...alert });
    if (render) this.render();
  }

  async onClick(e) {
    const button = e.target.closest("button[data-ack]");
    if (button) {
      await this.acknowledge(button.dataset.ack, button);
      return;
    }
    const item = e.target.closest("li[data-id]");
    const alert = item && this.alerts.get(item.dataset.id);
    if (alert) this.onSelect(alert);
  }

  async acknowledge(id, button) {
    button.disabled = true;
    try {
      await postJSON(`/api/v1/dispatch/alerts/${encodeURIComponent(id)}/ack`, this.csrfToken());
      clearNotice("ack");
      this.add({ id, acknowledged: true });
    } catch (err) {
      console.warn("ack", err);
      notify("ack", "dash.err.ack");
      button.disabled = false;
    }
  }

  render() {
    const all = [...this.alerts.values()].sort(
      (a, b) => (parseTime(b.created_at) ?? 0) - (parseTime(a.created_at) ?? 0),
    );
    const open = all.filter((a) => !a.acknowledged).length;
    this.badge.textContent = String(open);
    this.badge.hidden = open === 0;
    const shown = this.showAcked.checked ? all : all.filter((a) => !a.acknowledged);
    if (shown.length === 0) {
      this.list.innerHTML = `<li class="muted empty">${escapeHtml(t("alert.none"))}</li>`;
      return;
    }
    this.list.innerHTML = shown.map((a) => this.itemHtml(a)).join("");
  }

  itemHtml(a) {
    const id = escapeHtml(String(a.id));
    const who = [a.truck_id, a.route_id].filter(Boolean).map(escapeHtml).join(" · ");
    const action = a.acknowledged
      ? `<span class="muted">${escapeHtml(t("alert.acked"))}</span>`
      : `<button type="button" class="button secondary" data-ack="${id}">${escapeHtml(t("alert.ack"))}</button>`;
    return (
      `<li data-id="${id}" class="alert kind-${escapeHtml(a.kind || "")}${a.acknowledged ? " acked" : ""}">` +
      `<div class="alert-head"><b>${escapeHtml(t(`alert.kind.${a.kind}`))}</b> <span>${who}</span>` +
      `<time title="${escapeHtml(dateTimeWita(a.created_at))}">${escapeHtml(agoText(a.created_at))}</time></div>` +
      `<div class="alert-msg">${escapeHtml(a.message || "")}</div>` +
      `<div class="alert-action">${action}</div></li>`
    );
  }
}
