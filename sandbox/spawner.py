"""A small helper process that starts a local workspace's commands and adopts what they orphan (Linux).

A timeout must kill everything a command started, `setsid` and double-forked descendants included;
orphans normally go to init, where nothing tells them from the user's other processes. The helper is
a child subreaper (prctl PR_SET_CHILD_SUBREAPER): every command is its child, and what a command
orphans comes back to it, so the workspace finds it under the helper (by its start time). Python's
subprocess could make each command's shell a subreaper itself, but only with a function run
between fork and exec, which forks the whole interpreter (milliseconds in a process as large as
the agent's); the helper starts commands with posix_spawn (vfork) instead. The workspace sends it
each command (argv, environment, the write end of the output pipe and a socket for the answer);
it answers with the command's pid, then, once the command ended, with its exit code. It reaps
every child, adopted ones included.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

_HELPER = r"""
import ctypes, json, os, socket, sys, threading
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:
    sys.exit(3)
ctl = socket.socket(fileno=int(sys.argv[1]))
ctl.set_inheritable(False)
lock = threading.Lock()
spawned = threading.Condition(lock)
pending = {}

def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            with lock:
                if not pending:  # a command started meanwhile has its pid there: no wait then
                    spawned.wait(1.0)
            continue
        with lock:
            answer = pending.pop(pid, None)
        if answer is not None:
            try:
                answer.sendall(b"%d\n" % os.waitstatus_to_exitcode(status))
            except OSError:
                pass
            answer.close()

threading.Thread(target=reap, daemon=True).start()
while True:
    try:
        msg, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 2)
    except OSError:
        break
    if not msg or len(fds) != 2:
        break
    for fd in fds:
        os.set_inheritable(fd, False)
    req = json.loads(msg)
    out, answer = fds[0], socket.socket(fileno=fds[1])
    exe = req["argv"][0]
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2)]
    with lock:  # the pid goes out before the reaper can answer with the exit code
        try:
            pid = os.posix_spawn(exe, req["argv"], req["env"], file_actions=actions, setsid=True)
        except OSError:
            pid = -1
        try:
            answer.sendall(b"%d\n" % pid)
        except OSError:
            pass
        if pid > 0:
            pending[pid] = answer
            spawned.notify()
        else:
            answer.close()
    os.close(out)
"""


class Spawner:
    """The helper process of one local workspace; `spawn()` is safe to call from several threads."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen([sys.executable, "-S", "-c", _HELPER, str(theirs.fileno())],
                                      pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        theirs.close()
        self._ctl = ours
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def spawn(self, argv: list[str], env: dict[str, str], out_fd: int) -> tuple[int, socket.socket]:
        """Start argv (argv[0] an absolute path; in the helper's working directory: the command changes
        directory itself) with
        stdout and stderr on out_fd, stdin on /dev/null, in a session of its own; (its pid, a socket
        that receives its exit code as a line when it ends). Raises OSError when the helper is gone
        or could not start it."""
        answer, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            msg = json.dumps({"argv": argv, "env": env}).encode("utf-8", "surrogateescape")
            with self._lock:
                socket.send_fds(self._ctl, [msg], [out_fd, theirs.fileno()])
        except BaseException:
            answer.close()
            raise
        finally:
            theirs.close()
        line = _read_line(answer)
        if not line.isdigit():  # "-1": it could not start; "": the helper is gone
            answer.close()
            raise OSError("the local workspace's helper process did not start the command")
        return int(line), answer

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        self._ctl.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()


def _read_line(sock: socket.socket) -> str:
    """One line (a pid, then an exit code: a byte at a time, so the second stays for its reader)."""
    data = b""
    while not data.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            break
        data += byte
    return data.decode().strip()


def exit_code(answer: socket.socket, timeout: float | None) -> int | None:
    """The exit code the helper sends when the command ends (None: not within `timeout` seconds)."""
    answer.settimeout(timeout)
    try:
        line = _read_line(answer)
    except TimeoutError:
        return None
    finally:
        answer.settimeout(None)
    return int(line) if line.lstrip("-").isdigit() else -1


def available() -> bool:
    """Whether commands can start through a helper here (Linux: prctl and /proc)."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")
