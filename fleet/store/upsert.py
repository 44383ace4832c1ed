"""INSERT ... ON CONFLICT for both backends, so re-runs and retries never duplicate rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_ignore", "upsert"]


def _insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    table = model.__table__
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def upsert(
    session: Session,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``; where ``keys`` already exist, overwrite the ``update`` columns."""
    if not rows:
        return
    stmt = _insert(session, model)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
    )
    session.execute(stmt, list(rows))


def insert_ignore(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows``, silently skipping any that collide with a unique key."""
    if rows:
        session.execute(_insert(session, model).on_conflict_do_nothing(), list(rows))
