"""DockerWorkspace: a container with the repository at /testbed, commands through resident shells.

Starting a process with `docker exec` costs the engine tens of milliseconds. A workspace keeps
long-lived `bash` servers in the container ("sessions", one per concurrent caller) and sends each
command over the exec's stdin. A session runs the command under `timeout` with its output in a file
of its own (a background job the command leaves writes there, never into a later result), then
sends that output and an end line carrying a random nonce the command never sees (so no command
can forge its end). The session is a child subreaper: everything a command starts stays under it,
`setsid` and double forks included, and a timeout kills all of it. It reads the container's
cgroup counters around each command to say when the kernel killed for memory or a fork hit the
process limit (a command that reaches the process limit has everything it started killed).

The container drops every capability but the few root needs for files and package managers,
cannot gain privileges, and, when it carries the repository in memory ("sealed", the default for
repositories copied in), has a read-only root filesystem: the repository, /tmp and patchwright's
scratch area are tmpfs mounts whose sizes add up to `Limits.disk` (half the memory limit by
default), so a full disk is ENOSPC for the command that filled it, never an out-of-memory kill of
the container, and nothing a command writes reaches the host's disk.
"""

from __future__ import annotations

import atexit
import base64
import functools
import io
import os
import posixpath
import re
import secrets
import select
import shlex
import socket
import struct
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

from .docker_util import base_labels, ca_env, docker_client, host_ca_bundle
from .errors import ImageNotFound
from .workspace import (
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIMEOUT,
    MAX_READ_BYTES,
    MAX_READ_MANY_BYTES,
    ExecResult,
    FileTooLarge,
    NotRegularFile,
    OutsideWorkspace,
    Workspace,
    _CappedBuffer,
    disk_full_note,
    repo_files,
    resolve_repo,
    sandbox_env,
)

PRIVATE = "/run/patchwright"
"""patchwright's scratch area in the container (a tmpfs): command outputs, the diff index, writes in transit."""
WORKSPACE_CA_MOUNT = "/etc/ssl/certs/patchwright-host-ca.crt"
"""Where a workspace container given the network finds the host's CA bundle (mounted read-only)."""
IN_MEMORY_MAX = 512 * 1024 * 1024  # repositories up to this size live in memory (tmpfs) by default
CAPABILITIES = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"]
"""The capabilities a workspace keeps (every other is dropped): root's power over files owned by
others (images made elsewhere, pip and dpkg setting owners and modes), over processes and
identities (apt's download sandbox, tests that change user), and binding ports below 1024 in the
container's own network namespace (a spec may serve a test double on 127.0.0.1:80 and :443)."""
_GRACE = 10.0  # seconds past a command's timeout before the host gives its session up
_QUICK_WRITE_MAX = 512 * 1024  # files up to this size are written as one script; bigger ones are streamed

_live: weakref.WeakSet = weakref.WeakSet()


def _close_live() -> None:
    for ws in list(_live):
        try:
            ws.close()
        except Exception:
            pass


atexit.register(_close_live)


@dataclass
class Limits:
    """Resource limits of a DockerWorkspace container."""

    memory: str = "4g"
    """Memory (and memory+swap) limit, in docker's notation."""
    cpus: float = 2.0
    """CPUs the container may use."""
    pids: int = 1024
    """Most processes alive at once."""
    lifetime: int = 4 * 3600
    """Seconds after which the container stops and removes itself, even if patchwright died."""
    disk: str | None = None
    """What the container's tmpfs areas may hold in all (the repository copied in, /tmp, the scratch
    area), in docker's notation; they are memory and count against `memory`, so it must be below
    it. None: half of `memory`."""

    def areas(self) -> dict[str, int]:
        """Bytes of each tmpfs area: `repo`, `tmp` and `private` (5/8, 2/8 and 1/8 of the disk budget)."""
        memory = size_bytes(self.memory)
        budget = size_bytes(self.disk) if self.disk else memory // 2
        if budget >= memory:
            raise ValueError(f"Limits.disk ({self.disk}) must be below Limits.memory ({self.memory}): "
                             "the tmpfs areas count against the memory limit")
        private, tmp = budget // 8, budget // 4
        return {"repo": budget - private - tmp, "tmp": tmp, "private": private}


def size_bytes(text: str | int) -> int:
    """Bytes of a size in docker's notation: 512, "100k", "128m", "4g" (powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+)\s*([bkmg]?)b?\s*", str(text).lower())
    if not m:
        raise ValueError(f"not a size: {text!r} (e.g. 512m, 4g)")
    return int(m.group(1)) * {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2)]


def _human(n: int) -> str:
    for unit, size in (("g", 1024 ** 3), ("m", 1024 ** 2), ("k", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n / 1024 ** 2:.0f}m"


def _repo_tar(repo: Path, with_git: bool):
    """A tar (spooled temp file) of the repository's working-tree files, and their total size in bytes.

    GNU tar writes it when present (several times faster than tarfile for thousands of files).
    """
    files = repo_files(repo)
    total = sum(os.lstat(repo / rel).st_size for rel in files)
    buf = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)
    if not with_git and _gnu_tar():
        res = subprocess.run(["tar", "-C", str(repo), "--null", "--no-recursion", "-T", "-", "-cf", "-",
                              "--owner=0", "--group=0", "--numeric-owner"],
                             input="\0".join(files).encode("utf-8", "surrogateescape"), capture_output=True)
        if res.returncode == 0:
            buf.write(res.stdout)
            buf.seek(0)
            return buf, total
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            return info

        for rel in files:
            tar.add(str(repo / rel), arcname=rel, recursive=False, filter=reset)
        if with_git and (repo / ".git").is_dir():
            tar.add(str(repo / ".git"), arcname=".git", filter=reset)
    buf.seek(0)
    return buf, total


@functools.lru_cache(maxsize=1)
def _gnu_tar() -> bool:
    try:
        return "GNU" in subprocess.run(["tar", "--version"], capture_output=True, text=True).stdout
    except OSError:
        return False


class _Stream:
    """The multiplexed stdout/stderr stream of one `docker exec` (8-byte frame headers)."""

    def __init__(self, api, exec_id: str):
        self._sock_obj = api.exec_start(exec_id, socket=True)
        self.sock = getattr(self._sock_obj, "_sock", self._sock_obj)
        self.sock.setblocking(False)
        self._pending = b""
        self.eof = False

    def frames(self, deadline: float):
        """Yield (stream, payload) until EOF or the deadline; returns quietly at either."""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self.sock], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
                return
            self._pending += chunk
            while len(self._pending) >= 8:
                size = struct.unpack(">I", self._pending[4:8])[0]
                if len(self._pending) < 8 + size:
                    break
                kind, payload = self._pending[0], self._pending[8:8 + size]
                self._pending = self._pending[8 + size:]
                yield kind, payload

    def send(self, data: bytes) -> None:
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def send_file(self, fh) -> None:
        """Send a whole file as the command's stdin, then end the stdin."""
        self.sock.setblocking(True)
        try:
            while chunk := fh.read(1 << 20):
                self.sock.sendall(chunk)
            self.sock.shutdown(socket.SHUT_WR)
        finally:
            self.sock.setblocking(False)

    def close(self) -> None:
        for obj in (self.sock, self._sock_obj):
            try:
                obj.close()
            except Exception:
                pass


# The resident shell. A request is a line `NONCE TIMEOUT LENGTH MODE [NAME]` followed by LENGTH bytes;
# `head -c` takes them in big reads (`read` would take a long line one byte per system call).
#  - MODE `file` (a command from outside): the script runs under `timeout`, in the background of the
#    server (which `wait`s for it), stdin from /dev/null, stdout and stderr into a file of its own.
#    Then the server kills what the command left when it timed out or hit the process limit,
#    compares the cgroup counters, and sends "PWBEG<nonce>\n", the file, "\n<end> <code> <flags>\n".
#    Flags: T timed out, P the process limit was reached, L processes an earlier command left reached
#    it, O the kernel killed for memory; "-" none.
#  - MODE `direct` (patchwright's own scripts: git, tar, reads): the output goes straight to the
#    session's stdout, then the end line.
#  - MODE `put`: the bytes are written to $P/NAME (a write in transit).
# The nonce is never exported: no command sees it, so none can forge its end. The server's own
# notices ("Killed") go to /dev/null. `reap SINCE` kills, with builtins only (it must work when no
# fork can), every process under the server, or orphaned to PID 1, whose branch started at or after
# the tick SINCE (0: every one of them); each is stopped first so that none forks while others die.
_SERVER = r"""
exec 2>/dev/null
P=$1
[ -d "$P" ] || mkdir -p "$P"
oomf= pidf= curf=
for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do [ -r "$f" ] && { oomf=$f; break; }; done
for f in /sys/fs/cgroup/pids.events /sys/fs/cgroup/pids/pids.events; do [ -r "$f" ] && { pidf=$f; break; }; done
for f in /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids/pids.current; do [ -r "$f" ] && { curf=$f; break; }; done
mkfifo "$P/idle.$$" && exec 9<>"$P/idle.$$"
counter() { REPLY=0; [ -n "$1" ] || return 0; local k v; while read -r k v; do [ "$k" = "$2" ] && REPLY=$v; done < "$1"; }
reap() {
  local since=$1 round f line pid n
  for round in 1 2 3 4 5; do
    local -A kids=() start=()
    for f in /proc/[0-9]*/stat; do
      read -r line < "$f" || continue
      set -- ${line##*) }
      [ "$1" = Z ] && continue
      pid=${f#/proc/}; pid=${pid%/stat}
      kids[$2]+=" $pid"; start[$pid]=${20}
    done
    local q=()
    for pid in ${kids[$$]} ${kids[1]}; do [ "${start[$pid]:-0}" -ge "$since" ] && q+=("$pid"); done
    n=0
    while [ "$n" -lt "${#q[@]}" ]; do q+=(${kids[${q[$n]}]}); n=$((n + 1)); done
    [ "${#q[@]}" -eq 0 ] && return 0
    kill -STOP "${q[@]}"
    kill -KILL "${q[@]}"
  done
}
printf 'PWREADY %s\n' "$$"
i=0 pending=() plast=
counter "$oomf" oom_kill; o0=$REPLY
while IFS=' ' read -r tok t n mode name; do
  if [ "$mode" = put ]; then
    head -c "$n" > "$P/$name"
    printf '\nPWEND%s %d -\n' "$tok" "$?"
    continue
  fi
  script=$(head -c "$n")
  i=$((i + 1)) f=
  if [ "$n" -gt 65536 ]; then  # one argument may not exceed 128 KiB: run a long script from a file
    f=$P/script.$$.$i
    printf '%s' "$script" > "$f"
    set -- bash "$f"
  else
    set -- bash -c "$script"
  fi
  if [ "$mode" = direct ]; then
    timeout -k 3 "$t" "$@" </dev/null 2>&1 &
    wait "$!"
    rc=$?
    [ -n "$f" ] && pending+=("$f")
    printf '\nPWEND%s %d -\n' "$tok" "$rc"
    continue
  fi
  out=$P/out.$$.$i flags=
  counter "$pidf" max; p0=$REPLY
  if [ -n "$plast" ] && [ "$p0" != "$plast" ]; then reap 0; flags=L; counter "$pidf" max; p0=$REPLY; fi
  c0=0; [ -n "$curf" ] && read -r c0 < "$curf"
  read -r up _ < /proc/uptime; since=${up/./}
  t0=${EPOCHREALTIME/./}
  timeout -k 3 "$t" "$@" </dev/null >"$out" 2>&1 &
  wait "$!"
  rc=$?
  t1=${EPOCHREALTIME/./}
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    ms=${t%s}; ms=$((10#${ms/./}))
    if [ -z "$t0" ] || [ $(((t1 - t0) / 1000)) -ge $((ms - 50)) ]; then reap "$since"; flags+=T; fi
  fi
  counter "$pidf" max
  if [ "$REPLY" = "$p0" ] && [ -n "$curf" ]; then  # it left processes: give a runaway a moment to show
    read -r c1 < "$curf"
    if [ "$c1" -gt "$c0" ]; then read -r -t 0.2 -u 9; counter "$pidf" max; fi
  fi
  if [ "$REPLY" != "$p0" ]; then reap "$since"; flags+=P; counter "$pidf" max; fi
  plast=$REPLY
  counter "$oomf" oom_kill; [ "$REPLY" != "$o0" ] && flags+=O; o0=$REPLY
  printf 'PWBEG%s\n' "$tok"
  [ -s "$out" ] && cat -- "$out"
  : > "$out"
  pending+=("$out" $f)
  if [ "${#pending[@]}" -ge 64 ]; then rm -f -- "${pending[@]}" & pending=(); fi
  printf '\nPWEND%s %d %s\n' "$tok" "$rc" "${flags:--}"
done
rm -f -- "${pending[@]}" "$P/idle.$$"
"""

# How a session starts: the server becomes a child subreaper (prctl through perl, which Debian and
# Ubuntu images carry) so that what its commands orphan stays under it; without perl it runs as is
# and orphans go to PID 1, where `reap` finds them by their start time.
_LAUNCH = ('case $(uname -m) in x86_64) n=157;; aarch64) n=167;; *) n=;; esac; '
           'if [ -n "$n" ] && command -v perl >/dev/null; then '
           'exec perl -e "syscall($n, 36, 1, 0, 0, 0); exec @ARGV" bash --noprofile --norc -c "$1" pw-session "$2"; fi; '
           'exec bash --noprofile --norc -c "$1" pw-session "$2"')

# Kills a stuck session's server and everything under it (the host's last resort).
_KILL_SESSION = r"""
declare -A kids=()
for f in /proc/[0-9]*/stat; do
  read -r line < "$f" || continue
  set -- ${line##*) }
  pid=${f#/proc/}; kids[$2]+=" ${pid%/stat}"
done
q=("$1"); n=0
while [ "$n" -lt "${#q[@]}" ]; do q+=(${kids[${q[$n]}]}); n=$((n + 1)); done
kill -STOP "${q[@]}" 2>/dev/null; kill -KILL "${q[@]}" 2>/dev/null; true
"""


# PID 1 of a workspace container: ignores the signals a command can send it (`kill -9 -1` inside the
# container cannot stop it), reaps orphans, and ends the container after its lifetime.
_KEEPER = "trap '' TERM INT HUP QUIT USR1 USR2; end=$((SECONDS+{lifetime})); " \
    "while [ $SECONDS -lt $end ]; do sleep 30 & wait $!; done"


@dataclass
class _Reply:
    """What a session sent back for one request."""

    code: int
    out: _CappedBuffer
    flags: str = "-"
    lost: bool = False
    """The session died or hung before it answered; its processes were killed."""


class _Session:
    """One resident shell: one request at a time (hold `lock`)."""

    def __init__(self, api, container_id: str):
        self.lock = threading.Lock()
        exec_id = api.exec_create(container_id, ["bash", "--noprofile", "--norc", "-c", _LAUNCH, "pw",
                                                 _SERVER, PRIVATE], stdin=True, stdout=True, stderr=True,
                                  tty=False, workdir="/")["Id"]
        self.stream = _Stream(api, exec_id)
        self.alive = True
        self.pid: int | None = None
        self._held = b""  # bytes after the ready line, not yet part of a reply

    def run(self, body: bytes, timeout: float, cap: int | None, mode: str = "file", name: str = "",
            keep_tail: bool = True) -> _Reply:
        tok = secrets.token_hex(16)
        self.stream.send(f"{tok} {timeout:.3f}s {len(body)} {mode} {name}\n".encode() + body)
        begin = f"PWBEG{tok}\n".encode() if mode == "file" else None
        marker = f"\nPWEND{tok} ".encode()
        out = _CappedBuffer(cap, keep_tail)
        window = b""  # the not-yet-committed tail, long enough to hold a marker split across frames
        keep = len(marker) + 16
        deadline = time.monotonic() + timeout + _GRACE + 1.0
        for payload in self._payloads(deadline):
            window += payload
            if begin is not None:  # whatever came before the command's output is not its output
                at = window.find(begin)
                if at < 0:
                    window = window[-len(begin):]
                    continue
                window, begin = window[at + len(begin):], None
            at = window.find(marker)
            if at >= 0:
                out.add(window[:at])
                rest = window[at + len(marker):]
                while b"\n" not in rest and (more := next(self._payloads(time.monotonic() + 5), None)):
                    rest += more
                line, _, self._held = rest.partition(b"\n")
                code, _, flags = line.decode(errors="replace").partition(" ")
                return _Reply(int(code) if code.lstrip("-").isdigit() else -1, out, flags.strip() or "-")
            if len(window) > keep:
                out.add(window[:-keep])
                window = window[-keep:]
        self.alive = False
        if begin is None:
            out.add(window)
        return _Reply(-1, out, "-", lost=True)

    def _payloads(self, deadline: float):
        """The session's output bytes until the deadline (the ready line taken out)."""
        if self._held:
            held, self._held = self._held, b""
            yield held
        for _kind, payload in self.stream.frames(deadline):
            if self.pid is None:
                self._held += payload
                line, nl, rest = self._held.partition(b"\n")
                if not nl:
                    continue
                self._held = b""
                self.pid = int(line.split()[1]) if line.startswith(b"PWREADY ") else -1
                payload = rest
                if not payload:
                    continue
            yield payload

    def close(self) -> None:
        self.alive = False
        self.stream.close()


class DockerWorkspace(Workspace):
    """A container from `image` with the repository at /testbed.

    With `source`, the repository's working tree is streamed in as a tar (no bind mount), by
    default onto a tmpfs at `root` when it is at most IN_MEMORY_MAX bytes and half the repository
    area (`in_memory`); such a workspace is sealed: read-only root filesystem, writable only in the
    repository, /tmp and the scratch area, all tmpfs within `limits.disk`. Without it, the image
    must already hold the repository at `root` (an empty one is made otherwise) and the root
    filesystem stays writable (an evaluation installs into the image's environment). Network is off
    unless `network=True` (then the host's CA bundle is mounted read-only and PIP_CERT,
    SSL_CERT_FILE and REQUESTS_CA_BUNDLE point at it). Every capability but CAPABILITIES is
    dropped, with no-new-privileges. `setup`, a shell line, runs in the repository once it is copied
    in and before its base commit is recorded (an environment image puts back what its install
    generated). The container carries the patchwright label and is removed on
    close(), on an exception in the `with` block, at interpreter exit, and by itself after
    `limits.lifetime` seconds.
    """

    kind = "docker"

    def __init__(self, image: str, source: str | os.PathLike | None = None, *, root: str = "/testbed",
                 network: bool = False, limits: Limits | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_output: int | None = DEFAULT_MAX_OUTPUT, env: dict[str, str] | None = None,
                 with_git_history: bool = False, name: str | None = None, in_memory: bool | None = None,
                 setup: str | None = None):
        # the docker SDK loads slowly: imported when the engine is needed
        import docker

        self.image = image
        self.root = root
        self.default_timeout = timeout
        self.max_output = max_output
        self.limits = limits or Limits()
        self.network = network
        self.container = None
        self._closed = False
        self._lock = threading.Lock()
        self._sessions: list[_Session] = []
        areas = self.limits.areas()
        source_path = resolve_repo(source) if source is not None else None
        client = docker_client()
        self._api = client.api
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"Docker image not found: {image} (build it with `patchwright images build`, "
                                "or name an image that `docker images` lists)") from None
        environment = {"LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1", **(env or {})}
        volumes = {}
        if network:
            ca = host_ca_bundle()
            if ca:
                volumes[ca] = {"bind": WORKSPACE_CA_MOUNT, "mode": "ro"}
                environment.update(ca_env(WORKSPACE_CA_MOUNT))
        tar = size = None
        if source_path is not None:
            tar, size = _repo_tar(source_path, with_git_history)
        if in_memory is None:
            in_memory = size is not None and size <= min(IN_MEMORY_MAX, areas["repo"] // 2)
        self.in_memory = self.sealed = bool(in_memory) and source_path is not None
        # patchwright's scratch area is always a tmpfs; a sealed workspace's writable places are too
        # (file creation on a container's overlay is slow, and tmpfs sizes bound what it may write)
        tmpfs = {PRIVATE: f"rw,nosuid,nodev,noexec,mode=700,size={areas['private']}"}
        if self.sealed:
            tmpfs[root] = f"rw,nosuid,nodev,exec,mode=755,size={areas['repo']}"
            tmpfs["/tmp"] = f"rw,nosuid,nodev,exec,mode=1777,size={areas['tmp']}"
            for k, v in {"XDG_CACHE_HOME": "/tmp/.cache", "XDG_CONFIG_HOME": "/tmp/.config",
                         "XDG_DATA_HOME": "/tmp/.local/share", "XDG_STATE_HOME": "/tmp/.local/state",
                         "PYTHONUSERBASE": "/tmp/.local", "PIP_USER": "1"}.items():
                environment.setdefault(k, v)
        environment = sandbox_env(base=environment)
        try:
            self.container = client.containers.create(
                image, command=["bash", "-c", _KEEPER.format(lifetime=int(self.limits.lifetime))], name=name,
                labels=base_labels("workspace"), detach=True, auto_remove=True,
                network_mode="bridge" if network else "none", mem_limit=self.limits.memory,
                memswap_limit=self.limits.memory, nano_cpus=int(self.limits.cpus * 1e9),
                pids_limit=self.limits.pids, environment=environment, volumes=volumes, tmpfs=tmpfs,
                working_dir="/", hostname="patchwright", security_opt=["no-new-privileges"],
                cap_drop=["ALL"], cap_add=CAPABILITIES, read_only=self.sealed,
                shm_size=min(64 * 1024 * 1024, areas["private"]),
            )
            _live.add(self)
            self.container.start()
            # images made elsewhere may own /testbed by another uid: let git work there anyway (a sealed
            # workspace's HOME is read-only, and its repository belongs to root)
            _, out, _, _ = self._exec(["sh", "-c", f"mkdir -p {shlex.quote(root)}; "
                                       "git config --global --add safe.directory '*' 2>/dev/null; "
                                       f"cd -P {shlex.quote(root)} && pwd"], 30, workdir="/")
            self._real_root = bytes(out.head).decode().strip() or root
            if tar is not None:
                code, _, err, _ = self._exec(["tar", "-x", "-C", root, "-f", "-"], 600, workdir="/", stdin=tar)
                if code != 0:
                    raise RuntimeError(f"copying the repository in failed: {err.decode(errors='replace')[:300]}")
            if setup:  # before the base is recorded, so that what it writes is never part of a diff
                self._exec(["sh", "-c", setup], 300, workdir=root)
            self.base_commit = self._init_base()
        except BaseException:
            self.close()
            raise
        finally:
            if tar is not None:
                tar.close()

    def _private_dir(self) -> str:
        return PRIVATE

    # -- commands ----------------------------------------------------------------------------------
    def _exec(self, argv: list[str], timeout: float, env: dict[str, str] | None = None,
              workdir: str | None = None, cap: int | None = None, stdin=None):
        """One `docker exec` of argv: (exit code, stdout buffer, stderr bytes, timed out).

        `stdin`, a binary file, is sent whole as the command's standard input.
        """
        if self._closed or self.container is None:
            raise RuntimeError("the workspace is closed")
        exec_id = self._api.exec_create(self.container.id, argv, stdout=True, stderr=True,
                                        stdin=stdin is not None, tty=False, environment=env or None,
                                        workdir=workdir or self.root)["Id"]
        stream = _Stream(self._api, exec_id)
        if stdin is not None:
            stream.send_file(stdin)
        out, err = _CappedBuffer(cap), bytearray()
        deadline = time.monotonic() + timeout
        try:
            for kind, payload in stream.frames(deadline):
                if kind == 2:
                    err += payload[: max(0, 1_000_000 - len(err))]
                else:
                    out.add(payload)
        finally:
            stream.close()
        timed_out = not stream.eof
        code = self._api.exec_inspect(exec_id).get("ExitCode")
        return (code if code is not None else -1), out, bytes(err), timed_out

    def _request(self, body: bytes, timeout: float, cap: int | None, mode: str, name: str = "",
                 keep_tail: bool = True) -> _Reply:
        """One request to a free resident shell (a new one is started when all are busy)."""
        session = self._take_session()
        try:
            reply = session.run(body, timeout, cap, mode, name, keep_tail)
        finally:
            session.lock.release()
        if reply.lost:
            self._drop_session(session)
        return reply

    def _shell(self, script, timeout, env, workdir, max_output, trusted=False) -> ExecResult:
        cwd = self.abspath(workdir) if workdir else self.root
        prefix = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
        full = f"{prefix}cd {shlex.quote(cwd)} || exit 126\n{script}"
        start = time.monotonic()
        reply = self._request(full.encode("utf-8", errors="surrogateescape"), timeout, max_output,
                              "direct" if trusted else "file")
        duration = time.monotonic() - start
        timed_out = reply.lost or "T" in reply.flags or (reply.code in (124, 137) and duration >= timeout - 0.05)
        text, truncated = reply.out.text()
        notes = [] if trusted else self._notes(reply, text)
        return ExecResult(exit_code=reply.code, output=text, timed_out=timed_out, truncated=truncated,
                          duration=duration, notes=notes)

    def _notes(self, reply: _Reply, text: str) -> list[str]:
        notes = []
        if reply.lost:
            notes.append("the sandbox's shell stopped answering; everything the command started was killed")
        if "P" in reply.flags:
            notes.append(f"the process limit ({self.limits.pids}) was reached: forks failed, and every process "
                         "the command started was killed")
        if "L" in reply.flags:
            notes.append(f"processes an earlier command left running reached the process limit "
                         f"({self.limits.pids}); they were killed before this command ran")
        if "O" in reply.flags:
            notes.append(f"killed for memory: the container reached its memory limit ({self.limits.memory}) "
                         "and the kernel killed a process" + (" (exit code 137)" if reply.code == 137 else ""))
        if full := disk_full_note(text):
            areas = self.limits.areas()
            where = (f"the repository's {_human(areas['repo'])} and /tmp's {_human(areas['tmp'])}" if self.sealed
                     else "the container's disk")
            notes.append(full.replace("the disk is full", f"the disk is full ({where})", 1))
        return notes

    def _take_session(self) -> _Session:
        """A free resident shell, locked for the caller; a new one when every other is busy."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the workspace is closed")
            for s in self._sessions:
                if s.alive and s.lock.acquire(blocking=False):
                    if s.alive:
                        return s
                    s.lock.release()
            self._sessions = [s for s in self._sessions if s.alive]
            try:
                s = _Session(self._api, self.container.id)
            except Exception as exc:
                raise RuntimeError(f"the workspace's container does not answer: {str(exc).strip()[:200]}") from None
            s.lock.acquire()
            self._sessions.append(s)
            return s

    def _drop_session(self, session: _Session) -> None:
        """Give a session up: kill its server and everything under it."""
        session.close()
        if session.pid and session.pid > 0:
            try:
                self._exec(["bash", "-c", _KILL_SESSION, "pw", str(session.pid)], 30, workdir="/")
            except Exception:
                pass

    def _direct(self, script: str, timeout: float = 120, cap: int | None = None, keep_tail: bool = True) -> _Reply:
        """One of patchwright's own scripts, run in the repository root."""
        return self._request(f"cd {shlex.quote(self.root)} || exit 126\n{script}".encode("utf-8", "surrogateescape"),
                             timeout, cap, "direct", keep_tail=keep_tail)

    # -- files -------------------------------------------------------------------------------------
    def read_bytes(self, path: str, limit: int = MAX_READ_BYTES) -> bytes:
        full = self.abspath(path)
        # 2: missing, 3: a directory, 4: unreadable, 5: not a regular file, 7: outside the repository;
        # the file's bytes otherwise (at most limit + 1: more says it is too large)
        script = (f"f={shlex.quote(full)}; root={shlex.quote(self._real_root)}\n"
                  'd=${f%/*}; b=${f##*/}\n'
                  'cd -P -- "${d:-/}" 2>/dev/null || exit 2\n'
                  'real=${PWD%/}/$b\n'
                  'if [ -L "$b" ]; then real=$(readlink -f -- "$b") || exit 2; fi\n'
                  'case $real in "$root"|"$root"/*) ;; *) exit 7;; esac\n'
                  'if [ -d "$real" ]; then exit 3; elif [ ! -e "$real" ]; then exit 2; '
                  'elif [ ! -f "$real" ]; then exit 5; elif [ ! -r "$real" ]; then exit 4; fi\n'
                  f'exec head -c {limit + 1} -- "$real"\n')
        reply = self._request(script.encode("utf-8", "surrogateescape"), 120, None, "direct")
        if reply.code == 0:
            data = bytes(reply.out.head)
            if len(data) > limit:
                got = self._direct(f"stat -L -c %s -- {shlex.quote(full)}", 30)
                size = bytes(got.out.head).strip()
                raise FileTooLarge(path, int(size) if size.isdigit() else None, limit)
            return data
        errors = {3: IsADirectoryError, 4: PermissionError, 5: NotRegularFile, 7: OutsideWorkspace}
        raise errors.get(reply.code, FileNotFoundError)(path)

    def write_bytes(self, path: str, data: bytes) -> None:
        full = self.abspath(path)
        tmp = f"{PRIVATE}/incoming.{uuid.uuid4().hex[:12]}"
        q, t = shlex.quote(full), shlex.quote(tmp)
        if len(data) <= _QUICK_WRITE_MAX:
            put = f"printf '%s' '{base64.b64encode(data).decode()}' | base64 -d > {t} && "
        else:  # streamed as raw bytes into the scratch area first
            reply = self._request(data, 600, 10_000, "put", tmp.rsplit("/", 1)[1])
            if reply.code != 0:
                raise OSError(f"could not write {path}: no room in the sandbox's scratch area")
            put = ""
        # an existing file keeps its inode and mode; a new one gets 0644
        reply = self._direct(f"mkdir -p \"$(dirname {q})\" && {put}"
                             f"if [ -e {q} ]; then cat {t} > {q} && rm -f {t}; else chmod 644 {t} && mv {t} {q}; fi; "
                             f"rc=$?; rm -f {t}; exit $rc", 120, 10_000)
        if reply.code != 0:
            raise OSError(f"could not write {path}: {bytes(reply.out.head).decode(errors='replace').strip()}")

    def read_many(self, paths: list[str] | None = None, limit: int = MAX_READ_BYTES) -> dict[str, bytes]:
        paths = self.list_files() if paths is None else [p for p in paths if p]
        if not paths:
            return {}
        # 1. which of them are regular files (not links, devices or FIFOs) in directories that stay inside
        #    the repository, and their sizes
        dirs = sorted({posixpath.dirname(p) or "." for p in paths})
        root = shlex.quote(self.root)
        real = shlex.quote(self._real_root)
        listing = self._direct(
            f"for d in {' '.join(shlex.quote(d) for d in dirs)}; do cd -P -- {root}/\"$d\" 2>/dev/null && "
            f"case $PWD/ in {real}/*) printf 'D%s\\0' \"$d\";; esac; done; cd {root} && "
            f"printf '%s\\0' {' '.join(shlex.quote('./' + p) for p in paths)} | xargs -0 -r sh -c "
            "'exec find \"$@\" -maxdepth 0 -type f -printf \"F%s %p\\0\"' sh 2>/dev/null; true", 300)
        inside, sizes = set(), {}
        for item in bytes(listing.out.head).decode("utf-8", "surrogateescape").split("\0"):
            if item.startswith("D"):
                inside.add(item[1:])
            elif item.startswith("F") and " ./" in item:
                size, _, p = item[1:].partition(" ./")
                sizes[p] = int(size)
        chosen, total = [], 0
        for p in paths:
            size = sizes.get(p)
            if size is None or size > limit or (posixpath.dirname(p) or ".") not in inside:
                continue
            if total + size > MAX_READ_MANY_BYTES:
                break
            chosen.append(p)
            total += size
        if not chosen:
            return {}
        # 2. those files, as a tar (a file that grew meanwhile is cut by the cap on what is kept)
        argv = ["tar", "--ignore-failed-read", "--no-recursion", "-cf", "-", "--", *("./" + p for p in chosen)]
        got = self._direct(f"{shlex.join(argv)} 2>/dev/null", 300, total + 16 * 1024 * 1024, keep_tail=False)
        files: dict[str, bytes] = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(got.out.head)), mode="r:") as tar:
                for member in tar:
                    name = member.name[2:] if member.name.startswith("./") else member.name
                    if member.isfile() and member.size <= limit and (fh := tar.extractfile(member)) is not None:
                        files[name] = fh.read()
        except (tarfile.TarError, EOFError):  # cut short: keep what came whole
            pass
        return files

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for s in self._sessions:
                s.close()
        _live.discard(self)
        if self.container is None:
            return
        # the docker SDK loads slowly: imported when the engine is needed
        import docker

        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: the engine's auto-removal is already under way
                raise
