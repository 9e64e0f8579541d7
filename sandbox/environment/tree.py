"""A repository tree to read: the files of a directory or of one git commit, read on demand.

Detection reads a handful of files (pyproject.toml, tox.ini, conftest.py, ...) and lists the
rest, so both kinds of tree list paths (relative, with forward slashes) and read one file at a
time. Neither runs anything from the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from .. import git

SKIP_DIRS = {".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", "env", "node_modules", "__pycache__",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages", ".eggs"}
MAX_FILES = 50_000
MAX_READ = 2_000_000


class Tree:
    """The files of a repository: `files` (sorted relative paths) and `read(path)` (text or None)."""

    files: list[str]

    def read(self, path: str) -> str | None:
        raise NotImplementedError

    def version(self) -> str | None:
        """The newest release tag reachable from the tree's commit (`v1.2.3` -> `1.2.3`), or None."""
        return None

    def date(self) -> str | None:
        """The date (YYYY-MM-DD) of the tree's commit (a work tree's HEAD), or None."""
        return None

    def _commit_date(self, args: list[str]) -> str | None:
        res = subprocess.run(["git", *args, "log", "-1", "--format=%cs", *self._describe_rev()],
                             capture_output=True, text=True)
        out = res.stdout.strip()
        return out if res.returncode == 0 and re.fullmatch(r"\d{4}-\d\d-\d\d", out) else None

    def _describe(self, args: list[str]) -> str | None:
        res = subprocess.run(["git", *args, "describe", "--tags", "--abbrev=0", *self._describe_rev()],
                             capture_output=True, text=True)
        tag = res.stdout.strip()
        m = re.search(r"\d+(\.\d+)+", tag) if res.returncode == 0 else None
        return m.group(0) if m else None

    def _describe_rev(self) -> list[str]:
        return []

    def exists(self, path: str) -> bool:
        return path in self._set

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(f.startswith(prefix) for f in self.files)

    @property
    def _set(self) -> set[str]:
        s = self.__dict__.get("_files_set")
        if s is None:
            s = self.__dict__["_files_set"] = set(self.files)
        return s


class DirTree(Tree):
    """A directory on disk (git-tracked and untracked, not ignored, files when it is a git work tree, with
    those of its checked-out submodules)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.files = sorted(self._list())
        self._cache: dict[str, str | None] = {}

    def _list(self) -> list[str]:
        if (self.root / ".git").exists():
            names = git.list_files(self.root)  # checked-out submodules' files included
            if names is not None:
                return [n for n in names if (self.root / n).is_file()][:MAX_FILES]
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info"))
            rel = os.path.relpath(dirpath, self.root)
            for f in filenames:
                out.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
                if len(out) >= MAX_FILES:
                    return out
        return out

    def version(self) -> str | None:
        return self._describe(["-C", str(self.root)]) if (self.root / ".git").exists() else None

    def date(self) -> str | None:
        return self._commit_date(["-C", str(self.root)]) if (self.root / ".git").exists() else None

    def read(self, path: str) -> str | None:
        if path not in self._cache:
            full = self.root / path
            try:
                self._cache[path] = (full.read_bytes()[:MAX_READ].decode("utf-8", errors="replace")
                                     if full.is_file() and not full.is_symlink() else None)
            except OSError:
                self._cache[path] = None
        return self._cache[path]


class GitTree(Tree):
    """One commit of a git directory (bare or not)."""

    def __init__(self, git_dir: str | os.PathLike, commit: str = "HEAD"):
        """`git_dir`: a bare repository, a `.git` directory, or a work tree (its `.git` is used)."""
        dot_git = Path(git_dir) / ".git"
        self.git_dir = str(dot_git if dot_git.exists() else git_dir)
        self.commit = commit
        res = subprocess.run(["git", "--git-dir", self.git_dir, "ls-tree", "-r", "-z", "--name-only", commit],
                             capture_output=True)
        if res.returncode != 0:
            raise ValueError(f"cannot list {commit} in {git_dir}: {res.stderr.decode(errors='replace').strip()[:200]}")
        self.files = sorted(n for n in res.stdout.decode(errors="replace").split("\0") if n)[:MAX_FILES]
        self._cache: dict[str, str | None] = {}

    def version(self) -> str | None:
        return self._describe(["--git-dir", self.git_dir])

    def date(self) -> str | None:
        return self._commit_date(["--git-dir", self.git_dir])

    def _describe_rev(self) -> list[str]:
        return [self.commit]

    def read(self, path: str) -> str | None:
        if path not in self._cache:
            if path not in self._set:
                self._cache[path] = None
            else:
                res = subprocess.run(["git", "--git-dir", self.git_dir, "show", f"{self.commit}:{path}"],
                                     capture_output=True)
                self._cache[path] = (res.stdout[:MAX_READ].decode("utf-8", errors="replace")
                                     if res.returncode == 0 else None)
        return self._cache[path]
