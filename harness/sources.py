"""Where an instance's repository comes from: a local mirror, the built-in suite, or a clone.

`repo_source(instance, mirrors)` returns a local git directory holding `base_commit`: the bare
mirror `<mirrors>/<owner>__<name>` when it exists, the built-in project for built-in instances,
else a clone (into the cache) when the network allows. `export_commit` writes one commit as a
small standalone repository (one commit, no remote, no history) for an image's build context.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.errors import UserError
from sandbox.git import Result, run

from .builtin import builtin_source, is_builtin
from .instance import Instance
from .paths import CACHE_DIR


def repo_source(instance: Instance, mirrors: str | Path | None = None, *, online: bool = True) -> Path:
    """A local git directory that holds the instance's base_commit."""
    if is_builtin(instance):
        return builtin_source(instance.repo)
    if mirrors:
        mirror = Path(mirrors) / instance.repo_slug
        if mirror.is_dir():
            return mirror
        if not online:
            raise UserError(f"no mirror of {instance.repo} in {mirrors} (expected {mirror}, a bare git "
                            "directory); add it or allow a clone")
    if not online:
        raise UserError(f"{instance.repo}: no --mirrors DIR given and cloning is off")
    dest = CACHE_DIR / "repos" / f"{instance.repo_slug}.git"
    if not dest.is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        res = run(None, "clone", "--bare", "-q", f"https://github.com/{instance.repo}.git", str(dest),
                  isolated=True, timeout=3600)
        if not res.ok:
            raise UserError(f"could not clone {instance.repo} ({res.stderr.strip()[:120]}); "
                            "pass --mirrors DIR with a bare git mirror named owner__name")
    return dest


def has_commit(source: Path, commit: str) -> bool:
    return _in(source, "cat-file", "-e", f"{commit}^{{commit}}").ok


def read_at(source: Path, commit: str, path: str) -> str | None:
    """A file's text at a commit, or None when it does not exist there."""
    res = _in(source, "show", f"{commit}:{path}")
    return res.stdout.decode("utf-8", errors="replace") if res.ok else None


EXPORT_RECIPE = "one-commit+nearest-tag"
"""Names how export_commit lays out the repository (part of instance image tags)."""


def export_commit(source: Path, commit: str, dest: Path) -> None:
    """Write `commit` of `source` as a one-commit repository at `dest` (checked out, no remote).

    The nearest tag at or before the commit is put on it, so that tools that take a version
    from `git describe` (setuptools_scm, versioneer) see a real release number, not 0.1.dev1.
    """
    if not has_commit(source, commit):
        raise UserError(f"commit {commit[:12]} is not in {source}; update the mirror")
    dest.mkdir(parents=True, exist_ok=True)
    run(None, "init", "-q", str(dest), isolated=True, check=True)
    # a local fetch of one commit, shallow: the image carries no history beyond base_commit
    res = run(dest, "fetch", "-q", "--depth", "1", "--no-tags",
              "--upload-pack", "git -c uploadpack.allowAnySHA1InWant=true upload-pack",
              f"file://{_git_dir(source).resolve()}", commit, isolated=True)
    if not res.ok:
        raise UserError(f"cannot take commit {commit[:12]} from {source} (incomplete mirror? {res.last_line()[:120]}); "
                        "complete the mirror with `git fetch` there")
    run(dest, "checkout", "-q", "-B", "main", commit, isolated=True, check=True)
    near = _in(source, "describe", "--tags", "--abbrev=0", commit)
    if near.ok and near.out:
        run(dest, "tag", near.out, commit, isolated=True)
    run(dest, "gc", "-q", "--prune=now", isolated=True)


def _in(source: Path, *args: str) -> Result:
    """A git command in the repository (bare or not) at `source`."""
    return run(None, "--git-dir", str(_git_dir(source)), *args, isolated=True)


def _git_dir(source: Path) -> Path:
    dot = source / ".git"
    return dot if dot.exists() else source
