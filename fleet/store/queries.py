"""Read queries behind the public API: live trucks and last service per bin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.models import BinVisit, TruckState

__all__ = ["last_service", "live_states"]


def live_states(session: Session) -> list[TruckState]:
    stmt = select(TruckState).where(TruckState.fix_time.is_not(None)).order_by(TruckState.truck_id)
    return list(session.scalars(stmt))


def last_service(session: Session) -> dict[str, datetime]:
    """Each bin's most recent serviced visit (the map colours bins by its age)."""
    stmt = (
        select(BinVisit.bin_id, func.max(BinVisit.last_time))
        .where(BinVisit.status == "serviced")
        .group_by(BinVisit.bin_id)
    )
    return {bin_id: t for bin_id, t in session.execute(stmt) if t is not None}
