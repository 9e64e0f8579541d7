"""One run at a time in a directory: an OS lock (`flock`) on a lock file inside it.

The kernel drops the lock when the process that holds it ends, however it ends (a kill -9
included), so a crashed run never leaves a stale lock behind; the file itself stays and is reused.
The holder writes `host:pid` into it, for the message a second run gets.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from .errors import UserError

LOCK_FILE = ".patchwright.lock"
"""The lock file's name inside a locked directory."""


class DirectoryBusy(UserError):
    """Another process holds the directory's lock."""


class DirLock:
    """An exclusive lock on `directory` (created if missing), taken without waiting.

        with DirLock(out, what="run"):
            ...   # nobody else holds `out` while this runs

    Entering raises DirectoryBusy (one line: who holds it) when another process holds it. The
    lock is per open file: a second DirLock on the same directory in this process is refused too.
    """

    def __init__(self, directory: str | Path, *, what: str = "run", hint: str = "choose another --out directory"):
        self.directory = Path(directory)
        self.what = what
        self.hint = hint
        self.fd: int | None = None

    @property
    def path(self) -> Path:
        return self.directory / LOCK_FILE

    def acquire(self) -> DirLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise DirectoryBusy(f"{self.directory} is in use by another patchwright {self.what} ({holder}); wait "
                                f"for it to end or {self.hint}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{socket.gethostname()}:{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the file drops the lock

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
