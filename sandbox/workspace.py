"""Workspaces: where code runs. A Docker container (the default) or a private local copy.

Both hold a copy of a repository, never the user's own tree. Every command runs under a
timeout, its output capped, and `diff()` reports what changed since the workspace was made.
"""

from __future__ import annotations

import ctypes
import os
import posixpath
import re
import select
import shlex
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from . import git, spawner
from .errors import UserError

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_OUTPUT = 1_000_000
MAX_READ_BYTES = 16 * 1024 * 1024
"""Most bytes one read of a file through a workspace returns; a bigger file raises FileTooLarge."""
MAX_READ_MANY_BYTES = 256 * 1024 * 1024
"""Most bytes one `read_many` returns in all; the files past it are left out."""
_SECRET_NAME = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_KEY)", re.I)


@dataclass
class ExecResult:
    """What a command did: its exit code, its combined stdout and stderr, and whether it timed out."""

    exit_code: int
    output: str
    timed_out: bool = False
    truncated: bool = False
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    """What happened beyond the exit code, one sentence each: killed for memory, the process limit
    reached, the disk full, killed by a signal."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class FileTooLarge(OSError):
    """A file is bigger than a read through the workspace may return."""

    def __init__(self, path: str, size: int | None, limit: int):
        super().__init__(f"{path} is larger than {limit} bytes")
        self.path, self.size, self.limit = path, size, limit


class NotRegularFile(OSError):
    """A path names a device, a FIFO or a socket: reading it could block or never end."""


class OutsideWorkspace(ValueError):
    """A path, or a symbolic link on the way, leads outside the workspace's repository."""


def disk_full_note(output: str) -> str | None:
    """The note for a command that ran out of disk space (it printed ENOSPC's message), else None."""
    if "No space left on device" in output or "Disk quota exceeded" in output:
        return ("the disk is full (no space left on device): the command could not write all it meant to; "
                "remove files it made (build outputs, large data) before going on")
    return None


def read_regular(full: str, limit: int = MAX_READ_BYTES, *, follow: bool = True) -> bytes:
    """The bytes of the regular file at `full` (at most `limit`). Raises IsADirectoryError,
    NotRegularFile (a device, FIFO or socket; with follow=False also a symbolic link) or
    FileTooLarge; the file is opened without blocking and checked before anything is read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(full, flags)
    except OSError as exc:
        if not follow and os.path.islink(full):
            raise NotRegularFile(f"{full} is a symbolic link") from None
        raise exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(full)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(f"{full} is not a regular file")
        if st.st_size > limit:
            raise FileTooLarge(full, st.st_size, limit)
        chunks, got = [], 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:  # it grew while being read
            raise FileTooLarge(full, None, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def sandbox_env(extra: dict[str, str] | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment with every secret-looking variable (API keys, tokens, passwords) removed."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not _SECRET_NAME.search(k)}
    env.update(extra or {})
    return env


LOCAL_ENV_NAMES = frozenset({
    "PATH", "LANG", "LANGUAGE", "TERM", "TZ", "SHELL", "USER", "LOGNAME", "COLUMNS", "LINES", "NO_COLOR",
    "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "CONDA_EXE", "PYENV_ROOT", "PYENV_VERSION", "JAVA_HOME",
    "GOROOT", "GOPATH", "CARGO_HOME", "RUSTUP_HOME", "NVM_DIR", "NODE_PATH", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "PIP_CERT",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
})
"""Variables of the user's environment that local commands receive (besides LC_* and PYTHON*)."""
_CREDENTIAL_URL = re.compile(r"://[^/@\s]*@")


def local_env(home: str, tmp: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a local workspace's commands: an allow-list of the user's variables
    (LOCAL_ENV_NAMES, LC_*, PYTHON*), none whose name looks secret or whose value is a URL with
    credentials; HOME and TMPDIR inside the workspace; the user's Python user site kept importable
    (PYTHONUSERBASE); git's author and committer set to patchwright."""
    src = os.environ if base is None else base
    env = {k: v for k, v in src.items()
           if (k in LOCAL_ENV_NAMES or k.startswith(("LC_", "PYTHON")))
           and not _SECRET_NAME.search(k) and not _CREDENTIAL_URL.search(v)}
    if "PYTHONUSERBASE" not in env:
        env["PYTHONUSERBASE"] = site.getuserbase()
    env.setdefault("PATH", os.defpath)
    return {**env, **git.IDENTITY, "HOME": home, "TMPDIR": tmp}


class _CappedBuffer:
    """Keeps the first and the last half of at most `cap` bytes, counting what falls in between
    (with keep_tail=False: the first `cap` bytes, counting the rest)."""

    def __init__(self, cap: int | None, keep_tail: bool = True):
        self.cap = cap
        self.keep_tail = keep_tail
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        if self.cap is None:
            self.head += data
            return
        if not self.keep_tail:
            room = max(0, self.cap - len(self.head))
            self.head += data[:room]
            self.dropped += len(data) - min(room, len(data))
            return
        half = self.cap // 2
        room = half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        keep = self.cap - half
        if len(self.tail) > keep:
            cut = len(self.tail) - keep
            self.dropped += cut
            del self.tail[:cut]

    def text(self) -> tuple[str, bool]:
        head = bytes(self.head).decode("utf-8", errors="replace")
        if not self.dropped:
            return head + bytes(self.tail).decode("utf-8", errors="replace"), False
        marker = f"\n[... patchwright: {self.dropped} bytes of output truncated ...]\n"
        return head + marker + bytes(self.tail).decode("utf-8", errors="replace"), True


def _diff_script(private: str, base: str, exclude: list[str], paths: list[str] | None = None) -> str:
    """Shell lines that print the diff of the working tree against `base`, new files included
    (only of `paths`, literal paths, when given).

    A private index (outside the repository) keeps the real index untouched and makes repeated
    diffs cheap (its stat cache is reused).
    """
    specs = " ".join(shlex.quote(f":(exclude){p}") for p in exclude)
    if paths is None:
        add, where = "git add -A . >/dev/null 2>&1 || git add -A .\n", "."
    else:  # one path at a time: a path that is in neither the tree nor the index fails alone
        where = " ".join(shlex.quote(f":(literal){p}") for p in paths)
        add = f"for p in {where}; do git add -A -- \"$p\" >/dev/null 2>&1; done\n"
    return (
        f"export GIT_INDEX_FILE={shlex.quote(private)}/diff.index\n"
        f"[ -f \"$GIT_INDEX_FILE\" ] || git read-tree {base}\n"
        + add +
        f"git -c core.quotepath=off diff --cached --no-color --no-ext-diff --no-renames "
        f"--src-prefix=a/ --dst-prefix=b/ {base} -- {where} {specs}\n"
    )


def _base_script(private: str) -> str:
    """Shell lines that make sure the tree is a git repository and print the commit to diff against.

    The commit is HEAD when the tree equals it; otherwise a snapshot commit (HEAD unchanged unless
    the repository had no commit at all).
    """
    return (
        "set -e\n"
        f"mkdir -p {shlex.quote(private)}\n"
        "git rev-parse --git-dir >/dev/null 2>&1 || git init -q .\n"
        f"export GIT_INDEX_FILE={shlex.quote(private)}/diff.index\n"
        "head=$(git rev-parse -q --verify HEAD 2>/dev/null || true)\n"
        'if [ -n "$head" ]; then git read-tree "$head"; fi\n'
        "git add -A .\n"
        "tree=$(git write-tree)\n"
        'if [ -n "$head" ] && [ "$(git rev-parse "$head^{tree}")" = "$tree" ]; then echo "$head"; exit 0; fi\n'
        'if [ -n "$head" ]; then c=$(git commit-tree "$tree" -p "$head" -m "patchwright: workspace base"); '
        'else c=$(git commit-tree "$tree" -m "patchwright: workspace base"); git update-ref HEAD "$c"; '
        "unset GIT_INDEX_FILE; git read-tree HEAD; fi\n"
        'echo "$c"\n'
    )


class Workspace(ABC):
    """A repository copy where commands run. Paths are relative to `root` unless absolute."""

    kind: str = "abstract"
    root: str
    base_commit: str
    environment = None
    """The detected environment (`sandbox.environment.Environment`) a Docker workspace was started
    from, or None (a named image, a local workspace)."""
    default_timeout: float
    max_output: int | None

    # -- what each kind implements -------------------------------------------------------------
    @abstractmethod
    def _shell(self, script: str, timeout: float, env: dict[str, str] | None, workdir: str | None,
               max_output: int | None, trusted: bool = False) -> ExecResult:
        """Run `script`; `trusted` marks patchwright's own scripts (git, reads), which need none of
        the care a command from outside gets (no background jobs to cut off)."""

    @abstractmethod
    def read_bytes(self, path: str, limit: int = MAX_READ_BYTES) -> bytes:
        """The bytes of the regular file at `path` (a symbolic link is followed when it stays inside
        the repository). Raises FileNotFoundError, IsADirectoryError, PermissionError,
        OutsideWorkspace (a link leading out), NotRegularFile (a device, FIFO or socket) or
        FileTooLarge (more than `limit` bytes)."""

    @abstractmethod
    def read_many(self, paths: list[str] | None = None, limit: int = MAX_READ_BYTES) -> dict[str, bytes]:
        """Several files at once (default: every file of list_files()): regular files only (symbolic
        links are left out, as are files that are missing, over `limit` bytes, or past
        MAX_READ_MANY_BYTES in all)."""

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _private_dir(self) -> str: ...

    # -- the shared interface ----------------------------------------------------------------------
    def run(self, cmd: str, timeout: float | None = None, *, env: dict[str, str] | None = None,
            workdir: str | None = None, max_output: int | None = -1) -> ExecResult:
        """Run a shell command in the repository root (or `workdir`), stdout and stderr combined.

        On timeout the whole process group is killed and the result has timed_out=True with the
        output so far. Output over `max_output` bytes keeps its head and tail around a marker
        (-1: the workspace's default; None: no cap).
        """
        cap = self.max_output if max_output == -1 else max_output
        return self._shell(cmd, float(timeout or self.default_timeout), env, workdir, cap)

    def read_file(self, path: str) -> str:
        """The file as text (UTF-8); raises what read_bytes raises, or UnicodeDecodeError."""
        return self.read_bytes(path).decode("utf-8")

    def write_file(self, path: str, text: str) -> None:
        """Write text exactly as given (UTF-8, newlines untouched), creating parent directories."""
        self.write_bytes(path, text.encode("utf-8"))

    def exists(self, path: str) -> bool:
        res = self._shell(f"test -e {shlex.quote(self.abspath(path))}", 30, None, None, 10_000, trusted=True)
        return res.exit_code == 0

    def abspath(self, path: str) -> str:
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(self.root, path))

    def list_files(self) -> list[str]:
        """Repository files (tracked, and untracked ones not ignored), relative to the root, sorted."""
        res = self._shell("git ls-files -z -co --exclude-standard && printf '\\001' && git ls-files -z -d",
                          120, self._git_env(), None, None, trusted=True)
        listed, _, deleted = res.output.partition("\x01")
        if res.exit_code != 0 or not _:
            raise RuntimeError(f"git ls-files failed: {res.output.strip()[:300]}")
        return sorted({p for p in listed.split("\0") if p} - set(deleted.split("\0")))

    def diff(self, exclude: list[str] | None = None, paths: list[str] | None = None) -> str:
        """Unified diff of the working tree against base_commit, new files included.

        `exclude` lists paths (git pathspecs) to leave out, such as an agent's scratch files.
        `paths` (files relative to the root, taken literally) limits the diff to those files: the
        cheap way to bring a known diff up to date after a few files changed (`diffs.splice_diff`).
        """
        if paths is not None and not paths:
            return ""
        res = self._shell(_diff_script(self._private_dir(), self.base_commit, exclude or [], paths), 300,
                          self._git_env(), None, None, trusted=True)
        if res.exit_code != 0:
            raise RuntimeError(f"git diff failed in the workspace: {res.output.strip()[-500:]}")
        return res.output

    def _git_env(self) -> dict[str, str]:
        return git.WORKSPACE_ENV

    def _init_base(self) -> str:
        res = self._shell(_base_script(self._private_dir()), 300, self._git_env(), None, None, trusted=True)
        lines = res.output.strip().splitlines()
        if res.exit_code != 0 or not lines or not re.fullmatch(r"[0-9a-f]{40,64}", lines[-1]):
            raise RuntimeError(f"could not record the workspace's base commit: {res.output.strip()[-500:]}")
        return lines[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# the source repository on the host


def resolve_repo(path: str | os.PathLike) -> Path:
    """The top-level directory of the git repository at `path`, or a UserError saying what is wrong."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"no such directory: {path}")
    if not p.is_dir():
        raise UserError(f"not a directory: {path}")
    res = git.run(p, "rev-parse", "--show-toplevel")
    if not res.ok:
        raise UserError(f"not a git repository: {path} (run `git init` there, or pass a repository)")
    return Path(res.out).resolve()


def repo_files(repo: Path) -> list[str]:
    """Files of the user's working tree as they are on disk: tracked, and untracked ones not ignored.

    Read-only: nothing in the repository (not even its index) is written.
    """
    listed = git.list_files(repo)
    if listed is None:
        raise UserError(f"git ls-files failed in {repo} (not a git repository?)")
    out = []
    for rel in listed:
        full = repo / rel
        if os.path.lexists(full) and (full.is_symlink() or not full.is_dir()):
            out.append(rel)
    return out


# ---------------------------------------------------------------------------------------------
# local


class LocalWorkspace(Workspace):
    """A private copy of a repository in a temporary directory; commands in their own process group.

    The copy shares the source's git objects read-only (history is there, nothing is written to
    the source) and carries its working tree as it is on disk, uncommitted changes included.
    Commands get an allow-listed environment (`local_env`: no secrets, HOME and TMPDIR inside the
    workspace). On Linux they start through a helper process that is a child subreaper
    (`sandbox.spawner`): what a command orphans (`setsid`, double forks) comes back to it, so a
    timeout finds and kills everything the command started, and close() whatever they left running.
    There is no resource isolation beyond that (no memory, process or disk limits): use
    DockerWorkspace for untrusted code.
    """

    kind = "local"

    def __init__(self, source: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT,
                 max_output: int | None = DEFAULT_MAX_OUTPUT, env: dict[str, str] | None = None,
                 keep: bool = False):
        self.source = resolve_repo(source)
        self.default_timeout = timeout
        self.max_output = max_output
        self.keep = keep
        self._env = env or {}
        self._groups: set[int] = set()
        self._closed = False
        self._spawner: spawner.Spawner | None = None
        self._spawn_lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="patchwright-ws-"))
        self.root = str(self._tmp / "repo")
        self._private = str(self._tmp / "private")
        self.home, self.tmpdir = str(self._tmp / "home"), str(self._tmp / "tmp")
        try:
            self._copy()
            self._real_root = os.path.realpath(self.root)
            for d in (self.home, self.tmpdir):
                os.makedirs(d, exist_ok=True)
            self.base_commit = self._init_base()
        except BaseException:
            self.close()
            raise

    def _copy(self) -> None:
        if git.run(self.source, "rev-parse", "-q", "--verify", "HEAD", isolated=True).ok:
            res = git.run(None, "clone", "-q", "--shared", "--no-checkout", str(self.source), self.root, isolated=True)
            if not res.ok:
                raise UserError(f"could not copy {self.source}: {res.stderr.strip()[:200]}")
            git.run(self.root, "read-tree", "HEAD", isolated=True, check=True)
        else:
            os.makedirs(self.root)
        for rel in repo_files(self.source):
            src, dst = self.source / rel, Path(self.root) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst, follow_symlinks=False)
        os.makedirs(self._private, exist_ok=True)

    def _private_dir(self) -> str:
        return self._private

    def abspath(self, path: str) -> str:
        full = super().abspath(path)
        if not (full == self.root or full.startswith(self.root + "/")):
            raise ValueError(f"path leaves the workspace: {path}")
        return full

    def _shell(self, script, timeout, env, workdir, max_output, trusted=False) -> ExecResult:
        if self._closed:
            raise RuntimeError("the workspace is closed")
        cwd = self.abspath(workdir) if workdir else self.root
        full_env = {**local_env(self.home, self.tmpdir), **self._env, **(env or {})}
        start = time.monotonic()
        script = f"cd {shlex.quote(cwd)} || exit 126\n{script}"
        argv = ["bash", "-c", script]
        script_file = None
        if len(script) > 65536:  # one argument may not exceed 128 KiB: run a long script from a file
            fd, script_file = tempfile.mkstemp(dir=self._private, suffix=".sh")
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(script)
            argv = ["bash", script_file]
        since = _ticks()
        proc = self._start(argv, cwd, full_env)
        self._groups.add(proc.pid)
        buf = _CappedBuffer(max_output)
        deadline = start + timeout
        timed_out = False
        fd = proc.fd
        exited_at = None
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    _kill_tree(proc.pid, lambda: self._adopted(since))
                    break
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                # once the command has exited, a background child may still hold the pipe open
                wait = min(deadline - now, 0.05 if exited_at is None else 0.2)
                ready, _, _ = select.select([fd, *proc.waitable()], [], [], wait)
                if fd in ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    buf.add(chunk)
                elif exited_at is not None:
                    break
            if timed_out:
                # drain what the killed group left in the pipe
                while select.select([fd], [], [], 0.2)[0]:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    buf.add(chunk)
            code = proc.wait(timeout=10)
            if code < 0:  # killed by a signal: report it the way a shell does
                code = 124 if timed_out else 128 - code
        finally:
            proc.close()
            if script_file is not None:
                os.unlink(script_file)
        text, truncated = buf.text()
        notes = [] if trusted else _local_notes(code, timed_out, text)
        return ExecResult(exit_code=code, output=text, timed_out=timed_out, truncated=truncated,
                          duration=time.monotonic() - start, notes=notes)

    def _start(self, argv: list[str], cwd: str, env: dict[str, str]) -> _Started:
        """Start a command in a session of its own: through the helper process on Linux, else (or when
        the helper fails) as a subprocess whose shell is itself a child subreaper where prctl exists."""
        with self._spawn_lock:
            if self._spawner is not None and not self._spawner.alive:
                self._spawner.close()
                self._spawner = None
            if self._spawner is None and spawner.available():
                self._spawner = spawner.Spawner()
            helper = self._spawner
        exe = shutil.which(argv[0], path=env.get("PATH"))
        if helper is not None and exe:
            r, w = os.pipe()
            try:
                pid, answer = helper.spawn([exe, *argv[1:]], env, w)
            except OSError:
                os.close(r)
            else:
                return _Started(pid, r, answer=answer)
            finally:
                os.close(w)
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_become_subreaper if _PRCTL is not None else None)
        return _Started(proc.pid, proc.stdout.fileno(), proc=proc)

    def _adopted(self, since: int) -> list[int]:
        """What commands orphaned since the tick `since`: the helper's children that are not
        commands of this workspace and started at or after it."""
        if self._spawner is None:
            return []
        return [pid for pid, start in _children(self._spawner.pid).items()
                if pid not in self._groups and start >= since]

    def _inside(self, full: str) -> str:
        """The real path of `full`; OutsideWorkspace when it (through a symbolic link) leaves the repository."""
        real = os.path.realpath(full)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise OutsideWorkspace("the path leads outside the repository (through a symbolic link)")
        return real

    def read_bytes(self, path: str, limit: int = MAX_READ_BYTES) -> bytes:
        return read_regular(self._inside(self.abspath(path)), limit)

    def read_many(self, paths: list[str] | None = None, limit: int = MAX_READ_BYTES) -> dict[str, bytes]:
        paths = self.list_files() if paths is None else paths
        out: dict[str, bytes] = {}
        total = 0
        for p in paths:
            try:
                full = self.abspath(p)
                self._inside(os.path.dirname(full))
                data = read_regular(full, min(limit, MAX_READ_MANY_BYTES - total), follow=False)
            except (OSError, ValueError):  # missing, a link, not regular, too large, outside
                continue
            out[p] = data
            total += len(data)
        return out

    def write_bytes(self, path: str, data: bytes) -> None:
        full = self.abspath(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.abspath(path))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for pgid in self._groups:
            _killpg(pgid)
        if self._spawner is not None:  # what the commands left running, orphans included
            procs = _processes()
            left = _descendants([self._spawner.pid], procs)
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in left:
                    _signal(pid, sig)
            self._spawner.close()
        if not self.keep:
            shutil.rmtree(self._tmp, ignore_errors=True)


class _Started:
    """A local command that runs: its pid, the read end of its output, and its exit code once it ended
    (from the helper process's answer, or from the subprocess)."""

    def __init__(self, pid: int, fd: int, *, answer=None, proc: subprocess.Popen | None = None):
        self.pid, self.fd, self._answer, self._proc = pid, fd, answer, proc
        self._code: int | None = None

    def waitable(self) -> list:
        """What select() may wait on besides the output: the helper's answer, until it came."""
        return [self._answer] if self._answer is not None and self._code is None else []

    def poll(self) -> int | None:
        if self._proc is not None:
            return self._proc.poll()
        if self._code is None and select.select([self._answer], [], [], 0)[0]:
            self._code = spawner.exit_code(self._answer, None)
        return self._code

    def wait(self, timeout: float) -> int:
        if self._proc is not None:
            return self._proc.wait(timeout=timeout)
        if self._code is None:
            self._code = spawner.exit_code(self._answer, timeout)
            if self._code is None:
                raise subprocess.TimeoutExpired("local command", timeout)
        return self._code

    def close(self) -> None:
        if self._proc is not None:
            self._proc.stdout.close()
            return
        os.close(self.fd)
        self._answer.close()


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _libc_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()
_PR_SET_CHILD_SUBREAPER = 36


def _become_subreaper() -> None:
    # runs in the child between fork and exec (kept to one foreign call): the command's shell adopts
    # its orphaned descendants, so a timeout finds them under it even after `setsid` or a double fork
    _PRCTL(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _processes() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, start tick)} of the living processes, from /proc; {} elsewhere."""
    out: dict[int, tuple[int, int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                rest = fh.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(rest) > 19 and rest[0] != b"Z":
            out[int(name)] = (int(rest[1]), int(rest[19]))
    return out


def _ticks() -> int:
    """Now, in the clock ticks since boot that /proc gives process start times in."""
    try:
        with open("/proc/uptime", "rb") as fh:
            return int(float(fh.read().split()[0]) * os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        return 0


def _children(parent: int) -> dict[int, int]:
    """{pid: start tick} of the children of `parent`."""
    return {pid: start for pid, (ppid, start) in _processes().items() if ppid == parent}


def _descendants(roots: list[int], procs: dict[int, tuple[int, int]]) -> list[int]:
    """The processes of `procs` under `roots` (not the roots themselves)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], list(roots)
    while todo:
        for kid in children.get(todo.pop(), []):
            if kid not in out:
                out.append(kid)
                todo.append(kid)
    return out


def _kill_tree(root: int, orphans=lambda: []) -> None:
    """SIGKILL a command: its shell, every descendant, and the orphans it left (`orphans()`, with
    theirs), all stopped first so that none forks while the others die; again until none is left;
    then its process group (all that is left to do where /proc is missing)."""
    for _ in range(5):
        procs = _processes()
        tops = [p for p in (root, *orphans()) if p in procs]
        found = [*tops, *_descendants(tops, procs)]
        if not found:
            break
        for pid in found:
            _signal(pid, signal.SIGSTOP)
        for pid in found:
            _signal(pid, signal.SIGKILL)
    _killpg(root)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _local_notes(code: int, timed_out: bool, output: str) -> list[str]:
    notes = []
    if code > 128 and not timed_out:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        note = f"the command was killed by {name}"
        if name == "SIGKILL":
            note += " (local commands have no memory limit: the system may have run out of memory)"
        notes.append(note)
    if full := disk_full_note(output):
        notes.append(full)
    return notes
