"""Device status for dispatchers: online, stale or offline, from contact and fix times."""

from __future__ import annotations

from datetime import datetime

__all__ = ["device_status"]


def device_status(
    last_contact: datetime | None,
    last_fix: datetime | None,
    now: datetime,
    online_s: float,
    offline_s: float,
) -> str:
    """``online``: a fix younger than ``online_s``; ``stale``: contact (heartbeats count)
    but no recent fix; ``offline``: no contact at all for ``offline_s``."""
    if last_contact is None or (now - last_contact).total_seconds() > offline_s:
        return "offline"
    if last_fix is not None and (now - last_fix).total_seconds() <= online_s:
        return "online"
    return "stale"
