// Every user-facing string of the pages, Bahasa Indonesia first (the default) and English.
// Placeholders are written {name} and filled by t(key, {name: value}).

const STRINGS = {
  id: {
    "app.title": "Truk Sampah Kota Kupang",
    "app.subtitle": "Peta langsung",
    "page.public": "Truk Sampah Kota Kupang — Peta langsung",
    "page.dispatch": "Dasbor Dispatcher — Truk Sampah Kota Kupang",
    "lang.switch": "Bahasa",
    "conn.lost": "Koneksi terputus — menampilkan data terakhir",
    "conn.back": "Tersambung kembali",
    "conn.connecting": "Menyambungkan…",
    "err.config": "Pengaturan peta tidak dapat dimuat; memakai bawaan.",
    "err.routes": "Rute tidak dapat dimuat.",
    "err.driven": "Jalur yang sudah dilalui tidak dapat dimuat.",
    "err.bins": "Titik tempat sampah tidak dapat dimuat.",
    "err.trucks": "Posisi truk tidak dapat dimuat.",
    "err.sites": "Lokasi TPA/depo tidak dapat dimuat.",
    "err.kecamatan": "Batas kecamatan tidak dapat dimuat.",
    "err.places": "Pencarian tempat gagal.",
    "err.eta": "Perkiraan kedatangan tidak dapat dimuat.",
    "err.tiles": "Peta dasar tidak tersedia; lapisan tetap ditampilkan.",
    "err.live": "Pembaruan langsung tidak tersedia.",
    "truck.updated": "diperbarui {n} dtk lalu",
    "truck.updated_min": "diperbarui {n} mnt lalu",
    "truck.speed": "{n} km/jam",
    "truck.status.on_route": "Di rute",
    "truck.status.off_route": "Keluar rute",
    "truck.status.stale": "Data lama",
    "truck.status.offline": "Tidak aktif",
    "truck.route": "Rute",
    "eta.title": "Kapan truk datang?",
    "eta.hint": "Klik peta di lokasi Anda, atau cari kelurahan / nama jalan.",
    "eta.search": "Cari kelurahan atau jalan…",
    "eta.kind.kelurahan": "kelurahan",
    "eta.kind.street": "jalan",
    "eta.none": "Tidak ada hasil",
    "eta.loading": "Memuat…",
    "eta.no_route": "Tidak ada rute truk dalam 500 m dari titik ini.",
    "eta.route": "Rute {name}",
    "eta.truck": "Truk {id}",
    "eta.distance": "{n} m dari titik Anda",
    "eta.not_today": "Rute ini tidak dijadwalkan hari ini.",
    "eta.schedule": "Jadwal: {days}, {start}–{end} WITA",
    "eta.passed": "Truk sudah lewat hari ini pukul {time} WITA.",
    "eta.passed_notime": "Truk sudah lewat hari ini.",
    "eta.arrives": "Perkiraan tiba pukul {time} WITA",
    "eta.in_minutes": "sekitar {n} menit lagi",
    "eta.unknown": "Belum ada perkiraan; truk belum berangkat atau belum mengirim posisi.",
    "eta.clear": "Hapus titik",
    "eta.your_spot": "Titik Anda",
    "legend.title": "Keterangan",
    "legend.today": "Dilayani hari ini",
    "legend.yesterday": "Dilayani kemarin",
    "legend.older": "2 hari atau lebih",
    "legend.never": "Belum pernah dilayani",
    "legend.planned": "Direncanakan (belum dipasang)",
    "legend.driven": "Sudah dilalui hari ini",
    "legend.todo": "Belum dilalui",
    "legend.truck": "Truk (panah = arah)",
    "legend.site": "Depo / TPA",
    "bin.title": "Tempat sampah {id}",
    "bin.last": "Terakhir dilayani: {time}",
    "bin.never": "Belum pernah dilayani",
    "bin.planned": "Direncanakan, belum dipasang",
    "panel.toggle": "Buka/tutup panel",
    "day.mon": "Sen", "day.tue": "Sel", "day.wed": "Rab", "day.thu": "Kam",
    "day.fri": "Jum", "day.sat": "Sab", "day.sun": "Min",
    "layer.routes": "Rute",
    "layer.driven": "Sudah dilalui",
    "layer.bins": "Tempat sampah",
    "layer.trucks": "Truk",
    "layer.sites": "Depo / TPA",
    "layer.kecamatan": "Batas kecamatan",
    "layer.replay": "Riwayat",
    "dash.title": "Dasbor Dispatcher",
    "dash.logout": "Keluar",
    "dash.tab.routes": "Rute",
    "dash.tab.alerts": "Peringatan",
    "dash.tab.replay": "Riwayat",
    "dash.tab.coverage": "Cakupan",
    "dash.col.route": "Rute",
    "dash.col.truck": "Truk",
    "dash.col.device": "Perangkat",
    "dash.col.progress": "Kemajuan",
    "dash.col.serviced": "Dilayani",
    "dash.col.missed": "Terlewat",
    "dash.col.contact": "Kontak terakhir",
    "dash.device.online": "daring",
    "dash.device.stale": "tertunda",
    "dash.device.offline": "luring",
    "dash.device.none": "tanpa perangkat",
    "dash.never": "belum pernah",
    "dash.ago_s": "{n} dtk lalu",
    "dash.ago_m": "{n} mnt lalu",
    "dash.ago_h": "{n} jam lalu",
    "dash.empty": "Tidak ada data.",
    "dash.err.session": "Sesi tidak dapat dimuat.",
    "dash.err.routes": "Tabel rute tidak dapat dimuat.",
    "dash.err.alerts": "Peringatan tidak dapat dimuat.",
    "dash.err.ack": "Peringatan tidak dapat ditandai.",
    "dash.err.history": "Riwayat tidak dapat dimuat.",
    "dash.err.coverage": "Laporan cakupan tidak dapat dimuat.",
    "alert.ack": "Tandai selesai",
    "alert.acked": "Sudah ditangani",
    "alert.show_acked": "Tampilkan yang sudah ditangani",
    "alert.none": "Tidak ada peringatan.",
    "alert.kind.off_route": "Keluar rute",
    "alert.kind.stale": "Data tertunda",
    "alert.kind.offline": "Perangkat luring",
    "alert.kind.missed_bins": "Tempat sampah terlewat",
    "alert.kind.idle": "Diam terlalu lama",
    "replay.truck": "Truk",
    "replay.date": "Tanggal",
    "replay.load": "Muat",
    "replay.play": "Putar",
    "replay.pause": "Jeda",
    "replay.speed": "Kecepatan",
    "replay.empty": "Tidak ada posisi untuk truk dan tanggal ini.",
    "replay.fixes": "{n} posisi, {start}–{end} WITA",
    "replay.off_route": "keluar rute",
    "export.label": "Ekspor",
    "cov.date": "Tanggal",
    "cov.load": "Tampilkan",
    "cov.city": "Kota",
    "cov.kecamatan": "Kecamatan",
    "cov.routes": "Rute",
    "cov.trucks": "Truk",
    "cov.trips": "Perjalanan",
    "cov.name": "Nama",
    "cov.scheduled": "Terjadwal",
    "cov.serviced": "Dilayani",
    "cov.passed": "Dilewati",
    "cov.missed": "Terlewat",
    "cov.pending": "Menunggu",
    "cov.pct": "Cakupan",
    "cov.km": "Jarak (km)",
    "login.title": "Masuk dispatcher",
    "login.username": "Nama pengguna",
    "login.password": "Kata sandi",
    "login.submit": "Masuk",
    "login.back": "Kembali ke peta umum",
  },
  en: {
    "app.title": "Kupang City Garbage Trucks",
    "app.subtitle": "Live map",
    "page.public": "Kupang City Garbage Trucks — Live map",
    "page.dispatch": "Dispatcher dashboard — Kupang City Garbage Trucks",
    "lang.switch": "Language",
    "conn.lost": "Connection lost — showing last known data",
    "conn.back": "Connected again",
    "conn.connecting": "Connecting…",
    "err.config": "Map settings could not be loaded; using defaults.",
    "err.routes": "Routes could not be loaded.",
    "err.driven": "Driven stretches could not be loaded.",
    "err.bins": "Bin locations could not be loaded.",
    "err.trucks": "Truck positions could not be loaded.",
    "err.sites": "Depot/landfill sites could not be loaded.",
    "err.kecamatan": "District boundaries could not be loaded.",
    "err.places": "Place search failed.",
    "err.eta": "Arrival estimate could not be loaded.",
    "err.tiles": "Base map unavailable; layers are still shown.",
    "err.live": "Live updates unavailable.",
    "truck.updated": "updated {n} s ago",
    "truck.updated_min": "updated {n} min ago",
    "truck.speed": "{n} km/h",
    "truck.status.on_route": "On route",
    "truck.status.off_route": "Off route",
    "truck.status.stale": "Stale data",
    "truck.status.offline": "Offline",
    "truck.route": "Route",
    "eta.title": "When does the truck come?",
    "eta.hint": "Click the map where you live, or search a kelurahan / street name.",
    "eta.search": "Search kelurahan or street…",
    "eta.kind.kelurahan": "kelurahan",
    "eta.kind.street": "street",
    "eta.none": "No results",
    "eta.loading": "Loading…",
    "eta.no_route": "No truck route within 500 m of this spot.",
    "eta.route": "Route {name}",
    "eta.truck": "Truck {id}",
    "eta.distance": "{n} m from your spot",
    "eta.not_today": "This route is not scheduled today.",
    "eta.schedule": "Schedule: {days}, {start}–{end} WITA",
    "eta.passed": "The truck already passed today at {time} WITA.",
    "eta.passed_notime": "The truck already passed today.",
    "eta.arrives": "Estimated arrival at {time} WITA",
    "eta.in_minutes": "in about {n} minutes",
    "eta.unknown": "No estimate yet; the truck has not started or sent a position.",
    "eta.clear": "Clear spot",
    "eta.your_spot": "Your spot",
    "legend.title": "Legend",
    "legend.today": "Serviced today",
    "legend.yesterday": "Serviced yesterday",
    "legend.older": "2 or more days ago",
    "legend.never": "Never serviced",
    "legend.planned": "Planned (not installed)",
    "legend.driven": "Driven today",
    "legend.todo": "Still to come",
    "legend.truck": "Truck (arrow = heading)",
    "legend.site": "Depot / landfill",
    "bin.title": "Bin {id}",
    "bin.last": "Last serviced: {time}",
    "bin.never": "Never serviced",
    "bin.planned": "Planned, not installed",
    "panel.toggle": "Open/close panel",
    "day.mon": "Mon", "day.tue": "Tue", "day.wed": "Wed", "day.thu": "Thu",
    "day.fri": "Fri", "day.sat": "Sat", "day.sun": "Sun",
    "layer.routes": "Routes",
    "layer.driven": "Driven today",
    "layer.bins": "Bins",
    "layer.trucks": "Trucks",
    "layer.sites": "Depots / landfill",
    "layer.kecamatan": "District boundaries",
    "layer.replay": "History",
    "dash.title": "Dispatcher dashboard",
    "dash.logout": "Log out",
    "dash.tab.routes": "Routes",
    "dash.tab.alerts": "Alerts",
    "dash.tab.replay": "History",
    "dash.tab.coverage": "Coverage",
    "dash.col.route": "Route",
    "dash.col.truck": "Truck",
    "dash.col.device": "Device",
    "dash.col.progress": "Progress",
    "dash.col.serviced": "Serviced",
    "dash.col.missed": "Missed",
    "dash.col.contact": "Last contact",
    "dash.device.online": "online",
    "dash.device.stale": "stale",
    "dash.device.offline": "offline",
    "dash.device.none": "no device",
    "dash.never": "never",
    "dash.ago_s": "{n} s ago",
    "dash.ago_m": "{n} min ago",
    "dash.ago_h": "{n} h ago",
    "dash.empty": "No data.",
    "dash.err.session": "Session could not be loaded.",
    "dash.err.routes": "Route table could not be loaded.",
    "dash.err.alerts": "Alerts could not be loaded.",
    "dash.err.ack": "Alert could not be acknowledged.",
    "dash.err.history": "History could not be loaded.",
    "dash.err.coverage": "Coverage report could not be loaded.",
    "alert.ack": "Acknowledge",
    "alert.acked": "Acknowledged",
    "alert.show_acked": "Show acknowledged",
    "alert.none": "No alerts.",
    "alert.kind.off_route": "Off route",
    "alert.kind.stale": "Stale data",
    "alert.kind.offline": "Device offline",
    "alert.kind.missed_bins": "Missed bins",
    "alert.kind.idle": "Idle too long",
    "replay.truck": "Truck",
    "replay.date": "Date",
    "replay.load": "Load",
    "replay.play": "Play",
    "replay.pause": "Pause",
    "replay.speed": "Speed",
    "replay.empty": "No positions for this truck and date.",
    "replay.fixes": "{n} positions, {start}–{end} WITA",
    "replay.off_route": "off route",
    "export.label": "Export",
    "cov.date": "Date",
    "cov.load": "Show",
    "cov.city": "City",
    "cov.kecamatan": "Districts",
    "cov.routes": "Routes",
    "cov.trucks": "Trucks",
    "cov.trips": "Trips",
    "cov.name": "Name",
    "cov.scheduled": "Scheduled",
    "cov.serviced": "Serviced",
    "cov.passed": "Passed",
    "cov.missed": "Missed",
    "cov.pending": "Pending",
    "cov.pct": "Coverage",
    "cov.km": "Distance (km)",
    "login.title": "Dispatcher sign-in",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.back": "Back to the public map",
  },
};

const STORAGE_KEY = "fleet.lang";
const listeners = [];
let current = readStoredLang();

function readStoredLang() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return stored in STRINGS ? stored : "id";
  } catch {
    return "id";
  }
}

/** The active language code, "id" or "en". */
export function lang() {
  return current;
}

/** Translate a key, filling {placeholders}; unknown keys show as themselves. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Switch language, remember it, and re-render everything that registered. */
export function setLang(code) {
  if (!(code in STRINGS)) return;
  current = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Private browsing may refuse storage; the switch still works for this visit.
  }
  applyI18n();
  listeners.forEach((fn) => fn(code));
}

/** Call fn after every language switch (for text built in JS). */
export function onLangChange(fn) {
  listeners.push(fn);
}

/** Fill static markup: data-i18n (text), data-i18n-placeholder, -title, -aria-label. */
export function applyI18n(root = document) {
  document.documentElement.lang = current;
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  for (const attr of ["placeholder", "title", "aria-label"]) {
    const dataKey = `i18n${attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase())}`;
    root.querySelectorAll(`[data-i18n-${attr}]`).forEach((el) => {
      el.setAttribute(attr, t(el.dataset[dataKey]));
    });
  }
  root.querySelectorAll("[data-lang]").forEach((el) => {
    el.setAttribute("aria-pressed", String(el.dataset.lang === current));
  });
}

/** Wire every [data-lang] button on the page to the switch. */
export function bindLangButtons(root = document) {
  root.querySelectorAll("[data-lang]").forEach((el) => {
    el.addEventListener("click", () => setLang(el.dataset.lang));
  });
  applyI18n(root);
}
