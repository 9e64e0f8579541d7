"""Scheduling helpers."""

from .interval import Interval, merge
from .parse import parse_duration

__all__ = ["Interval", "merge", "parse_duration"]
