"""git, one way: every git command patchwright runs on the host goes through `run` (GitPython's
command interface, `git.Git`, the object `Repo.git` is), with one identity and one environment.

The environment (`environment`):
- the caller's variables, except those that would change what a command does behind its back:
  tracing (it would print headers), config injected through GIT_CONFIG_COUNT/KEY_n/VALUE_n or
  GIT_CONFIG_PARAMETERS, and a repository or index named by GIT_DIR, GIT_WORK_TREE or
  GIT_INDEX_FILE (GitPython starts from the process's environment, so each is overridden by a
  value that turns it off, or by the repository the command runs in);
- no prompts (terminal or credential manager), no optional locks (a read never writes the index);
- the author and committer are `IDENTITY`;
- with `isolated=True` (repositories patchwright makes itself) the system git config is not read.

Every command gets `-c core.hooksPath=/dev/null` (`NO_HOOKS`): no hook of any repository or config
runs. Commands inside a workspace (a shell in a container or a local copy) get `WORKSPACE_ENV`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

IDENTITY = {"GIT_AUTHOR_NAME": "patchwright", "GIT_AUTHOR_EMAIL": "patchwright@localhost",
            "GIT_COMMITTER_NAME": "patchwright", "GIT_COMMITTER_EMAIL": "patchwright@localhost"}
"""The one author and committer of every commit patchwright makes (workspaces, images, the bot)."""

NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")
"""Given to every git command on the host: no hook of any repository or config runs."""

_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "GCM_INTERACTIVE": "never"}

WORKSPACE_ENV = {**IDENTITY, **_QUIET, "GIT_CONFIG_NOSYSTEM": "1"}
"""The git variables of the commands a workspace runs for itself (base commit, diff, file list)."""

_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")


def environment(extra: dict[str, str] | None = None, *, isolated: bool = False) -> dict[str, str]:
    """The variables every host git command gets on top of the process's environment."""
    env = {key: "0" for key in os.environ if key.startswith(("GIT_TRACE", "GIT_CURL_VERBOSE"))}
    # GIT_CONFIG_COUNT=0: the KEY_n/VALUE_n pairs of the caller's environment are not read
    env.update({"GIT_CONFIG_COUNT": "0", "GIT_CONFIG_PARAMETERS": "", **_QUIET, **IDENTITY})
    if isolated:
        env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Result:
    """What one git command did: exit status, stdout (bytes, as git wrote them) and stderr (text)."""

    returncode: int
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def out(self) -> str:
        """stdout as text, undecodable bytes kept (surrogateescape), surrounding whitespace stripped."""
        return self.stdout.decode("utf-8", errors="surrogateescape").strip()

    def last_line(self) -> str:
        lines = [ln.strip() for ln in self.stderr.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else "(no output)"


class GitError(RuntimeError):
    """A git command that had to succeed failed (`run(..., check=True)`)."""


def run(cwd: str | Path | None, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None,
        isolated: bool = False, timeout: float | None = 900, check: bool = False) -> Result:
    """Run `git <args>` in `cwd` (None: the current directory) with the environment above; `input`
    is given on stdin. With check=True a failure raises GitError with git's last line."""
    gitpython = _gitpython()
    where, index = _location(cwd)
    cmd = ["git", *NO_HOOKS, *where, *args]
    full = environment({**index, **(env or {})}, isolated=isolated)
    with tempfile.TemporaryFile() as stdin:
        if input is not None:
            stdin.write(input.encode("utf-8", errors="surrogateescape") if isinstance(input, str) else input)
            stdin.seek(0)
        status, out, err = gitpython.Git(None if cwd is None else str(cwd)).execute(
            cmd, istream=stdin if input is not None else None, with_extended_output=True,
            with_exceptions=False, stdout_as_string=False, strip_newline_in_stdout=False,
            kill_after_timeout=timeout, env=full)
    res = Result(status, out or b"", err or "")
    if check and not res.ok:
        raise GitError(f"git {' '.join(args[:3])} failed: {res.stderr.strip()[:300]}")
    return res


def _gitpython():
    """GitPython, imported on first use: it takes tens of milliseconds (start-up stays fast) and
    fails without a git executable, which is then one clear line."""
    try:
        import git as gitpython  # GitPython: slow to import, and it fails without git (start-up stays fast)
    except ImportError:
        raise UserError("git is not installed (or not on PATH): patchwright needs it") from None
    return gitpython


def _location(cwd: str | Path | None) -> tuple[list[str], dict[str, str]]:
    """Options and variables that undo GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE of the caller's
    environment (rare: patchwright started from a git hook): the repository is the one at `cwd`,
    found as git finds it without them, with its own index."""
    if not any(k in os.environ for k in _LOCATION):
        return [], {}
    gitpython = _gitpython()
    try:
        repo = gitpython.Repo(str(cwd or "."), search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError):
        return [], {}  # init and clone make their own repository
    opts = [f"--git-dir={repo.git_dir}"] + ([f"--work-tree={repo.working_tree_dir}"] if repo.working_tree_dir else [])
    return opts, {"GIT_INDEX_FILE": str(Path(repo.git_dir) / "index")}


def commit_all(path: str | Path, message: str, *, env: dict[str, str] | None = None) -> str:
    """Make the directory at `path` a new repository (branch main) holding all its files in one
    commit by `IDENTITY` (unsigned; `env` may fix its dates); returns the commit's sha."""
    run(path, "init", "-q", "-b", "main", isolated=True, check=True)
    run(path, "add", "-A", isolated=True, check=True)
    run(path, "-c", "commit.gpgsign=false", "commit", "-q", "-m", message, env=env, isolated=True, check=True)
    return run(path, "rev-parse", "HEAD", isolated=True, check=True).out


def list_files(repo: str | Path) -> list[str] | None:
    """The files of the working tree at `repo` as git sees them: tracked, and untracked ones not
    ignored (names exactly as on disk), and the files of each checked-out submodule in its place
    (git lists a submodule as one entry); None when `repo` is not in a git repository."""
    res = run(repo, "ls-files", "-z", "-co", "--exclude-standard")
    if not res.ok:
        return None
    names = list(dict.fromkeys(p for p in res.stdout.decode("utf-8", "surrogateescape").split("\0") if p))
    for sub in _gitlinks(repo):
        if (Path(repo) / sub / ".git").exists():
            inner = list_files(Path(repo) / sub)
            if inner:
                at = names.index(sub) if sub in names else len(names)
                names[at:at + 1] = [f"{sub}/{p}" for p in inner]
    return names


def _gitlinks(repo: str | Path) -> list[str]:
    """Paths of the submodules the index of `repo` records (entries of mode 160000)."""
    res = run(repo, "ls-files", "-z", "-s")
    out = []
    for entry in res.stdout.decode("utf-8", "surrogateescape").split("\0") if res.ok else []:
        meta, _, path = entry.partition("\t")
        if meta.startswith("160000 ") and path:
            out.append(path)
    return out
