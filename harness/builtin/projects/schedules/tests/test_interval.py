from datetime import datetime

import pytest

from schedules import Interval, merge


def at(h, m=0):
    return datetime(2024, 3, 4, h, m)


def test_overlapping_meetings():
    assert Interval(at(9), at(10)).overlaps(Interval(at(9, 30), at(11)))


def test_disjoint_meetings():
    assert not Interval(at(9), at(10)).overlaps(Interval(at(11), at(12)))


def test_interval_cannot_end_before_start():
    with pytest.raises(ValueError):
        Interval(at(10), at(9))


def test_merge_sorted():
    merged = merge([Interval(at(9), at(10)), Interval(at(9, 30), at(11)), Interval(at(13), at(14))])
    assert merged == [Interval(at(9), at(11)), Interval(at(13), at(14))]
