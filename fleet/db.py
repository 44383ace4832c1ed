"""Engine and sessions per app: plain SQLAlchemy 2.0.

SQLite is the embedded default: WAL so map readers never wait for the writer, foreign
keys on, and write transactions taken with ``BEGIN IMMEDIATE`` so two writers queue on
the lock instead of failing half-way. A writer waits for another process's lock in
Python, not in SQLite's busy handler: under gevent a wait inside SQLite stops every
request of the process until the other writer is done. PostgreSQL is used as it is.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fleet.config import ConfigError

__all__ = ["Database", "open_database"]

#: How long a reader, or a writer in total, waits for SQLite's lock before failing.
SQLITE_BUSY_S = 10.0
#: A writer that finds the lock taken sleeps this long at first, doubling to the most.
_LOCK_RETRY_S = (0.0002, 0.001)


@dataclass(frozen=True)
class Database:
    """One app's engine with its session factory.

    On SQLite, writers of one process also queue on a lock in Python: under gevent a
    writer blocked inside SQLite's busy wait would block the whole process, including
    the greenlet that holds the database lock, until the timeout.
    """

    engine: Engine
    _sessions: sessionmaker[Session]
    _write_lock: Any = field(default_factory=threading.Lock)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self, *, redoable: bool = False) -> Iterator[Session]:
        """A transaction that commits on success; the caller acknowledges only after it.

        ``redoable``: its work is derived from rows already durable and is done again if
        lost (processing removes the queue rows it worked off in the same transaction).
        On SQLite its commit then skips the disk flush, which shortens the time it holds
        the one write lock that acknowledging requests wait for. WAL keeps commits in
        order, so the next flushed commit makes it durable too; a power cut before that
        loses it whole, never in part (what it had broadcast, such as an alert, may then
        be sent again when it is redone).
        """
        if not self.is_sqlite:
            with self._sessions.begin() as session:
                yield session
            return
        kind = "redoable" if redoable else "durable"
        with self._write_lock, self._sessions.begin() as session:
            session.connection(execution_options={"fleet_write": kind})
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only view; nothing it does is committed."""
        with self._sessions() as session:
            yield session


def _sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_S * 1000:.0f}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()
        record.info["fleet_wal"] = str(mode).lower() == "wal"
        record.info["fleet_synchronous"] = synchronous

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        kind = conn.get_execution_options().get("fleet_write")
        info = conn.connection.info
        level = synchronous
        if kind == "redoable" and info.get("fleet_wal"):
            level = _redoable_level(synchronous)
        if info.get("fleet_synchronous") != level:  # SQLite refuses it inside a transaction
            conn.connection.dbapi_connection.execute(f"PRAGMA synchronous={level}")
            info["fleet_synchronous"] = level
        if kind:
            _begin_immediate(conn)
        else:
            conn.exec_driver_sql("BEGIN")


def _redoable_level(synchronous: str) -> str:
    """NORMAL for redoable writes: in WAL it keeps a commit through a crash of the
    process but not of the machine, and a lost commit is lost whole (WAL replays only
    whole transactions, in order); OFF stays OFF. Without WAL (a database in memory)
    writes keep the configured level."""
    return "OFF" if synchronous == "OFF" else "NORMAL"


def _begin_immediate(conn: Any) -> None:
    """Take the write lock, sleeping between tries (a greenlet switch under gevent)
    while another process holds it; fails as SQLite would after ``SQLITE_BUSY_S``."""
    raw = conn.connection.dbapi_connection
    deadline = time.monotonic() + SQLITE_BUSY_S
    delay_s, most_s = _LOCK_RETRY_S
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    break
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, most_s)
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # once more: it fails as SQLAlchemy's error
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_S * 1000:.0f}")


def open_database(url: str, *, sqlite_synchronous: str = "FULL", check: bool = True) -> Database:
    """Build the engine; with ``check``, connect once so a bad URL fails at start-up."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"FLEET_DATABASE_URL: not a database URL (got {url!r})") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError, ModuleNotFoundError) as exc:
        raise ConfigError(f"FLEET_DATABASE_URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine, sqlite_synchronous.upper())
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            safe = parsed.render_as_string(hide_password=True)
            raise ConfigError(f"FLEET_DATABASE_URL: cannot connect to {safe}: {reason}") from None
    sessions = sessionmaker(engine, expire_on_commit=False)
    return Database(engine, sessions)
