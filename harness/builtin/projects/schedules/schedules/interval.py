"""Half-open time intervals [start, end)."""

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("an interval cannot end before it starts")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def overlaps(self, other: "Interval") -> bool:
        """Whether the two intervals share any moment."""
        return self.start <= other.end and other.start <= self.end

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def merge(intervals: list) -> list:
    """Intervals that overlap or touch, joined; the result is sorted by start."""
    out = []
    for iv in intervals:
        if out and iv.start <= out[-1].end:
            last = out.pop()
            out.append(Interval(last.start, max(last.end, iv.end)))
        else:
            out.append(iv)
    return out
