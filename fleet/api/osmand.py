"""The OsmAnd endpoint, ``/osmand`` on any method, as bare WSGI in front of Flask.

Every truck posts here once a second or so: it is the hot path of the service. Served
through Flask and the Socket.IO middleware, a request cost more in routing, context
and session machinery than in decoding and storing its fix, so this endpoint answers
before either sees the request. It keeps Flask's behaviour where a device could tell:
413 beyond ``MAX_CONTENT_LENGTH``, JSON errors naming the field, 503 with Retry-After
while the database is away, 405 for other methods.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from fleet.api.errors import Failure, database_failure
from fleet.api.gate import admit, fix_rules, ingest
from fleet.fix import FixError
from fleet.protocols import decode_osmand
from fleet.protocols.osmand import first_values
from fleet.runtime import get_runtime

__all__ = ["METHODS", "PATHS", "OsmAndEndpoint"]

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

METHODS = frozenset({"GET", "POST", "PUT", "HEAD"})
PATHS = frozenset({"/osmand", "/osmand/"})
_ALLOW = ", ".join(sorted(METHODS | {"OPTIONS"}))
_EMPTY = ("Content-Length", "0")
_OK = "200 OK"
_REASONS = {
    400: "400 BAD REQUEST",
    404: "404 NOT FOUND",
    405: "405 METHOD NOT ALLOWED",
    411: "411 LENGTH REQUIRED",
    413: "413 REQUEST ENTITY TOO LARGE",
    429: "429 TOO MANY REQUESTS",
    500: "500 INTERNAL SERVER ERROR",
    503: "503 SERVICE UNAVAILABLE",
}


class OsmAndEndpoint:
    """WSGI middleware: OsmAnd requests are answered here, the rest go to ``inner``.

    With ``every_path`` every request is OsmAnd, as on a Traccar server's OsmAnd port.
    """

    def __init__(self, app: Flask, inner: WSGIApp, *, every_path: bool = False) -> None:
        self._app = app
        self._inner = inner
        self._every_path = every_path

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not self._every_path and environ.get("PATH_INFO") not in PATHS:
            return self._inner(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        failure: Failure | None
        if method == "OPTIONS":
            start_response(_OK, [("Allow", _ALLOW), ("Content-Length", "0")])
            return [b""]
        if method not in METHODS:
            failure = Failure(405, "method not allowed", headers={"Allow": _ALLOW})
        else:
            try:
                failure = self._handle(environ)
            except SQLAlchemyError as exc:
                failure = database_failure(exc)
            except Exception:
                log.exception("OsmAnd request failed")
                failure = Failure(500, "internal error")
        if failure is None:
            start_response(_OK, [("Content-Type", "text/html; charset=utf-8"), _EMPTY])
            return [b""]
        body = json.dumps(failure.body()).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(
            _REASONS.get(failure.status, str(failure.status)),
            [
                *headers,
                *failure.headers.items(),
            ],
        )
        return [b"" if method == "HEAD" else body]

    def _handle(self, environ: dict[str, Any]) -> Failure | None:
        """None once the fix (or heartbeat) is committed, else why not."""
        received_at = datetime.now(UTC)
        config = self._app.config
        body = _body(environ, config["MAX_CONTENT_LENGTH"])
        if isinstance(body, Failure):
            return body
        try:
            decoded = decode_osmand(
                query=first_values(_query_text(environ), "query"),
                body=body,
                content_type=environ.get("CONTENT_TYPE"),
                received_at=received_at,
                rules=fix_rules(config),
            )
        except FixError as exc:
            return Failure(400, exc.reason, exc.field)
        runtime = get_runtime(self._app)
        unknown = (
            Failure(404, "unknown or disabled device", "device_id")
            if decoded.json_mode
            else Failure(400, "unknown or disabled device", "id")
        )
        device = admit(runtime, decoded.device_id, environ.get("REMOTE_ADDR"), unknown)
        if isinstance(device, Failure):
            return device
        fixes = [] if decoded.fix is None else [(0, decoded.fix)]
        ingest(runtime, device, fixes, received_at)
        return None


def _query_text(environ: dict[str, Any]) -> str:
    """The query string as text: WSGI hands it over as latin-1, devices send UTF-8."""
    return str(environ.get("QUERY_STRING", "")).encode("latin-1").decode("utf-8", "replace")


def _body(environ: dict[str, Any], limit: int) -> bytes | Failure:
    """The request body, or 413 beyond ``limit`` bytes, declared or sent."""
    stream = environ.get("wsgi.input")
    declared = environ.get("CONTENT_LENGTH") or ""
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    if stream is None or (not declared and not chunked):
        return b""
    too_large = Failure(413, f"request body larger than {limit} bytes")
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return Failure(400, "not a byte count", "Content-Length")
        if length > limit:
            return too_large
        try:
            data = bytes(stream.read(length))
        except OSError:  # the client went away mid-body
            data = b""
        if len(data) != length:
            return Failure(400, "body shorter than its Content-Length", "body")
        return data
    try:
        data = bytes(stream.read(limit + 1))
    except OSError:
        return Failure(400, "body ended before its last chunk", "body")
    return too_large if len(data) > limit else data
