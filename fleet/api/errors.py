"""JSON errors for every failure a client can see, and 503 when the database is away.

A database that is restarting, locked past its timeout, or out of disk is a passing
condition: devices must retry, so they get 503 with Retry-After, never a 500. The
classification is one function, ``database_failure``, used by Flask's error handlers
and by the bare WSGI OsmAnd endpoint alike.
"""

from __future__ import annotations

import dataclasses
import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

__all__ = ["Failure", "database_failure", "error", "failure_response", "register"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


@dataclasses.dataclass(frozen=True)
class Failure:
    """An error answer before it is written by any framework."""

    status: int
    message: str
    field: str | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def error(status: int, message: str, field: str | None = None, **extra: object) -> Response:
    return failure_response(Failure(status, message, field), **extra)


def failure_response(failure: Failure, **extra: object) -> Response:
    """The Flask response of a ``Failure``: its JSON body, status and headers."""
    response = jsonify({**failure.body(), **extra})
    response.status_code = failure.status
    response.headers.update(failure.headers)
    return response


def _unavailable(reason: str) -> Failure:
    message = f"temporarily unavailable: {reason}; retry later"
    return Failure(503, message, headers={"Retry-After": str(RETRY_AFTER_S)})


def _first_line(exc: DBAPIError | SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig).strip().splitlines()[0] if orig else str(exc)


def database_failure(exc: SQLAlchemyError) -> Failure:
    """What a client is told when the database failed its request (logged here)."""
    if isinstance(exc, OperationalError):
        log.warning("database unavailable: %s", _first_line(exc))
        return _unavailable("database")
    if isinstance(exc, DataError):
        # A request value the database refuses (PostgreSQL takes no NUL in text) is the
        # client's to fix: 400, where a 500 would have it retry the same request.
        log.warning("database refused a value: %s", _first_line(exc))
        return Failure(400, "a value of this request cannot be stored or searched")
    lost = isinstance(exc, InterfaceError) or getattr(exc, "connection_invalidated", False)
    if isinstance(exc, DBAPIError) and lost:
        log.warning("database connection lost: %s", _first_line(exc))
        return _unavailable("database connection lost")
    if isinstance(exc, (PendingRollbackError, DisconnectionError, PoolTimeout)):
        # Pool exhausted, a connection dropped mid-transaction: passing, so 503.
        log.warning("database unavailable: %s", exc)
        return _unavailable("database")
    log.exception("database error", exc_info=exc)
    return Failure(500, "internal error")


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        field = getattr(exc, "field", None)
        if field is not None:
            return error(exc.code or 400, getattr(exc, "reason", ""), field)
        response = error(exc.code or 500, exc.description or exc.name)
        if exc.code == 429 and exc.response is not None:
            response.headers.update(exc.response.headers)
        return response

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError) -> Response:
        return failure_response(database_failure(exc))
