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

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fleet.db import Database

__all__ = ["GroupCommit"]

T = TypeVar("T")

#: Most jobs sharing one transaction.
MAX_GROUP = 500


#: Work for many jobs at once: items in, one result per item out, in order.
Batch = Callable[[Session, list[Any]], list[Any]]


@dataclass
class _Job(Generic[T]):
    work: Callable[[Session], T] | None
    batch: Batch | None = None
    item: Any = None
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
        return self._wait(_Job(work))

    def run_batched(self, batch: Batch, item: Any) -> Any:
        """``batch(session, [item])[0]``, but the items of every job of a group that
        names the same ``batch`` go in one call: one statement for the whole group
        instead of one per request. Committed before it returns, as ``run``."""
        return self._wait(_Job(None, batch, item))

    def _wait(self, job: _Job[T]) -> T:
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
        """Commit the oldest group, then pass the lead on, so no leader waits for all.

        The group is taken once the write transaction has begun: requests that arrive
        while the leader waits for the database lock join this commit, not the next.
        """
        time.sleep(0)  # let requests already running queue their jobs: a bigger group
        group: list[_Job[Any]] = []
        self._commit(group)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.leads = True
                successor.wake.set()
            else:
                self._leading = False

    def _take(self, group: list[_Job[Any]]) -> list[_Job[Any]]:
        """Fill ``group`` with the oldest waiting jobs, if it is still empty."""
        if not group:
            with self._lock:
                group += self._queue[:MAX_GROUP]
                del self._queue[:MAX_GROUP]
        return group

    def _commit(self, group: list[_Job[Any]]) -> None:
        try:
            self._attempt(group, isolate=False)
        except OperationalError as exc:  # locked, full or away: no job would get through
            self._fail(self._take(group), exc)
        except Exception as exc:
            if not group:  # the transaction itself could not begin: nobody gets through
                self._fail(self._take(group), exc)
            else:  # some job failed: again, each job in its own savepoint
                for job in group:
                    job.error = None
                self._isolated(group)
        except BaseException as exc:
            self._fail(self._take(group), exc)
        self.groups += 1
        self.jobs += len(group)
        for job in group:
            job.finished = True
            job.wake.set()

    def _attempt(self, group: list[_Job[Any]], *, isolate: bool) -> None:
        """Run the jobs in one transaction; savepoints only when a job is known to fail
        (two statements per job otherwise spent on every request)."""
        with self._db.write() as session:
            self._take(group)
            if not isolate:
                _run_together(session, group)
                return
            for job in group:
                try:
                    with session.begin_nested():
                        _run_together(session, [job])
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


def _run_together(session: Session, jobs: list[_Job[Any]]) -> None:
    """Each plain job in order; each batch once, with the items of all its jobs."""
    batches: dict[Batch, list[_Job[Any]]] = {}
    for job in jobs:
        if job.work is not None:
            job.result = job.work(session)
        elif job.batch is not None:
            batches.setdefault(job.batch, []).append(job)
    for batch, members in batches.items():
        results = batch(session, [job.item for job in members])
        for job, result in zip(members, results, strict=True):
            job.result = result
