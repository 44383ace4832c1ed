"""Bring a database to a usable state: schema first, then the reference layers if empty."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from fleet import migrate
from fleet.runtime import get_runtime
from fleet.store import reference as reference_store

__all__ = ["prepare", "load_reference_dir"]

log = logging.getLogger(__name__)


def prepare(app: Flask, *, load_reference: bool | None = None) -> None:
    """Migrate, and give an empty database the reference data unless told not to."""
    runtime = get_runtime(app)
    migrate.upgrade(runtime.db.engine)
    wanted = app.config["LOAD_REFERENCE"] if load_reference is None else load_reference
    if not wanted:
        return
    with runtime.db.read() as session:
        empty = reference_store.is_empty(session)
    if empty:
        counts = load_reference_dir(app, Path(app.config["ROUTES_DATA"]))
        log.info("loaded reference data: %s", counts)


def load_reference_dir(app: Flask, directory: Path) -> dict[str, int]:
    """Read, validate and store every layer of ``directory``; safe to run again."""
    from fleet.reference import load_reference

    data = load_reference(directory)
    runtime = get_runtime(app)
    with runtime.db.write() as session:
        counts = reference_store.store_reference(session, data)
    runtime.reference.invalidate()
    return counts
