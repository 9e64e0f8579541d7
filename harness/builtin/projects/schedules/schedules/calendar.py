"""Working days and busy time."""

from datetime import date, timedelta

WEEKEND = {5, 6}  # Saturday, Sunday


def is_working_day(day: date, holidays: frozenset = frozenset()) -> bool:
    return day.weekday() not in WEEKEND and day not in holidays


def add_working_days(day: date, n: int, holidays: frozenset = frozenset()) -> date:
    """The date `n` working days after `day` (n >= 0)."""
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            n -= 1
    return day


def busy_time(meetings: list) -> timedelta:
    """Total time taken by meetings (intervals)."""
    return sum((m.duration for m in meetings), timedelta())
