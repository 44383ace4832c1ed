"""Group commit (fleet/commit.py): shared transactions, each job answered after commit."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from fleet.commit import GroupCommit
from fleet.db import Database
from fleet.models import Alert
from fleet.runtime import get_runtime
from fleet.store.alerts import raise_alert


def _alerts(app: Flask) -> int:
    with get_runtime(app).db.read() as session:
        return session.scalar(select(func.count()).select_from(Alert)) or 0


def test_concurrent_jobs_share_commits_and_all_are_stored(app: Flask) -> None:
    from datetime import UTC, datetime

    commits = GroupCommit(get_runtime(app).db)
    results: list[int] = []
    start = threading.Barrier(20)

    def job(i: int) -> None:
        def work(session: Session) -> int:
            raise_alert(session, "idle", f"job {i}", f"job-{i}", datetime.now(UTC))
            return i

        start.wait()
        results.append(commits.run(work))

    threads = [threading.Thread(target=job, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(20))
    assert _alerts(app) == 20
    assert commits.jobs == 20 and commits.groups <= 20


def test_a_failing_job_is_rolled_back_alone(app: Flask) -> None:
    from datetime import UTC, datetime

    commits = GroupCommit(get_runtime(app).db)

    def good(session: Session) -> str:
        raise_alert(session, "idle", "kept", "kept", datetime.now(UTC))
        return "ok"

    def bad(session: Session) -> str:
        raise_alert(session, "idle", "dropped", "dropped", datetime.now(UTC))
        raise ValueError("this job fails")

    assert commits.run(good) == "ok"
    with pytest.raises(ValueError, match="this job fails"):
        commits.run(bad)
    with get_runtime(app).db.read() as session:
        keys = set(session.scalars(select(Alert.dedupe_key)))
    assert keys == {"kept"}


def test_batched_jobs_of_a_group_share_one_call(app: Flask) -> None:
    commits = GroupCommit(get_runtime(app).db)
    calls: list[list[int]] = []
    start = threading.Barrier(10)
    results: list[int] = []

    def batch(session: Session, items: list[int]) -> list[int]:
        calls.append(list(items))
        return [i * 10 for i in items]

    def job(i: int) -> None:
        start.wait()
        results.append(commits.run_batched(batch, i))

    threads = [threading.Thread(target=job, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [i * 10 for i in range(10)]
    assert sorted(i for call in calls for i in call) == list(range(10))
    assert len(calls) <= 10


def test_a_transaction_that_cannot_begin_fails_every_waiting_job(tmp_path: Path) -> None:
    """A connection pool that stays exhausted must answer each request with its error
    (a 503 above), never leave it waiting for a group nobody commits."""
    engine = create_engine(
        f"sqlite:///{tmp_path / 'pool.sqlite3'}", pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    commits = GroupCommit(Database(engine, sessionmaker(engine)))
    outcome: list[BaseException] = []

    def job() -> None:
        try:
            commits.run(lambda session: None)
        except BaseException as exc:  # noqa: BLE001 - the error is what is asserted
            outcome.append(exc)

    with engine.connect():  # the pool's only connection, held elsewhere
        worker = threading.Thread(target=job, daemon=True)
        worker.start()
        worker.join(10)
    assert not worker.is_alive(), "the job waited for a group that never committed"
    assert len(outcome) == 1 and isinstance(outcome[0], PoolTimeout)
