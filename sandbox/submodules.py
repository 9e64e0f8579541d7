"""Git submodules: which ones a repository declares (`.gitmodules`), which of them are not checked
out in a tree, and checking them out at their recorded commits from local copies.

A repository's test data is sometimes a submodule (tomlkit's `tests/toml-test`); a clone without
`--recurse-submodules`, or a mirror, has an empty directory there. Detection says so
(`missing`); `checkout` fills them from local repositories (`source_for_url` maps a submodule's
URL to one, e.g. `github_mirror`), without reaching any network.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import git


@dataclass(frozen=True)
class Submodule:
    """One `[submodule "NAME"]` section of `.gitmodules`."""

    name: str
    path: str
    url: str


def declared(text: str | None) -> list[Submodule]:
    """The submodules a `.gitmodules` text declares (those with a path), in file order."""
    out: list[Submodule] = []
    name, keys = None, {}

    def flush() -> None:
        if name is not None and keys.get("path"):
            out.append(Submodule(name, keys["path"].strip("/"), keys.get("url", "")))

    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r'\[\s*submodule\s+"(.*)"\s*\]', line)
        if m:
            flush()
            name, keys = m.group(1), {}
            continue
        if line.startswith("["):
            flush()
            name, keys = None, {}
            continue
        m = re.fullmatch(r"([\w.-]+)\s*=\s*(.*)", line)
        if m and name is not None:
            keys[m.group(1).lower()] = m.group(2).strip().strip('"')
    flush()
    return out


def missing(tree) -> list[str]:
    """Paths of the submodules `.gitmodules` declares that hold no file in `tree` (a `Tree`)."""
    subs = declared(tree.read(".gitmodules"))
    return [s.path for s in subs if not tree.is_dir(s.path)]


def note(path: str) -> str:
    """The environment note of a submodule that is not checked out."""
    return f"environment: git submodule {path} is not checked out (git submodule update --init)"


def github_mirror(mirrors: str | Path) -> Callable[[str], list[Path]]:
    """A `source_for_url` for `checkout`: github.com/OWNER/NAME -> MIRRORS/OWNER__NAME when it exists,
    then the other mirrors of a repository NAME (one that moved to another owner keeps its name:
    BurntSushi/toml-test is now toml-lang/toml-test, and a commit may be in either mirror)."""
    root = Path(mirrors)

    def source(url: str) -> list[Path]:
        m = re.search(r"github\.com[:/]+([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url)
        if not m:
            return []
        exact = root / f"{m.group(1)}__{m.group(2)}"
        moved = sorted(p for p in root.glob(f"*__{m.group(2)}") if p != exact and p.is_dir())
        return ([exact] if exact.is_dir() else []) + moved

    return source


Source = Callable[[str], "str | Path | list[str | Path] | None"]


def checkout(repo_dir: str | Path, source_for_url: Source) -> list[str]:
    """Check out the submodules of the work tree at `repo_dir` at the commits its HEAD records, each
    cloned from the first local repository `source_for_url(url)` gives (a path or a list of paths)
    that holds the commit, then theirs in turn; a submodule no source holds is left alone. Returns
    the paths checked out (relative to `repo_dir`)."""
    repo = Path(repo_dir)
    text = (repo / ".gitmodules").read_text(errors="replace") if (repo / ".gitmodules").is_file() else ""
    done: list[str] = []
    for sub in declared(text):
        target = repo / sub.path
        if target.is_dir() and any(target.iterdir()):
            continue  # checked out already (or not a directory git would fill)
        recorded = git.run(repo, "ls-tree", "HEAD", "--", sub.path)
        fields = recorded.out.split()
        if not recorded.ok or len(fields) < 3 or fields[1] != "commit":
            continue  # declared but not recorded as a gitlink at HEAD
        found = source_for_url(sub.url)
        candidates = [] if found is None else [found] if isinstance(found, (str, Path)) else list(found)
        source = next((c for c in candidates
                       if git.run(c, "cat-file", "-e", f"{fields[2]}^{{commit}}", isolated=True).ok), None)
        if source is None:
            continue
        res = git.run(None, "clone", "-q", "--shared", "--no-checkout", str(source), str(target), isolated=True)
        if not res.ok:
            raise git.GitError(f"could not clone {source} into {sub.path}: {res.last_line()}")
        git.run(target, "checkout", "-q", fields[2], isolated=True, check=True)
        done.append(sub.path)
        done += [f"{sub.path}/{p}" for p in checkout(target, source_for_url)]
    return done
