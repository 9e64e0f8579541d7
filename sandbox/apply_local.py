"""Apply a patch to the user's own working tree (`patchwright fix --apply`), with git, only when it
is safe: every file the patch touches must be free of uncommitted changes, and the whole patch must
apply. Otherwise nothing is changed and the error says why in one line."""

from __future__ import annotations

from pathlib import Path

from .diffs import touched_files
from .errors import UserError
from .git import run


def dirty_files(repo: Path, files: list[str]) -> list[str]:
    """Those of `files` (and files under them) with uncommitted changes or untracked, read from
    `git status -z`, so that no name is quoted or split (quotes, tabs, newlines, non-ASCII)."""
    res = run(repo, "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--untracked-files=all",
              "--", *files)
    if not res.ok:
        raise UserError(f"git status failed in {repo}: {res.stderr.strip()[:200]}")
    dirty, fields = set(), iter(res.stdout.decode("utf-8", "surrogateescape").split("\0"))
    for entry in fields:
        if len(entry) < 4:
            continue
        dirty.add(entry[3:])
        if entry[0] in "RC":  # a rename or copy: the next field is its source
            dirty.add(next(fields, ""))
    return sorted(d for d in dirty if d)


def apply_to_tree(repo: str | Path, patch: str) -> list[str]:
    """Apply `patch` to the working tree of `repo` and return the files it touched. Refused (a
    UserError, the tree unchanged) when a touched file has uncommitted changes or the patch does
    not apply."""
    repo = Path(repo)
    if not patch.strip():
        return []
    files = touched_files(patch)
    dirty = dirty_files(repo, files)
    if dirty:
        names = ", ".join(repr(d) if not d.isprintable() else d for d in dirty)
        raise UserError(f"not applied: {names} {'has' if len(dirty) == 1 else 'have'} uncommitted "
                        f"changes in {repo}; commit or stash them and run again (nothing was changed)")
    check = run(repo, "apply", "--check", "--whitespace=nowarn", "-", input=patch)
    if not check.ok:
        first = (check.stderr.strip().splitlines() or ["git apply --check failed"])[0]
        raise UserError(f"not applied: the patch does not apply to {repo} ({first}); nothing was changed")
    done = run(repo, "apply", "--whitespace=nowarn", "-", input=patch)
    if not done.ok:
        raise UserError(f"git apply failed in {repo}: {done.stderr.strip()[:200]}")
    return files
