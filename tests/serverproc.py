"""A real ``fleet serve`` process on a free loopback port, for fault, hostile and load runs.

In-process test clients cannot show what a device sees when the server dies, the
database restarts or a socket trickles bytes; a real process can. The helper starts the
server on its own SQLite file or PostgreSQL database, waits until it answers HTTP, and
stops it with SIGTERM or SIGKILL. Databases are prepared (schema and reference layers)
before the server starts, so a start takes about as long as importing the app.

Usable from pytest (``tests`` is on ``sys.path``) and from ``simulations/`` scripts,
which put the ``tests`` folder on ``sys.path`` first.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import requests
from sqlalchemy import create_engine, text

__all__ = [
    "PG_ADMIN_URL",
    "FleetServer",
    "add_devices",
    "count_pings",
    "fix_times",
    "free_port",
    "postgres_database",
    "prepare_database",
    "sqlite_database",
]

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / ".venv" / "bin" / "fleet"
#: Debian's Chromium, as .ci/run installs it, for the browser tests and screenshots.
CHROMIUM = Path(os.environ.get("FLEET_TEST_CHROMIUM", "/usr/bin/chromium"))
#: Headless in a container, offline: no sandbox, GPU or background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PG_ADMIN_URL = os.environ.get(
    "FLEET_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout_s: float, step_s: float = 0.2) -> bool:
    """Whether ``predicate`` came true within ``timeout_s`` (polled every ``step_s``)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


def prepare_database(url: str) -> None:
    """Schema and reference layers, built in this process so a server start is quick."""
    from fleet import create_app
    from fleet.bootstrap import prepare
    from fleet.runtime import get_runtime

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "serverproc", "TESTING": True})
    prepare(app)
    get_runtime(app).db.engine.dispose()


def sqlite_database(path: Path, template: Path | None = None) -> str:
    """A prepared SQLite file at ``path`` (a copy of ``template`` when given)."""
    url = f"sqlite:///{path}"
    if template is not None:
        shutil.copy(template, path)
    else:
        prepare_database(url)
    return url


def postgres_database(name: str, admin_url: str = PG_ADMIN_URL) -> str:
    """Drop and recreate the PostgreSQL database ``name``, prepared; returns its URL."""
    if not name.isidentifier():
        raise ValueError(f"not a plain database name: {name!r}")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    prepare_database(url)
    return url


def add_devices(url: str, trucks: Iterable[str]) -> dict[str, str]:
    """Register one device per truck; truck -> device identifier."""
    from fleet.db import open_database
    from fleet.store.devices import add_device

    db = open_database(url)
    try:
        with db.write() as session:
            return {truck: add_device(session, truck) for truck in trucks}
    finally:
        db.engine.dispose()


def fix_times(url: str) -> dict[str, list[str]]:
    """Stored fix times per device identifier, as ISO strings in UTC, sorted."""
    engine = create_engine(url)
    query = text(
        "SELECT d.identifier, p.fix_time FROM pings p JOIN devices d ON d.id = p.device_id"
    )
    out: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            for identifier, fix_time in conn.execute(query):
                out.setdefault(identifier, []).append(_iso_utc(fix_time))
    finally:
        engine.dispose()
    return {k: sorted(v) for k, v in out.items()}


def count_pings(url: str) -> int:
    """Rows in ``pings``."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM pings")).scalar_one())
    finally:
        engine.dispose()


def _iso_utc(value: object) -> str:
    """Fix times come back naive (UTC) from SQLite and aware from PostgreSQL."""
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass
class FleetServer:
    """One ``fleet serve`` subprocess; ``start`` again after a stop keeps the same ports."""

    database_url: str
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    osmand: bool = False
    port: int = field(default_factory=free_port)
    osmand_port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    #: Extra ``fleet serve`` flags (``--no-worker``, ``--inline-worker``).
    serve_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def osmand_url(self) -> str:
        if self.osmand_port is None:
            raise RuntimeError("started without an OsmAnd port")
        return f"http://127.0.0.1:{self.osmand_port}"

    def environment(self) -> dict[str, str]:
        """The environment of this server's processes."""
        return {
            **os.environ,
            "FLEET_DATABASE_URL": self.database_url,
            "FLEET_SECRET_KEY": "serverproc",
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }

    def start(self, timeout_s: float = 30.0) -> FleetServer:
        """Spawn the server and return once it answers HTTP; raise with its log if not."""
        if self.osmand and self.osmand_port is None:
            self.osmand_port = free_port()
        args = [str(FLEET), "serve", *self.serve_args, "--host", "127.0.0.1"]
        args += ["--port", str(self.port)]
        if self.osmand_port is not None:
            args += ["--osmand-port", str(self.osmand_port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                args,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready(timeout_s)
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"fleet serve exited early:\n{self.log_tail()}")
            try:
                requests.get(f"{self.url}/api/v1/config", timeout=1.0)
                return
            except requests.RequestException:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"fleet serve did not answer in {timeout_s} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush, as a power cut or the OOM killer does."""
        self._signal(signal.SIGKILL, timeout_s=10.0)

    def terminate(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it has not gone within ``timeout_s``."""
        if not self._signal(signal.SIGTERM, timeout_s):
            self.kill()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal(self, sig: signal.Signals, timeout_s: float) -> bool:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return True
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> FleetServer:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.terminate()


if __name__ == "__main__":  # pragma: no cover - a manual smoke run
    import tempfile

    folder = Path(tempfile.mkdtemp())
    server = FleetServer(sqlite_database(folder / "fleet.sqlite3"), folder / "server.log")
    with server:
        print(server.url, requests.get(server.url + "/api/v1/config", timeout=5).status_code)
    sys.exit(0)
