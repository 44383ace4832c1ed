"""Simulated tracking phones that post fixes over HTTP the way Traccar Client does.

A device buffers every fix it is given and sends its backlog oldest first whenever it
is online: one request per fix for the OsmAnd forms, chunks of up to 1,000 for the
batch API (sent once a minute of fixes has gathered). The server's answer decides a
fix's fate: 2xx stored; another 4xx refused for good (dropped and counted); 408, 429,
5xx or a broken connection retried with exponential backoff, honouring ``Retry-After``,
and if the server stays away the fixes wait in the buffer for the next try, as the app
keeps them in its local database. Fault injection (an offline hour, a skewed clock,
resent requests) lives here because those are device faults, not truck ones.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, fields
from email.utils import parsedate_to_datetime
from itertools import islice

import requests

from fleet._device_wire import BATCH_LIMIT, Protocol, WireRequest, encode
from fleet.simulator import SimFix

__all__ = ["BATCH_LIMIT", "DeviceFaults", "DeviceStats", "Protocol", "RetryPolicy", "SimDevice"]

_RETRYABLE = frozenset({408, 429})


@dataclass(frozen=True)
class DeviceFaults:
    """A device's misbehaviour; offline times count from the device's first fix."""

    offline_from_s: float | None = None
    offline_for_s: float = 3600.0
    clock_offset_s: float = 0.0
    duplicate_rate: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base_s * 2**n`` capped at ``max_s``, ``attempts`` per try.

    A server's ``Retry-After`` replaces the computed delay, up to ``max_retry_after_s``.
    """

    base_s: float = 0.5
    max_s: float = 30.0
    max_retry_after_s: float = 300.0
    attempts: int = 6
    timeout_s: float = 10.0
    jitter: float = 0.25


@dataclass
class DeviceStats:
    """Counts in fixes, except ``requests`` and ``retried`` (requests)."""

    fixes: int = 0
    requests: int = 0
    sent: int = 0
    acked: int = 0
    duplicates: int = 0
    dropped: int = 0
    retried: int = 0
    resent: int = 0
    unsent: int = 0
    max_backlog: int = 0

    def __add__(self, other: DeviceStats) -> DeviceStats:
        total = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        total["max_backlog"] = max(self.max_backlog, other.max_backlog)
        return DeviceStats(**total)


class SimDevice:
    """One phone. Not thread-safe: call ``submit`` for a device from one thread at a time."""

    def __init__(
        self,
        base_url: str,
        device_id: str,
        protocol: Protocol | str,
        *,
        faults: DeviceFaults | None = None,
        retry: RetryPolicy | None = None,
        batch_interval_s: float = 60.0,
        stop_event: threading.Event | None = None,
        seed: int = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.device_id = device_id
        self.protocol = Protocol(protocol)
        self.faults = faults or DeviceFaults()
        self.retry = retry or RetryPolicy()
        self.batch_interval_s = batch_interval_s
        self.stats = DeviceStats()
        self._stop = stop_event or threading.Event()
        self._rng = random.Random(f"{device_id}:{seed}")
        self._session = requests.Session()
        self._buffer: deque[SimFix] = deque()
        self._first_t: float | None = None
        self._resume_at = 0.0

    @property
    def backlog(self) -> int:
        """Fixes waiting to be sent."""
        return len(self._buffer)

    def submit(self, fix: SimFix) -> None:
        """The phone took a fix: keep it, and send what is due if the device is online."""
        self.stats.fixes += 1
        self._buffer.append(fix)
        self.stats.max_backlog = max(self.stats.max_backlog, len(self._buffer))
        if self._first_t is None:
            self._first_t = fix.t.timestamp()
        if self.is_offline(fix) or time.monotonic() < self._resume_at:
            return
        self._flush(force=False)

    def is_offline(self, fix: SimFix) -> bool:
        """Whether the scenario has this device without network when ``fix`` is taken."""
        start = self.faults.offline_from_s
        if start is None or self._first_t is None:
            return False
        since = fix.t.timestamp() - self._first_t
        return start <= since < start + self.faults.offline_for_s

    def close(self) -> None:
        """Send whatever is still buffered (unless stopped), then release the connection."""
        if not self._stop.is_set():
            self._flush(force=True)
        self.stats.unsent = len(self._buffer)
        self._session.close()

    def _flush(self, *, force: bool) -> None:
        while self._buffer and not self._stop.is_set():
            if not (force or self._batch_due()):
                return
            chunk = list(islice(self._buffer, self.protocol.per_request))
            if not self._deliver(chunk):
                self._resume_at = time.monotonic() + self.retry.max_s
                return
            for _ in chunk:
                self._buffer.popleft()

    def _batch_due(self) -> bool:
        if self.protocol is not Protocol.BATCH or len(self._buffer) >= BATCH_LIMIT:
            return True
        span_s = (self._buffer[-1].t - self._buffer[0].t).total_seconds()
        return span_s >= self.batch_interval_s

    def _deliver(self, chunk: list[SimFix]) -> bool:
        """Send one chunk; False if it must stay buffered (server unreachable or busy)."""
        request = encode(self.protocol, self.device_id, chunk, self.faults.clock_offset_s)
        for attempt in range(self.retry.attempts):
            if attempt:
                self.stats.retried += 1
            response = self._send(request, len(chunk))
            if response is not None and response.status_code < 300:
                self._record(response, len(chunk), resend=False)
                self._maybe_resend(request, len(chunk))
                return True
            if response is not None and _is_permanent(response.status_code):
                self.stats.dropped += len(chunk)
                return True
            if self._stop.wait(self._backoff_s(attempt, response)):
                return False
        return False

    def _maybe_resend(self, request: WireRequest, count: int) -> None:
        """Send the same request again, as a phone does when an answer got lost."""
        if self._rng.random() >= self.faults.duplicate_rate:
            return
        self.stats.resent += count
        response = self._send(request, count)
        if response is not None and response.status_code < 300:
            self._record(response, count, resend=True)

    def _send(self, request: WireRequest, count: int) -> requests.Response | None:
        url = self.base_url + request.path + (f"?{request.query}" if request.query else "")
        self.stats.requests += 1
        self.stats.sent += count
        try:
            return self._session.request(
                request.method,
                url,
                data=request.body,
                headers=request.headers,
                timeout=self.retry.timeout_s,
            )
        except requests.RequestException:
            return None

    def _record(self, response: requests.Response, count: int, *, resend: bool) -> None:
        if self.protocol is not Protocol.BATCH:
            self.stats.acked += 0 if resend else count
            return
        try:
            answer = response.json()
            stored, dupes = int(answer["stored"]), int(answer["duplicates"])
            rejected = len(answer.get("rejected", []))
        except (ValueError, KeyError, TypeError):
            stored, dupes, rejected = count, 0, 0
        self.stats.acked += stored
        self.stats.duplicates += dupes
        self.stats.dropped += 0 if resend else rejected

    def _backoff_s(self, attempt: int, response: requests.Response | None) -> float:
        hinted = _retry_after_s(response) if response is not None else None
        if hinted is not None:
            return min(hinted, self.retry.max_retry_after_s)
        delay = min(self.retry.max_s, self.retry.base_s * 2.0**attempt)
        return float(delay * (1.0 + self.retry.jitter * self._rng.random()))


def _is_permanent(status: int) -> bool:
    return 400 <= status < 500 and status not in _RETRYABLE


def _retry_after_s(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (it may be a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
