"""Patch hygiene: what the agent or the tests leave behind stays out of the final patch.

`clean_patch(diff, policy)` takes a workspace's `git diff` and leaves out, unless the policy keeps
them:

- new binary files (`Binary files /dev/null and b/x differ`: a diff without their bytes, which no
  one can apply anyway);
- new junk files: logs, databases and caches (`JUNK_NAMES`, `JUNK_DIRS` below);
- mode-only changes (`old mode 100644` / `new mode 100755` with no content change); a mode change
  that comes with a content change keeps the content and loses the mode lines;
- symbolic links whose target lies outside the repository (an absolute target, or one that climbs
  above the root).

It returns the patch that is left and a `LeftOut` per file left out, for the run's summary.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from .diffs import DiffParseError, file_path, parse

JUNK_NAMES = ("*.log", "*.db", "*.sqlite", "*.sqlite3", "*.pyc", "*.pyo", ".coverage", ".coverage.*")
"""File names that are junk when a patch adds them."""
JUNK_DIRS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox",
             "*.egg-info")
"""Directories whose new files are junk (caches, build metadata)."""
SYMLINK_MODE = "120000"
_SECTION = re.compile(r"^diff --git ", re.M)
_MODE_LINE = re.compile(r"^(?:old|new) mode \d+\n", re.M)


class PatchPolicy(BaseModel):
    """What the final patch may keep that is left out by default (set it when the issue asks for
    such a change, e.g. `keep_mode=True` for "make the script executable")."""

    model_config = ConfigDict(extra="forbid")

    keep_binary: bool = False
    """Keep new binary files."""
    keep_junk: bool = False
    """Keep new logs, databases and cache files (JUNK_NAMES, JUNK_DIRS)."""
    keep_mode: bool = False
    """Keep file mode changes (chmod)."""
    keep_outside_symlinks: bool = False
    """Keep symbolic links that point outside the repository."""


@dataclass
class LeftOut:
    """A change left out of the final patch."""

    path: str
    """The file, relative to the repository root."""
    why: str
    """`binary`, `junk`, `mode` (a mode-only change, or the mode part of a change) or `symlink`."""

    def __str__(self) -> str:
        return f"{self.path} ({self.why})"


def is_junk(path: str) -> bool:
    """Whether a new file at `path` is junk: a log, a database, a cache or build metadata file."""
    parts = path.split("/")
    return (any(fnmatch.fnmatchcase(parts[-1], p) for p in JUNK_NAMES)
            or any(fnmatch.fnmatchcase(d, p) for d in parts[:-1] for p in JUNK_DIRS))


def points_outside(link: str, target: str) -> bool:
    """Whether a symbolic link at `link` (relative to the root) pointing at `target` leaves the repository."""
    if not target or target.startswith("/"):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    return resolved == ".." or resolved.startswith("../")


def _sections(diff: str) -> tuple[str, list[str]]:
    """(what comes before the first file, one text per file) of a `git diff`."""
    starts = [m.start() for m in _SECTION.finditer(diff)]
    if not starts:
        return diff, []
    ends = starts[1:] + [len(diff)]
    return diff[:starts[0]], [diff[s:e] for s, e in zip(starts, ends, strict=True)]


def clean_patch(diff: str, policy: PatchPolicy | None = None) -> tuple[str, list[LeftOut]]:
    """The patch without what `policy` does not keep, and what was left out (see the module)."""
    policy = policy or PatchPolicy()
    head, sections = _sections(diff)
    kept: list[str] = [head]
    left: list[LeftOut] = []
    for section in sections:
        try:
            files = parse(section)
        except DiffParseError:
            kept.append(section)  # not ours to judge: keep it as it is
            continue
        if len(files) != 1:
            kept.append(section)
            continue
        f = files[0]
        path = file_path(f)
        why = _why(f, path, policy)
        if why:
            left.append(LeftOut(path, why))
            continue
        if not policy.keep_mode and f.source_mode and f.target_mode and f.source_mode != f.target_mode:
            section = _MODE_LINE.sub("", section)  # the content change stays, the chmod goes
            left.append(LeftOut(path, "mode"))
        kept.append(section)
    return "".join(kept), left


def _why(f, path: str, policy: PatchPolicy) -> str | None:
    """Why the file's whole change is left out, or None when it stays."""
    if f.is_added_file and not policy.keep_junk and is_junk(path):
        return "junk"
    if f.is_added_file and f.is_binary_file and not policy.keep_binary:
        return "binary"
    if (f.target_mode == SYMLINK_MODE and not policy.keep_outside_symlinks
            and points_outside(path, "".join(line.value for h in f for line in h if line.is_added).strip("\n"))):
        return "symlink"
    if not policy.keep_mode and not f.is_added_file and not f.is_removed_file and f.source_mode \
            and f.target_mode and f.source_mode != f.target_mode and len(f) == 0 and not f.is_binary_file:
        return "mode"
    return None
