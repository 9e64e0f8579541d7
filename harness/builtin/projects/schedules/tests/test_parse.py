from datetime import timedelta

import pytest

from schedules.parse import format_duration, parse_duration


def test_parse_hours_and_minutes():
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)


def test_parse_seconds():
    assert parse_duration("90s") == timedelta(seconds=90)


def test_parse_rejects_garbage():
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_format_roundtrip():
    assert format_duration(parse_duration("2h5m")) == "2h5m"
