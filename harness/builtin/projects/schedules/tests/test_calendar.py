from datetime import date, datetime, timedelta

from schedules.calendar import add_working_days, busy_time, is_working_day
from schedules.interval import Interval


def test_weekend_is_not_working():
    assert not is_working_day(date(2024, 3, 9))


def test_add_working_days_skips_weekend():
    assert add_working_days(date(2024, 3, 8), 1) == date(2024, 3, 11)


def test_busy_time_disjoint():
    a = Interval(datetime(2024, 3, 4, 9), datetime(2024, 3, 4, 10))
    b = Interval(datetime(2024, 3, 4, 11), datetime(2024, 3, 4, 11, 30))
    assert busy_time([a, b]) == timedelta(hours=1, minutes=30)
