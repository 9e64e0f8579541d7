"""Where an instance's repository comes from: a local mirror, the built-in suite, or a clone.

`repo_source(instance, mirrors)` returns a local git directory holding `base_commit`: the bare
mirror `<mirrors>/<owner>__<name>` when it exists, the built-in project for built-in instances,
else a clone (into the cache) when the network allows. `export_commit` writes one commit as a
small standalone repository (one commit, no remote, no history) for an image's build context.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.errors import UserError
from sandbox.gitcmd import git

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
        res = git("clone", "--bare", "-q", f"https://github.com/{instance.repo}.git", str(dest), check=False,
                  timeout=3600)
        if res.returncode != 0:
            raise UserError(f"could not clone {instance.repo} ({res.stderr.decode(errors='replace').strip()[:120]}); "
                            "pass --mirrors DIR with a bare git mirror named owner__name")
    return dest


def has_commit(source: Path, commit: str) -> bool:
    return git("--git-dir", str(_git_dir(source)), "cat-file", "-e", f"{commit}^{{commit}}",
               check=False).returncode == 0


def read_at(source: Path, commit: str, path: str) -> str | None:
    """A file's text at a commit, or None when it does not exist there."""
    res = git("--git-dir", str(_git_dir(source)), "show", f"{commit}:{path}", check=False)
    return res.stdout.decode("utf-8", errors="replace") if res.returncode == 0 else None


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
    git("init", "-q", str(dest))
    # a local fetch of one commit, shallow: the image carries no history beyond base_commit
    res = git("-C", str(dest), "fetch", "-q", "--depth", "1", "--no-tags",
              "--upload-pack", "git -c uploadpack.allowAnySHA1InWant=true upload-pack",
              f"file://{_git_dir(source).resolve()}", commit, check=False)
    if res.returncode != 0:
        last = res.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise UserError(f"cannot take commit {commit[:12]} from {source} (incomplete mirror? {last[0].strip()[:120]}); "
                        "complete the mirror with `git fetch` there")
    git("-C", str(dest), "checkout", "-q", "-B", "main", commit)
    near = git("--git-dir", str(_git_dir(source)), "describe", "--tags", "--abbrev=0", commit, check=False)
    tag = near.stdout.decode(errors="replace").strip()
    if near.returncode == 0 and tag:
        git("-C", str(dest), "tag", tag, commit, check=False)
    git("-C", str(dest), "gc", "-q", "--prune=now", check=False)


def _git_dir(source: Path) -> Path:
    dot = source / ".git"
    return dot if dot.exists() else source
