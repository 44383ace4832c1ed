"""The database layer: SQLite's durability per kind of write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text

from fleet.db import Database, open_database

FULL, NORMAL, OFF = 2, 1, 0


def _synchronous(db: Database, *, redoable: bool) -> int:
    with db.write(redoable=redoable) as session:
        return int(session.execute(text("PRAGMA synchronous")).scalar_one())


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    db = open_database(f"sqlite:///{tmp_path / 'fleet.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    return db


def test_acknowledged_writes_flush_and_redoable_ones_do_not(sqlite_db: Database) -> None:
    assert _synchronous(sqlite_db, redoable=False) == FULL
    assert _synchronous(sqlite_db, redoable=True) == NORMAL
    assert _synchronous(sqlite_db, redoable=False) == FULL  # back for the next acknowledgement


def test_a_plain_transaction_after_a_redoable_one_flushes_again(sqlite_db: Database) -> None:
    """Migrations and other writers that begin outside ``write`` get the configured level."""
    assert _synchronous(sqlite_db, redoable=True) == NORMAL
    with sqlite_db.engine.begin() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == FULL


def test_without_wal_redoable_writes_keep_flushing() -> None:
    """Only WAL loses an unflushed commit whole; a database in memory has no WAL."""
    memory = open_database("sqlite://")
    assert _synchronous(memory, redoable=True) == FULL


def test_a_configured_level_is_kept_for_acknowledged_writes(tmp_path: Path) -> None:
    off = open_database(f"sqlite:///{tmp_path / 'off.db'}", sqlite_synchronous="off")
    assert _synchronous(off, redoable=True) == OFF
    extra = open_database(f"sqlite:///{tmp_path / 'extra.db'}", sqlite_synchronous="EXTRA")
    assert _synchronous(extra, redoable=True) == NORMAL
    assert _synchronous(extra, redoable=False) == 3


def test_a_redoable_commit_survives_its_process_being_killed(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """No close, no checkpoint, no flush: the rows are in the WAL and the next reader
    sees them (what a redoable commit may lose is a power cut's, not a crash's)."""
    script = textwrap.dedent(
        f"""
        import os
        from sqlalchemy import text
        from fleet.db import open_database
        db = open_database("sqlite:///{tmp_path / "fleet.db"}")
        with db.write(redoable=True) as session:
            session.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with sqlite_db.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 3


def test_a_failed_redoable_write_leaves_nothing(sqlite_db: Database) -> None:
    with pytest.raises(RuntimeError), sqlite_db.write(redoable=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("processing failed half-way")
    with sqlite_db.read() as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_postgresql_commits_redoable_writes_as_any_other(postgres_url: str) -> None:
    db = open_database(postgres_url)
    with db.write() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS redoable_probe (n integer)"))
        session.execute(text("DELETE FROM redoable_probe"))
    with pytest.raises(RuntimeError), db.write(redoable=True) as session:
        session.execute(text("INSERT INTO redoable_probe VALUES (1)"))
        raise RuntimeError("processing failed half-way")
    with db.write(redoable=True) as session:
        session.execute(text("INSERT INTO redoable_probe VALUES (2)"))
    with db.read() as session:
        assert session.execute(text("SELECT n FROM redoable_probe")).scalars().all() == [2]
    db.engine.dispose()
