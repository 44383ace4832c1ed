// Dates and times as Kupang sees them (WITA, UTC+8), whatever the browser's zone.

import { t } from "./i18n.js";
import { serverNow } from "./api.js";

export const WITA_ZONE = "Asia/Makassar";

const dateFormat = new Intl.DateTimeFormat("en-CA", {
  timeZone: WITA_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});
const clockFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: WITA_ZONE,
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const secondsFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: WITA_ZONE,
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const weekdayFormat = new Intl.DateTimeFormat("en-US", { timeZone: WITA_ZONE, weekday: "short" });

/** Parse an ISO-8601 string to epoch ms; null when missing or invalid. */
export function parseTime(iso) {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** Today's date in WITA as YYYY-MM-DD (the server's default day). */
export function todayWita() {
  return dateFormat.format(new Date(serverNow()));
}

/** Today's weekday in WITA as the routes' schedule code ("mon" … "sun"). */
export function weekdayWita() {
  return weekdayFormat.format(new Date(serverNow())).toLowerCase().slice(0, 3);
}

/** "HH:MM" in WITA for an ISO time or epoch ms; "–" when missing. */
export function clockWita(value) {
  const ms = typeof value === "number" ? value : parseTime(value);
  return ms === null ? "–" : clockFormat.format(new Date(ms));
}

/** "HH:MM:SS" in WITA for epoch ms. */
export function clockSecondsWita(ms) {
  return secondsFormat.format(new Date(ms));
}

/** "YYYY-MM-DD HH:MM" in WITA for an ISO time; "–" when missing. */
export function dateTimeWita(iso) {
  const ms = parseTime(iso);
  return ms === null ? "–" : `${dateFormat.format(new Date(ms))} ${clockFormat.format(new Date(ms))}`;
}

/** Whole seconds since an ISO time on the server clock, never negative. */
export function ageSeconds(iso) {
  const ms = parseTime(iso);
  return ms === null ? null : Math.max(0, Math.floor((serverNow() - ms) / 1000));
}

/** "n s ago" / "n min ago" / "n h ago" in the active language. */
export function agoText(iso) {
  const s = ageSeconds(iso);
  if (s === null) return t("dash.never");
  if (s < 120) return t("dash.ago_s", { n: s });
  if (s < 7200) return t("dash.ago_m", { n: Math.floor(s / 60) });
  return t("dash.ago_h", { n: Math.floor(s / 3600) });
}

/** Schedule days (["mon", …]) as short local names joined by commas. */
export function daysText(days) {
  return (days || []).map((d) => t(`day.${d}`)).join(", ");
}
