"""The processing stage: snap, count and broadcast the pings that ingestion queued.

In a server it runs in the background and is woken by each acknowledged request; any
number of processes may run it against one PostgreSQL database, since a truck being
processed elsewhere is skipped, not waited for. Without a background worker (tests,
command-line tools) ingestion drains the queue inline after acknowledging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from fleet.pipeline import BATCH, ProcessResult, prematch_round, process_round
from fleet.store.pings import pending_trucks

if TYPE_CHECKING:
    from fleet.runtime import Runtime

__all__ = ["Worker", "publish"]

log = logging.getLogger(__name__)

#: How often an idle worker looks for pings queued by other processes.
POLL_S = 0.5
#: Pings per write transaction on SQLite (whole trucks; at least one).
PINGS_PER_WRITE = 25
#: Pings waiting that mean load: the worker then rests between rounds. A fleet's own
#: rate (a fix a second per truck, processed as it comes) leaves a few waiting at most;
#: a flood of fixes leaves dozens even when the worker keeps up.
BUSY_PINGS = 20
#: Longest rest between rounds, however long the last round took.
REST_MAX_S = 0.5


def publish(runtime: Runtime, result: ProcessResult) -> None:
    """Hand what processing changed to the broadcaster (sent at its next flush)."""
    if result.position is not None:
        runtime.broadcaster.positions([result.position])
    if result.bins:
        runtime.broadcaster.bins(result.bins)
    if result.route_ids:
        runtime.broadcaster.coverage(result.route_ids)
    for alert in result.alerts:
        runtime.broadcaster.alert(alert)


class Worker:
    """Drains the queue of one app's database; ``run_forever`` in the background."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.started = False
        #: Another process (``fleet worker``) drains the queue; requests only enqueue.
        self.external = False
        #: Wakes the server's processing child (``fleet.worker_process``), if it has one.
        self.signal: Callable[[], None] | None = None
        #: Where results go: the broadcaster here, the pipe to the server in a child.
        self.report: Callable[[ProcessResult], None] = lambda result: publish(runtime, result)
        self._wake = threading.Event()

    def after_commit(self, truck_id: str) -> None:
        """Ingestion's hand-off: wake the background worker, or drain inline if none."""
        if self.external:
            return
        if self.signal is not None:
            self.signal()
        elif self.started:
            self.wake()
        else:
            self.drain([truck_id])

    def wake(self) -> None:
        self._wake.set()

    def drain(self, trucks: Iterable[str] | None = None) -> int:
        """Process every queued ping of ``trucks`` (default: all); returns how many.

        A round is one transaction over many trucks (one disk flush, not one per
        truck), up to about ``PINGS_PER_WRITE`` pings on SQLite, whose one lock also
        serves ingestion: under load (``BUSY_PINGS`` waiting) the worker writes in short
        transactions and rests after each (``_rest``), so acknowledged requests commit
        in between; at light load the rounds follow each other without rest.
        """
        runtime = self.runtime
        total = 0
        while True:
            if trucks is None:
                with runtime.db.read() as session:
                    waiting = pending_trucks(session)
            else:
                waiting = [(truck_id, 0) for truck_id in trucks]
            results = []
            busy = sum(n for _, n in waiting) >= BUSY_PINGS
            for chunk in _rounds(waiting, runtime.db.is_sqlite):
                began = time.monotonic()
                committed = self._round(chunk)
                for result in committed:  # reported now: a later round may fail
                    self.report(result)
                results += committed
                if busy:
                    self._rest(time.monotonic() - began)
            done = sum(r.processed for r in results)
            total += done
            if not any(r.processed >= BATCH for r in results):
                return total

    def _round(self, trucks: list[str]) -> list[ProcessResult]:
        """All trucks in one transaction; if that fails, again with each truck alone."""
        try:
            return self._round_once(trucks, isolate=False)
        except OperationalError:
            raise  # the database is locked or away: truck by truck would fail as well
        except Exception:
            log.info("a processing round failed; running it again truck by truck")
            return self._round_once(trucks, isolate=True)

    def _round_once(self, trucks: list[str], *, isolate: bool) -> list[ProcessResult]:
        runtime = self.runtime
        reference = runtime.reference.get()
        prematched = None
        if not isolate:  # the costly matching before the write lock, not under it
            with runtime.db.read() as session:
                prematched = prematch_round(session, reference, trucks)
        with runtime.db.write(redoable=True) as session:
            return process_round(
                session,
                reference,
                trucks,
                datetime.now(UTC),
                isolate=isolate,
                prematched=prematched,
            )

    def run_forever(self) -> None:
        """Process whatever is queued, then wait to be woken (or poll for other processes).

        After a transaction that took d seconds the worker rests d seconds: ingestion
        keeps at least half of the database lock (and, in the server, of the core), and
        under load the next round takes a bigger batch, for less work per ping. Light
        load sees transactions of milliseconds, so the rest costs the live map nothing.
        """
        while True:
            self._wake.wait(POLL_S)
            self._wake.clear()
            try:
                self.drain()
            except Exception:  # the database may be away; everything stays queued
                log.exception("processing queued pings failed; retrying")
                self._wake.wait(POLL_S * 4)

    def _rest(self, worked_s: float) -> None:
        """In the background, rest as long as the last transaction took (see
        ``run_forever``): a writer waiting for the lock gets it before the next one."""
        if self.started:
            time.sleep(min(worked_s, REST_MAX_S))


def _rounds(waiting: list[tuple[str, int]], short: bool) -> Iterator[list[str]]:
    """The trucks of each round: all in one, or with ``short`` in rounds of about
    ``PINGS_PER_WRITE`` waiting pings (whole trucks)."""
    if not short:
        yield [t for t, _ in waiting]
        return
    chunk: list[str] = []
    pings = 0
    for truck_id, count in waiting:
        if chunk and pings + count > PINGS_PER_WRITE:
            yield chunk
            chunk, pings = [], 0
        chunk.append(truck_id)
        pings += count
    if chunk:
        yield chunk
