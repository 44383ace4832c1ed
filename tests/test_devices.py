"""Simulated phones send exactly what Traccar clients send, and survive a bad network.

Every test talks to a real HTTP server on 127.0.0.1 that records each request and
answers from a script, so what is asserted is what went over the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from fleet.devices import DeviceFaults, Protocol, RetryPolicy, SimDevice
from fleet.simulator import SimFix

T0 = datetime(2025, 3, 4, 0, 0, 0, tzinfo=UTC)
FAST = RetryPolicy(base_s=0.01, max_s=0.05, attempts=4, timeout_s=2.0, jitter=0.0)
OSMAND_FIELDS = "id timestamp lat lon speed bearing altitude accuracy batt".split()


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    arrived: float

    def json(self):
        return json.loads(self.body)


class RecordingServer:
    """A tiny HTTP server: records requests, answers scripted statuses, dedupes batches."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(req)
            if self.script:
                status, headers = self.script.popleft()
                return status, headers, b""
            if req.path != "/api/v1/pings":
                return 200, {}, b""
            device = req.headers.get("Authorization", "")
            keys = [(device, item["time"]) for item in req.json()]
            dupes = sum(k in self._seen for k in keys)
            self._seen.update(keys)
        body = json.dumps({"stored": len(keys) - dupes, "duplicates": dupes, "rejected": []})
        return 200, {"Content-Type": "application/json"}, body.encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                req = Recorded(
                    self.command,
                    url.path,
                    parse_qsl(url.query),
                    dict(self.headers.items()),
                    body,
                    time.monotonic(),
                )
                status, headers, payload = server.answer(req)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer().start()
    yield srv
    srv.stop()


def fix_at(i: int, step_s: float = 5.0) -> SimFix:
    return SimFix(
        truck_id="KP-07",
        t=T0 + timedelta(seconds=i * step_s),
        lat=-10.1701234 + i * 1e-5,
        lon=123.6012345,
        speed_mps=5.5,
        heading_deg=87.5,
        accuracy_m=6.2,
        battery_pct=81.5,
        altitude_m=42.0,
        odometer_m=1500.0 + i,
    )


def device(server: RecordingServer, protocol: str, **kwargs) -> SimDevice:
    return SimDevice(server.url, "dev-07", protocol, retry=FAST, **kwargs)


def test_old_android_client_posts_the_fields_in_the_query_with_an_empty_body(server):
    dev = device(server, "osmand-query")
    dev.submit(fix_at(0))
    (req,) = server.requests
    assert (req.method, req.path, req.body) == ("POST", "/osmand", b"")
    assert [k for k, _ in req.query] == OSMAND_FIELDS
    fields = dict(req.query)
    assert fields["id"] == "dev-07"
    assert fields["timestamp"] == str(int(T0.timestamp()))
    assert (fields["lat"], fields["lon"]) == ("-10.1701234", "123.6012345")
    assert float(fields["speed"]) == pytest.approx(5.5 * 3600 / 1852, abs=0.01)  # knots
    assert (fields["bearing"], fields["accuracy"], fields["batt"]) == ("87.5", "6.2", "81.5")
    assert fields["altitude"] == "42.0"


def test_current_android_client_sends_the_same_fields_form_encoded(server):
    device(server, "osmand-form").submit(fix_at(0))
    (req,) = server.requests
    assert (req.method, req.path, req.query) == ("POST", "/osmand", [])
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qsl(req.body.decode())
    assert [k for k, _ in form] == OSMAND_FIELDS
    assert dict(form)["timestamp"] == str(int(T0.timestamp()))


def test_traccar_client_9_posts_its_json_location(server):
    device(server, "osmand-json").submit(fix_at(2))
    (req,) = server.requests
    assert (req.method, req.path) == ("POST", "/osmand")
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == {
        "device_id": "dev-07",
        "location": {
            "timestamp": "2025-03-04T00:00:10.000Z",
            "coords": {
                "latitude": -10.1701034,
                "longitude": 123.6012345,
                "speed": 5.5,
                "heading": 87.5,
                "altitude": 42.0,
                "accuracy": 6.2,
            },
            "is_moving": True,
            "odometer": 1502.0,
            "battery": {"level": 0.815, "is_charging": False},
        },
    }


def test_generic_tracker_gets_with_an_iso_timestamp(server):
    device(server, "generic-get").submit(fix_at(1))
    (req,) = server.requests
    assert (req.method, req.path, req.body) == ("GET", "/osmand", b"")
    assert dict(req.query)["timestamp"] == "2025-03-04T00:00:05Z"


def test_batch_device_posts_a_minute_of_fixes_with_its_token(server):
    dev = device(server, "batch")
    for i in range(30):
        dev.submit(fix_at(i))
    dev.close()
    assert all(r.path == "/api/v1/pings" for r in server.requests)
    assert all(r.headers["Authorization"] == "Bearer dev-07" for r in server.requests)
    items = [item for r in server.requests for item in r.json()]
    assert [it["time"] for it in items] == [
        (T0 + timedelta(seconds=5 * i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for i in range(30)
    ]
    assert set(items[0]) == {
        "time", "lat", "lon", "speed_mps", "heading_deg", "accuracy_m", "altitude_m", "battery_pct"
    }  # fmt: skip
    assert 2 <= len(server.requests) <= 3
    assert (dev.stats.acked, dev.stats.duplicates, dev.stats.unsent) == (30, 0, 0)


def test_503_is_retried_with_backoff_honouring_retry_after_then_kept(server):
    server.script.extend([(503, {}), (503, {}), (503, {"Retry-After": "1"})])
    dev = device(server, "osmand-query")
    dev.submit(fix_at(0))
    reqs = server.requests
    assert len(reqs) == 4 and len({tuple(r.query) for r in reqs}) == 1
    gaps = [b.arrived - a.arrived for a, b in zip(reqs, reqs[1:], strict=False)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02 and gaps[2] >= 0.95
    assert (dev.stats.acked, dev.stats.retried, dev.backlog) == (1, 3, 0)


def test_server_that_stays_down_keeps_fixes_buffered_until_it_returns(server):
    server.script.extend([(503, {})] * FAST.attempts)
    dev = device(server, "osmand-form")
    dev.submit(fix_at(0))
    assert dev.backlog == 1
    time.sleep(FAST.max_s)
    dev.submit(fix_at(1))
    dev.submit(fix_at(2))
    sent = [dict(parse_qsl(r.body.decode()))["timestamp"] for r in server.requests]
    assert sent[FAST.attempts :] == [str(int(fix_at(i).t.timestamp())) for i in range(3)]
    assert (dev.stats.acked, dev.backlog) == (3, 0)


def test_other_4xx_drops_the_fix_for_good(server):
    server.script.append((400, {}))
    dev = device(server, "osmand-json")
    dev.submit(fix_at(0))
    dev.submit(fix_at(1))
    assert len(server.requests) == 2
    assert (dev.stats.dropped, dev.stats.acked, dev.stats.retried) == (1, 1, 0)


def test_unreachable_server_counts_retries_and_leaves_fixes_unsent():
    dev = SimDevice("http://127.0.0.1:9", "dev-07", "osmand-query", retry=FAST)
    dev.submit(fix_at(0))
    dev.close()  # closing tries once more before giving up
    retries = 2 * (FAST.attempts - 1)
    assert (dev.stats.retried, dev.stats.unsent, dev.stats.acked) == (retries, 1, 0)


def test_offline_phone_buffers_then_sends_its_backlog_oldest_first(server):
    faults = DeviceFaults(offline_from_s=10.0, offline_for_s=60.0)
    dev = device(server, "osmand-query", faults=faults)
    counts = []
    for i in range(20):
        dev.submit(fix_at(i))
        counts.append(len(server.requests))
    assert counts[:2] == [1, 2]
    assert counts[2:14] == [2] * 12  # fixes taken at 10..65 s wait in the phone
    assert counts[14] == 15  # back online at 70 s: the 12 buffered and itself, at once
    assert dev.stats.max_backlog == 13
    stamps = [int(dict(r.query)["timestamp"]) for r in server.requests]
    assert stamps == sorted(stamps) and len(stamps) == 20


def test_batch_backlog_goes_out_in_chunks_of_at_most_1000(server):
    faults = DeviceFaults(offline_from_s=0.0, offline_for_s=2500.0)
    dev = device(server, "batch", faults=faults)
    for i in range(2501):
        dev.submit(fix_at(i, step_s=1.0))
    assert [len(r.json()) for r in server.requests] == [1000, 1000, 501]
    assert dev.stats.acked == 2501


def test_clock_offset_shifts_every_reported_time(server):
    dev = device(server, "osmand-query", faults=DeviceFaults(clock_offset_s=-600.0))
    dev.submit(fix_at(0))
    assert dict(server.requests[0].query)["timestamp"] == str(int(T0.timestamp()) - 600)


def test_resent_batches_come_back_as_duplicates(server):
    dev = device(server, "batch", faults=DeviceFaults(duplicate_rate=1.0))
    for i in range(13):
        dev.submit(fix_at(i))
    dev.close()
    assert len(server.requests) == 2 and server.requests[0].body == server.requests[1].body
    assert (dev.stats.acked, dev.stats.duplicates, dev.stats.resent) == (13, 13, 13)


@pytest.mark.parametrize("protocol", [p.value for p in Protocol])
def test_every_protocol_delivers_a_fix_with_one_request(server, protocol):
    dev = device(server, protocol)
    dev.submit(fix_at(0))
    dev.close()
    assert len(server.requests) == 1 and dev.stats.acked == 1
