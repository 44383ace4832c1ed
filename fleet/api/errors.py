"""JSON errors for every failure a client can see, and 503 when the database is away.

A database that is restarting, locked past its timeout, or out of disk is a passing
condition: devices must retry, so they get 503 with Retry-After, never a 500.
"""

from __future__ import annotations

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

__all__ = ["error", "register"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5


def error(status: int, message: str, field: str | None = None, **extra: object) -> Response:
    body: dict[str, object] = {"error": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def unavailable(reason: str) -> Response:
    response = error(503, f"temporarily unavailable: {reason}; retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


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

    @app.errorhandler(OperationalError)
    def database_away(exc: OperationalError) -> Response:
        log.warning("database unavailable: %s", str(exc.orig).splitlines()[0] if exc.orig else exc)
        return unavailable("database")

    @app.errorhandler(DataError)
    def unstorable_value(exc: DataError) -> Response:
        # A request value the database refuses (PostgreSQL takes no NUL in text) is the
        # client's to fix: 400, where a 500 would have it retry the same request.
        log.warning(
            "database refused a value: %s", str(exc.orig).splitlines()[0] if exc.orig else exc
        )
        return error(400, "a value of this request cannot be stored or searched")

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> Response:
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            log.warning("database connection lost: %s", exc.orig or exc)
            return unavailable("database connection lost")
        log.exception("database error")
        return error(500, "internal error")

    @app.errorhandler(SQLAlchemyError)
    def database_passing(exc: SQLAlchemyError) -> Response:
        """Pool exhausted, a connection dropped mid-transaction: passing, so 503."""
        if isinstance(exc, (PendingRollbackError, DisconnectionError, PoolTimeout)):
            log.warning("database unavailable: %s", exc)
            return unavailable("database")
        log.exception("database error")
        return error(500, "internal error")
