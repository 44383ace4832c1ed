"""INSERT ... ON CONFLICT for both backends, so re-runs and retries never duplicate rows.

Statements are built once per table, dialect and key and cached: the worker runs these
every round, and building the ``excluded`` mapping cost a tenth of a round.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_ignore", "upsert"]


def _insert(table: Table, dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upsert(
    session: Session,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``; where ``keys`` already exist, overwrite the ``update`` columns
    (default: every other column of the rows)."""
    if not rows:
        return
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    connection = session.connection()
    stmt = _upsert(model.__table__, connection.dialect.name, tuple(keys), tuple(columns))
    connection.execute(stmt, list(rows))


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, silently skipping any that collide with a unique key."""
    if rows:
        connection = session.connection()
        connection.execute(_ignore(model.__table__, connection.dialect.name), list(rows))


@lru_cache(maxsize=64)
def _upsert(table: Table, dialect: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    stmt = _insert(table, dialect)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
    )


@lru_cache(maxsize=64)
def _ignore(table: Table, dialect: str) -> Any:
    return _insert(table, dialect).on_conflict_do_nothing()
