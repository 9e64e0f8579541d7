"""Publish a patch as a commit on a branch of a remote, without touching the working tree.

`commit_patch` builds the commit in a private index (the repository's index, HEAD and files stay
as they are); `push_commit` force-pushes it to `refs/heads/BRANCH` of a URL. Every git call is an
argument list, never a shell string. A token for an HTTP remote is given to that one push as an
`http.<url>.extraheader` through GIT_CONFIG_* variables in the push's own environment: it is never
written to a git config, never on a command line, and never in what the push prints.

The GitHub bot publishes from repositories it makes itself, not from the checkout: `clean_clone`
(the tracked files of one commit, for the sandbox) and `push_repository` (a bare repository holding
that commit, for the commit and the push). Neither has hooks (an empty template, and
`core.hooksPath=/dev/null` on every command, see `sandbox.git`) or any of the checkout's config.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from .errors import UserError
from .git import Result, run


def _checked(res: Result, what: str) -> None:
    if not res.ok:
        raise UserError(f"{what} failed: {res.last_line()}")


def clean_clone(repo: Path, commit: str, dest: Path) -> Path:
    """A new repository at `dest` with the tracked files of `commit` of `repo` checked out (HEAD
    detached there): none of the checkout's untracked or ignored files, hooks or config."""
    _checked(run(dest.parent, "clone", "--quiet", "--no-checkout", "--template=", str(repo), str(dest)),
             f"copying {repo}")
    _checked(run(dest, "checkout", "--quiet", "--detach", commit), f"checking out {commit[:12]}")
    return dest


def push_repository(repo: Path, commit: str, dest: Path) -> Path:
    """A new bare repository at `dest` holding `commit` of `repo` (fetched with its tree, depth 1):
    where the bot builds its commit and pushes from, with no hook and none of the checkout's config."""
    _checked(run(dest.parent, "init", "--quiet", "--bare", "--template=", str(dest)), "git init")
    res = run(dest, "fetch", "--quiet", "--no-tags", "--depth=1", Path(repo).resolve().as_uri(),
               f"+{commit}:refs/patchwright/base")
    _checked(res, f"fetching {commit[:12]} from {repo}")
    return dest


def local_changes(repo: Path) -> list[str]:
    """Tracked files with uncommitted changes (the patch is made against HEAD, so these would be lost)."""
    res = run(repo, "status", "--porcelain", "--untracked-files=no")
    return [ln[3:] for ln in res.stdout.decode("utf-8", "surrogateescape").splitlines() if ln.strip()]


def head_commit(repo: Path) -> str:
    res = run(repo, "rev-parse", "--verify", "HEAD")
    if not res.ok:
        raise UserError(f"{repo} has no commit checked out")
    return res.out


def commit_patch(repo: Path, patch: str, message: str, *, base: str = "HEAD",
                 identity: dict[str, str] | None = None) -> str:
    """A new commit on top of `base` holding `patch`; returns its sha. No ref, index or file changes.
    The author and committer are `sandbox.git.IDENTITY` unless `identity` (GIT_AUTHOR_* variables) says."""
    base_sha = run(repo, "rev-parse", "--verify", f"{base}^{{commit}}").out
    if not base_sha:
        raise UserError(f"no commit {base} in {repo}")
    with tempfile.TemporaryDirectory(prefix="patchwright-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **(identity or {})}
        steps = [
            (("read-tree", base_sha), None),
            (("apply", "--cached", "--whitespace=nowarn", "-"), patch if patch.endswith("\n") else patch + "\n"),
        ]
        for args, stdin in steps:
            res = run(repo, *args, env=env, input=stdin)
            if not res.ok:
                raise UserError(f"the patch does not apply to {base} ({base_sha[:12]}): {res.last_line()}")
        tree = run(repo, "write-tree", env=env).out
        res = run(repo, "commit-tree", tree, "-p", base_sha, "-F", "-", env=env, input=message)
        _checked(res, "git commit-tree")
        return res.out


def remote_url(repo: Path, remote: str = "origin") -> str:
    """The push URL of `remote` as the repository's config writes it (no `insteadOf` rewriting)."""
    for key in (f"remote.{remote}.pushurl", f"remote.{remote}.url"):
        res = run(repo, "config", "--get", key)
        if res.ok and res.out:
            return res.out
    raise UserError(f"{repo} has no remote `{remote}` to push to")


def persisted_auth(repo: Path) -> bool:
    """Whether the checkout keeps an HTTP auth header in its git config (actions/checkout's default)."""
    res = run(repo, "config", "--local", "--name-only", "--get-regexp", r"^http\..*extraheader$")
    return res.ok and bool(res.out)


def auth_header(token: str) -> str:
    """The header GitHub's git server accepts for a token (basic auth as x-access-token)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {basic}"


def push_commit(repo: Path, sha: str, branch: str, url: str, *, token: str | None = None,
                timeout: float = 600) -> str:
    """Force-push `sha` to refs/heads/`branch` of `url`; returns git's (token-free) report."""
    env: dict[str, str] = {}
    if token and url.startswith(("http://", "https://")):
        # an empty value first clears headers set for this URL elsewhere (a persisted checkout token)
        key = f"http.{url}.extraheader"
        env = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": key, "GIT_CONFIG_VALUE_0": "",
               "GIT_CONFIG_KEY_1": key, "GIT_CONFIG_VALUE_1": auth_header(token)}
    res = run(repo, "push", "--force", "--porcelain", url, f"{sha}:refs/heads/{branch}", env=env,
               timeout=timeout)
    out = redact(res.stdout.decode("utf-8", "replace") + res.stderr, token)
    if not res.ok:
        raise UserError(f"git push to {redact(url, token)} failed: {_last_line(out)}")
    return out


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every secret (and its basic-auth form) replaced by ***."""
    for s in secrets:
        if s:
            text = text.replace(auth_header(s).split()[-1], "***").replace(s, "***")
    return text


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"
