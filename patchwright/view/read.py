"""Reading what a run directory holds, without trusting it: every reader returns what it could read
and appends a one-line note for what it could not (missing, malformed, cut short)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TAIL = 40_000
"""Characters kept from the end of a long log (a test log can be megabytes)."""


def read_text(path: Path, notes: list[str], *, tail: int | None = None) -> str | None:
    """The file's text (its last `tail` characters when given); None when it is absent or unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        notes.append(f"{path.name} could not be read: {exc.strerror or exc}")
        return None
    if tail is not None and len(text) > tail:
        text = f"[... {len(text) - tail} characters before this are not shown]\n" + text[-tail:]
    return text


def read_json(path: Path, notes: list[str]) -> Any:
    """The file's JSON value; None when it is absent, unreadable or not JSON (noted)."""
    text = read_text(path, notes)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        notes.append(f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno}); it is left out")
        return None


def read_object(path: Path, notes: list[str]) -> dict | None:
    """read_json, keeping only a JSON object."""
    value = read_json(path, notes)
    if value is not None and not isinstance(value, dict):
        notes.append(f"{path.name} does not hold a JSON object; it is left out")
        return None
    return value


def read_jsonl(path: Path, notes: list[str]) -> list[dict]:
    """The JSON objects of a JSON-lines file, one per line. A torn last line (a run still writing, or
    killed mid-write) and malformed lines are skipped and noted."""
    text = read_text(path, notes)
    if text is None:
        return []
    rows: list[dict] = []
    lines = text.split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            if n == len(lines):
                notes.append(f"the last line of {path.name} is incomplete (the run is still writing it, or was "
                             "killed while it did); it is left out")
            else:
                notes.append(f"line {n} of {path.name} is not valid JSON; it is left out")
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            notes.append(f"line {n} of {path.name} is not a JSON object; it is left out")
    return rows


def num(value: Any) -> float | None:
    """A number, or None for anything else (bools included)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def text_of(value: Any) -> str:
    """A string for display: strings as they are, None as empty, anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def strings(value: Any) -> list[str]:
    """The strings of a list (anything else: none)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def mapping(value: Any) -> dict:
    """A dict (anything else: an empty one)."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict]:
    """The dicts of a list (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
