"""Unified diffs, read one way: every file list, path and line count patchwright takes from a diff
comes from here, parsed by unidiff.

Names git quotes (`"a/q\\"uote.py"`: quotes, backslashes, tabs, newlines, and non-ASCII bytes
unless core.quotepath is off) come back as the real file names everywhere.
"""

from __future__ import annotations

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

DiffParseError = UnidiffParseError
"""What `parse` raises for a malformed diff."""


def parse(patch: str) -> PatchSet:
    """The files of a unified diff (git's format or plain ---/+++ headers); DiffParseError when it
    is malformed."""
    return PatchSet(patch)


def patch_files(patch: str) -> list[tuple[str, str]]:
    """(old path, new path) of each file a unified diff touches; /dev/null for created or deleted ones."""
    return [file_paths(f) for f in parse(patch)]


def file_paths(f) -> tuple[str, str]:
    """(old path, new path) of one file of a parsed diff, unquoted, without the a/ b/ prefix."""
    return _strip(unquote_path(f.source_file)), _strip(unquote_path(f.target_file))


def file_path(f) -> str:
    """The path of one file of a unidiff PatchSet: its new path (the old one when it is deleted),
    unquoted, without the a/ b/ prefix."""
    return _strip(unquote_path(f.target_file if f.target_file != "/dev/null" else f.source_file))


def files_changed(patch: str) -> list[str]:
    """The files a patch changes (new paths; old paths of deleted files), sorted: what a run's
    summary lists, always derived from the patch text itself."""
    if not patch.strip():
        return []
    return sorted({new if new != "/dev/null" else old for old, new in patch_files(patch)})


def touched_files(patch: str) -> list[str]:
    """Every path a patch reads or writes (both sides of renames; /dev/null left out), sorted."""
    return sorted({p for pair in patch_files(patch) for p in pair if p != "/dev/null"})


def new_paths(patch: str) -> list[str]:
    """Each file's path after the patch (the old one for a deleted file), in the patch's order."""
    return list(dict.fromkeys(file_path(f) for f in parse(patch)))


def changed_lines(diff: str) -> int:
    """Added plus removed lines of a unified diff."""
    patch = parse(diff)
    return patch.added + patch.removed


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(name: str) -> str:
    """A path as git prints it in a diff, C-quoted (`"a/tab\\there"`, octal escapes for bytes) or
    not, as the real name (bytes that are not UTF-8 kept as surrogate escapes)."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 == len(body):
            out += c.encode("utf-8", "surrogateescape")
            i += 1
        elif body[i + 1] in _C_ESCAPES:
            out.append(_C_ESCAPES[body[i + 1]])
            i += 2
        elif body[i + 1:i + 4].isdigit() and len(body[i + 1:i + 4]) == 3:
            out.append(int(body[i + 1:i + 4], 8) & 0xFF)
            i += 4
        else:
            out += c.encode()
            i += 1
    return out.decode("utf-8", "surrogateescape")


def _strip(name: str) -> str:
    return name[2:] if name.startswith(("a/", "b/")) else name


def diff_sections(diff: str) -> dict[str, str] | None:
    """{path: its section} of a `git diff --no-renames` output; None when a path is quoted (then
    its name cannot be read back simply)."""
    sections: dict[str, str] = {}
    starts = [0] if diff.startswith("diff --git ") else []
    at = diff.find("\ndiff --git ")
    while at >= 0:
        starts.append(at + 1)
        at = diff.find("\ndiff --git ", at + 1)
    if diff and starts[:1] != [0]:
        return None
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(diff)
        nl = diff.find("\n", start, end)
        header = diff[start:nl if nl >= 0 else end]
        names = header[len("diff --git "):]
        half = (len(names) - 1) // 2
        a, b = names[:half], names[half + 1:]
        if names.startswith('"') or not (a.startswith("a/") and b.startswith("b/") and a[2:] == b[2:]):
            return None
        sections[a[2:]] = diff[start:end]
    return sections


def splice_diff(diff: str, update: str, paths: list[str]) -> str | None:
    """`diff` (a workspace's whole `git diff --no-renames`) with the sections of `paths` replaced by
    those in `update` (the same diff limited to `paths`), in git's order; None when either cannot be
    split by file (take the whole diff again then)."""
    old, new = diff_sections(diff), diff_sections(update)
    if old is None or new is None or not set(new) <= set(paths):
        return None
    for p in paths:
        old.pop(p, None)
    old.update(new)
    return "".join(old[p] for p in sorted(old, key=lambda p: p.encode("utf-8", "surrogateescape")))
