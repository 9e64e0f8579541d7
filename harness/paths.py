"""Names that become paths: instance ids, paths that must stay inside a run or report directory, and
the harness's cache of repositories (`CACHE_DIR`).

An instance id names a directory (`OUT/INSTANCE_ID/`, `REPORT_DIR/INSTANCE_ID/`), so it must be one
safe path component: letters, digits, `.`, `_` and `-`, not `.` or `..`. Ids are checked where
datasets and predictions are read (`check_id`); every write or delete under a run or report
directory goes through `inside(root, name)` as well, so a name that slipped past the check still
cannot reach outside the directory.
"""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.cachedir import cache_dir
from sandbox.errors import UserError

CACHE_DIR = cache_dir()
"""Where the harness keeps the repositories it makes or clones (built-in projects, clones of datasets'
repositories): `sandbox.cachedir` (PATCHWRIGHT_CACHE_DIR moves it)."""

SAFE_ID = re.compile(r"[A-Za-z0-9._-]+")
"""What an instance id may hold (SWE-bench's ids, `owner__name-NUMBER`, all fit)."""
MAX_ID = 200
"""Longest id accepted (a path component must stay under the file system's 255 bytes with the
suffixes added to it)."""


class UnsafePath(UserError):
    """A name would lead outside the directory it must stay in."""


def id_problem(value: object) -> str | None:
    """Why `value` is not a safe instance id, or None when it is one."""
    if not isinstance(value, str):
        return f"must be a string (got {type(value).__name__})"
    if not value:
        return "is empty"
    if value in (".", ".."):
        return f"{value!r} is not allowed (it names a directory, not an instance)"
    if len(value) > MAX_ID:
        return f"is longer than {MAX_ID} characters"
    if not SAFE_ID.fullmatch(value):
        bad = next(c for c in value if not SAFE_ID.fullmatch(c))
        return f"{value[:60]!r} holds {bad!r}: an id may hold only letters, digits, '.', '_' and '-'"
    return None


def check_id(value: object) -> str:
    """`value` when it is a safe instance id; a ValueError saying why not otherwise."""
    problem = id_problem(value)
    if problem:
        raise ValueError(f"unsafe instance id: {problem}")
    return value  # type: ignore[return-value]


def inside(root: str | Path, *parts: str) -> Path:
    """`root/parts...`, checked to lie strictly inside `root` once both are resolved (symbolic
    links followed); an UnsafePath error otherwise. Use it for every path built from a name that
    came from input before writing or deleting there."""
    base = Path(root).resolve()
    path = base.joinpath(*parts)
    resolved = path.resolve()
    if resolved == base or base not in resolved.parents:
        raise UnsafePath(f"refusing to write outside {base}: {'/'.join(parts)!r} does not name a path inside it")
    return path
