"""Route timetable and display attributes: collection days, shift times, map colours."""

from __future__ import annotations

import colorsys

import numpy as np

__all__ = ["ALL_DAYS", "colors", "schedules", "shifts"]

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Typical Indonesian municipal patterns: alternate days, six-day, or daily in markets.
_PATTERNS = (
    ("mon", "wed", "fri"),
    ("tue", "thu", "sat"),
    ("mon", "tue", "wed", "thu", "fri", "sat"),
    ("mon", "tue", "thu", "fri"),
    ("tue", "wed", "fri", "sat"),
    ("mon", "wed", "fri", "sun"),
    ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
)
_WEIGHTS = (0.25, 0.25, 0.2, 0.1, 0.1, 0.05, 0.05)


def schedules(count: int, rng: np.random.Generator) -> list[list[str]]:
    """Collection days per route; every weekday, Sunday included, is served by someone."""
    picks = rng.choice(len(_PATTERNS), size=count, p=_WEIGHTS)
    days = [list(_PATTERNS[i]) for i in picks]
    if not any("sun" in d for d in days):
        days[0] = list(_PATTERNS[-1])
    return days


def shifts(count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """Shift start and end ("HH:MM", WITA): early starts, 7-8 hour shifts."""
    starts_min = rng.choice([300, 330, 360, 360, 390, 420], size=count)
    ends_min = starts_min + rng.choice([420, 450, 480], size=count)
    return [
        (f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}")
        for s, e in zip(starts_min.tolist(), ends_min.tolist(), strict=True)
    ]


def colors(count: int) -> list[str]:
    """Distinct hex colours: golden-ratio hue steps, alternating lightness."""
    result = []
    for i in range(count):
        hue = (i * 0.618033988749895) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.75 + 0.2 * (i % 2), 0.9 - 0.25 * (i % 3) / 2)
        result.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return result
