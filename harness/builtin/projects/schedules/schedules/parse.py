"""Durations written the way people write them: "1h30m", "45m", "2h", "90s"."""

import re
from datetime import timedelta

_UNITS = {"h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> timedelta:
    """A timedelta from "1h30m" and the like; ValueError for anything else."""
    m = _DURATION.match(text.strip().lower())
    if not m or not any(m.groups()):
        raise ValueError(f"not a duration: {text!r} (expected something like 1h30m)")
    hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def format_duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if v]
    return "".join(parts) or "0s"
