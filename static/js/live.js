// Socket.IO connections and the banner that says when live data has stopped.
// While disconnected the page keeps the last state; Socket.IO keeps reconnecting.

import { notify } from "./api.js";
import { t, onLangChange } from "./i18n.js";

const BACK_BANNER_MS = 4000;

/** The banner (#conn) showing "connection lost" / "connected again". */
export class ConnectionBanner {
  constructor(el) {
    this.el = el;
    this.state = "connecting";
    this.hideTimer = null;
    onLangChange(() => this.render());
    this.render();
  }

  set(state) {
    clearTimeout(this.hideTimer);
    const wasLost = this.state === "lost";
    this.state = state === "up" && wasLost ? "back" : state;
    if (this.state === "back") {
      this.hideTimer = setTimeout(() => this.set("up"), BACK_BANNER_MS);
    }
    document.body.classList.toggle("disconnected", this.state === "lost");
    this.render();
  }

  render() {
    if (!this.el) return;
    const keys = { lost: "conn.lost", back: "conn.back" };
    this.el.hidden = !(this.state in keys);
    this.el.className = `conn conn-${this.state}`;
    if (this.state in keys) this.el.textContent = t(keys[this.state]);
  }
}

/**
 * Connect to a namespace and route its events to `handlers` ({event: fn}).
 * `onConnect` runs after every (re)connection; `banner` (optional) follows the state.
 * Returns the socket, or null when the client library is missing.
 */
export function connectLive(namespace, handlers, { onConnect, banner } = {}) {
  if (typeof window.io !== "function") {
    notify("live", "err.live");
    banner?.set("lost");
    return null;
  }
  const socket = window.io(namespace, { reconnectionDelayMax: 10000 });
  let everConnected = false;
  socket.on("connect", () => {
    everConnected = true;
    banner?.set("up");
    onConnect?.();
  });
  socket.on("disconnect", (reason) => {
    banner?.set("lost");
    // The server closing us is the one case Socket.IO does not retry by itself.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 2000);
  });
  socket.on("connect_error", () => {
    if (!everConnected || !socket.active) banner?.set("lost");
    if (!socket.active) setTimeout(() => socket.connect(), 5000);
  });
  for (const [event, fn] of Object.entries(handlers)) {
    socket.on(event, (payload) => {
      try {
        fn(payload);
      } catch (err) {
        console.warn(`${namespace} ${event}`, err);
      }
    });
  }
  return socket;
}
