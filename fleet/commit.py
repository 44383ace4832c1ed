"""Group commit: concurrent requests share one write transaction and one disk flush.

A durable commit costs a disk flush (milliseconds on SQLite with synchronous=FULL);
done once per request it caps ingestion at a few hundred requests a second. Here the
first waiting request leads: it runs every queued job in one transaction, commits once,
and hands each job its result. If a job fails, the group runs again with each job in
its own savepoint, so one bad job cannot undo the others. Nobody is answered before
the commit that holds their data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from fleet.db import Database

__all__ = ["GroupCommit"]

T = TypeVar("T")

#: Most jobs sharing one transaction.
MAX_GROUP = 500


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T]
    wake: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    leads: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs ``work(session)`` callables in shared, committed transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._queue: list[_Job[Any]] = []
        self._leading = False
        self.groups = 0
        self.jobs = 0

    def run(self, work: Callable[[Session], T]) -> T:
        """The result of ``work``, returned only after its transaction has committed."""
        job: _Job[T] = _Job(work)
        with self._lock:
            self._queue.append(job)
            job.leads = not self._leading
            self._leading = True
        while not job.finished:
            if job.leads:
                job.leads = False
                self._lead_once()
            else:
                job.wake.wait()
                job.wake.clear()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    def _lead_once(self) -> None:
        """Commit the oldest group, then pass the lead on, so no leader waits for all."""
        time.sleep(0)  # let requests already running queue their jobs: a bigger group
        with self._lock:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        self._commit(group)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.leads = True
                successor.wake.set()
            else:
                self._leading = False

    def _commit(self, group: list[_Job[Any]]) -> None:
        try:
            self._attempt(group, isolate=False)
        except Exception:  # some job failed: again, each job in its own savepoint
            for job in group:
                job.error = None
            self._isolated(group)
        except BaseException as exc:
            self._fail(group, exc)
        self.groups += 1
        self.jobs += len(group)
        for job in group:
            job.finished = True
            job.wake.set()

    def _attempt(self, group: list[_Job[Any]], *, isolate: bool) -> None:
        """Run the jobs in one transaction; savepoints only when a job is known to fail
        (two statements per job otherwise spent on every request)."""
        with self._db.write() as session:
            for job in group:
                if not isolate:
                    job.result = job.work(session)
                    continue
                try:
                    with session.begin_nested():
                        job.result = job.work(session)
                except Exception as exc:  # this job alone is rolled back
                    job.error = exc

    def _isolated(self, group: list[_Job[Any]]) -> None:
        try:
            self._attempt(group, isolate=True)
        except BaseException as exc:  # the commit failed: nothing in the group is stored
            self._fail(group, exc)

    @staticmethod
    def _fail(group: list[_Job[Any]], exc: BaseException) -> None:
        for job in group:
            job.error = job.error or exc
