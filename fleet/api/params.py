"""Query parameters shared by several endpoints, each failing with a 400 naming itself."""

from __future__ import annotations

import math
from datetime import date, datetime

from flask import request
from werkzeug.exceptions import BadRequest

from fleet.reference_cache import Reference

__all__ = ["ParamError", "day_param", "float_param"]


class ParamError(BadRequest):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def day_param(reference: Reference, name: str = "date") -> date:
    """``YYYY-MM-DD``; today in the city's zone when absent."""
    raw = request.args.get(name)
    if not raw:
        return datetime.now(reference.tz).date()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ParamError(name, "expected a date as YYYY-MM-DD") from None


def float_param(name: str, low: float, high: float) -> float:
    raw = request.args.get(name)
    if raw is None:
        raise ParamError(name, "required")
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(name, "expected a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ParamError(name, f"must be between {low} and {high}")
    return value
