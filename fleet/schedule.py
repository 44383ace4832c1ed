"""Collection schedules: which days a route runs and its shift window, in WITA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DAYS", "Shift", "local_date"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True, slots=True)
class Shift:
    """A route's schedule: ``days`` like ("mon", "thu"), start and end as "HH:MM"."""

    days: tuple[str, ...]
    start: str
    end: str

    def runs_on(self, day: date) -> bool:
        return DAYS[day.weekday()] in self.days

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The shift's start and end on ``day`` as aware datetimes (end may pass midnight)."""
        start = datetime.combine(day, _hhmm(self.start), tz)
        end = datetime.combine(day, _hhmm(self.end), tz)
        if end <= start:
            end += timedelta(days=1)
        return start, end

    def covers(self, moment: datetime, tz: ZoneInfo, slack: timedelta) -> bool:
        """Whether ``moment`` falls in a scheduled shift, widened by ``slack`` each side."""
        local_day = moment.astimezone(tz).date()
        for day in (local_day - timedelta(days=1), local_day):
            if not self.runs_on(day):
                continue
            start, end = self.window(day, tz)
            if start - slack <= moment <= end + slack:
                return True
        return False


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date in the city's zone: reports and visits are per WITA day."""
    return moment.astimezone(tz).date()
