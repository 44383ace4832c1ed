// Talking to the server: JSON fetches that never throw past the caller's error message,
// and the server clock offset so "n s ago" is right even when the phone's clock is off.

import { t, onLangChange } from "./i18n.js";

const REQUEST_TIMEOUT_MS = 20000;
let clockOffsetMs = 0;

/** Error carrying the HTTP status (0 when the network failed). */
export class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function learnClock(response) {
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) clockOffsetMs = date - Date.now();
}

/** Milliseconds since epoch on the server's clock (to within a second). */
export function serverNow() {
  return Date.now() + clockOffsetMs;
}

async function request(url, options) {
  let response;
  try {
    // A hung request must not hold up the rest of the page forever.
    const signal = AbortSignal.timeout ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : undefined;
    response = await fetch(url, { credentials: "same-origin", signal, ...options });
  } catch {
    throw new ApiError(0, null);
  }
  learnClock(response);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  // A POST may answer 204 with no body; a GET without JSON is a failure.
  if (body === null && options.method !== "POST") throw new ApiError(response.status, null);
  return body ?? {};
}

/** GET a JSON document; rejects with ApiError on network, HTTP or parse failure. */
export function getJSON(url) {
  return request(url, { headers: { Accept: "application/json" } });
}

/** POST with the CSRF header Flask-WTF expects; rejects with ApiError. */
export function postJSON(url, csrfToken, payload = {}) {
  return request(url, {
    method: "POST",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken,
    },
    body: JSON.stringify(payload),
  });
}

/** Build a URL with query parameters, skipping empty ones. */
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

// Small messages, one per failing source, cleared when that source works again.
const notices = new Map();

function noticeBox() {
  let box = document.getElementById("notices");
  if (!box) {
    box = document.createElement("div");
    box.id = "notices";
    box.setAttribute("role", "status");
    document.body.append(box);
  }
  return box;
}

function renderNotices() {
  const box = noticeBox();
  box.replaceChildren(
    ...[...notices.entries()].map(([source, key]) => {
      const item = document.createElement("button");
      item.type = "button";
      item.className = "notice";
      item.textContent = t(key);
      // A tap hides it; the source shows it again if it fails again.
      item.addEventListener("click", () => clearNotice(source));
      return item;
    }),
  );
  box.hidden = notices.size === 0;
}

/** Show the message with i18n key `key` for source `source` until cleared. */
export function notify(source, key) {
  notices.set(source, key);
  renderNotices();
}

/** Remove the message for `source` (it has recovered). */
export function clearNotice(source) {
  if (notices.delete(source)) renderNotices();
}

/** Run loader(); on failure show the notice for `source`, return fallback. */
export async function guarded(source, key, loader, fallback = null) {
  try {
    const value = await loader();
    clearNotice(source);
    return value;
  } catch (err) {
    console.warn(source, err);
    notify(source, key);
    return fallback;
  }
}

onLangChange(renderNotices);
