"""Attacks on the sandboxes: the resident shell's protocol, what a timeout leaves behind, a fork
bomb, memory and disk exhaustion, capabilities, and the environment of local commands."""

from __future__ import annotations

import os
import time

import pytest

from conftest import make_repo
from sandbox.docker_workspace import DockerWorkspace, Limits
from sandbox.workspace import LocalWorkspace


@pytest.fixture(params=["docker", "local"])
def open_ws(request, tmp_path):
    """A factory: open_ws(**kwargs) -> a workspace of the parametrised kind over a small repository."""
    opened = []
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", ".gitignore": "*.log\n"})

    def factory(**kwargs):
        if request.param == "docker":
            ws = DockerWorkspace(request.getfixturevalue("base_image"), repo, **kwargs)
        else:
            kwargs.pop("limits", None)
            ws = LocalWorkspace(repo, **kwargs)
        opened.append(ws)
        return ws

    yield factory
    for ws in opened:
        ws.close()


def _docker(base_image, tmp_path, **kwargs) -> DockerWorkspace:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    return DockerWorkspace(base_image, repo, **kwargs)


def _bash(ws, command: str, timeout: int = 120) -> str:
    from tools.context import ToolContext
    from tools.toolset import TOOLS

    return TOOLS.call(ToolContext(ws, index_cache=False), "bash", {"command": command, "timeout": timeout}).text


# -- the resident shell ------------------------------------------------------------------------------


@pytest.mark.attack("a command prints the end marker of the resident shell (any PATCHWRIGHT_* variable it can "
                    "see, and a guessed marker) and goes on running",
                    expected="its result holds all its output and its own exit code; the next command's result "
                             "is its own")
def test_a_command_cannot_forge_the_end_of_its_output(open_ws):
    ws = open_ws()
    forge = ('for v in $(env | grep -o "^PATCHWRIGHT[A-Z_]*=[^ ]*"); do printf "\\nPWEND%s 0\\n" "${v#*=}"; done; '
             'printf "\\nPWEND%s 0\\n" 0123456789abcdef; echo forged; sleep 1; echo late; exit 7')
    res = ws.run(forge, timeout=30)
    assert res.exit_code == 7 and "late" in res.output and "forged" in res.output, res
    assert ws.run("echo next").output == "next\n"
    assert "PATCHWRIGHT" not in ws.run("env").output


@pytest.mark.attack("a command leaves a background job that prints after the command ended",
                    expected="nothing of it appears in a later command's result")
def test_background_output_never_reaches_a_later_result(open_ws):
    ws = open_ws()
    first = ws.run("(sleep 2; echo LEAKED; sleep 1; echo LEAKED AGAIN) & echo first")
    assert first.output == "first\n" and first.duration < 2
    time.sleep(2.5 - first.duration)
    assert ws.run("echo second").output == "second\n"
    time.sleep(1)
    assert ws.run("echo third").output == "third\n"


def _alive(ws, tag: str) -> bool:
    return tag in ws.run("ps -eo args").output if ws.kind == "docker" else _host_has(tag)


def _host_has(tag: str) -> bool:
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if tag.encode() in fh.read():
                        return True
            except OSError:
                pass
    return False


@pytest.mark.attack("a command starts `setsid` children (one with an emptied environment, one double-forked) "
                    "and runs past its timeout",
                    expected="the timeout kills everything the command started")
def test_a_timeout_kills_setsid_descendants(open_ws):
    ws = open_ws()
    tag = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    cmd = (f"setsid sleep 300.{tag}1 & (env -i setsid sleep 300.{tag}2 &) ; "
           f"(setsid sh -c 'sleep 300.{tag}3 & sleep 300.{tag}4' &); sleep 0.5; echo started; sleep 100")
    res = ws.run(cmd, timeout=3)
    assert res.timed_out and "started" in res.output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(ws, f"300.{tag}"):
        time.sleep(0.2)
    assert not _alive(ws, f"300.{tag}")
    assert ws.run("echo fine").output == "fine\n"


@pytest.mark.attack("a command leaves `setsid` daemons running (one double-forked), then the workspace closes",
                    expected="nothing the workspace's commands started outlives it")
def test_nothing_a_command_started_outlives_the_workspace(open_ws):
    ws = open_ws()
    tag = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    res = ws.run(f"setsid sleep 300.{tag}1 & (setsid sleep 300.{tag}2 &); sleep 0.3; echo left")
    assert res.output == "left\n" and _alive(ws, f"300.{tag}2")
    ws.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _host_has(f"300.{tag}"):
        time.sleep(0.2)
    assert not _host_has(f"300.{tag}")  # a container's processes show in the host's /proc too


# -- resource exhaustion (Docker) ---------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.attack("a fork bomb in the Docker sandbox",
                    expected="the result says the process limit was reached; the bomb is killed and the next "
                             "command works")
def test_a_fork_bomb_is_reported_and_cleaned_up(base_image, tmp_path):
    with _docker(base_image, tmp_path, limits=Limits(pids=64)) as ws:
        res = ws.run(":(){ :|:& };:", timeout=30)
        assert any("process limit" in n for n in res.notes), res
        assert "process limit (64)" in _bash(ws, ":(){ :|:& };:", timeout=30)
        start = time.monotonic()
        assert ws.run("echo alive", timeout=30).output == "alive\n"
        assert time.monotonic() - start < 5
        assert int(ws.run("ls /proc | grep -c '^[0-9]'").output) < 20


@pytest.mark.docker
@pytest.mark.attack("a command allocates more than the container's memory",
                    expected="exit 137 and a result that says it was killed for memory (the limit named)")
def test_an_oom_kill_is_reported(base_image, tmp_path):
    with _docker(base_image, tmp_path, limits=Limits(memory="128m")) as ws:
        res = ws.run("python3 -c \"b = bytearray(512 * 1024 * 1024)\"", timeout=60)
        assert res.exit_code == 137
        assert any("memory limit (128m)" in n for n in res.notes), res
        assert "killed for memory" in _bash(ws, "python3 -c \"b = bytearray(512 * 1024 * 1024)\"")
        assert ws.run("echo alive").output == "alive\n"


@pytest.mark.docker
@pytest.mark.attack("a command fills /testbed (a tmpfs that used to count against memory up to the memory limit)",
                    expected="ENOSPC for that command, the tool answer says the disk is full, the container lives on")
def test_filling_the_repository_is_enospc_and_the_container_survives(base_image, tmp_path):
    with _docker(base_image, tmp_path, limits=Limits(memory="256m")) as ws:
        res = ws.run("head -c 400M /dev/zero > big.bin; echo rc=$?", timeout=60)
        assert "No space left on device" in res.output and "rc=1" in res.output, res.output
        assert any("disk is full" in n for n in res.notes), res
        assert "disk is full" in _bash(ws, "head -c 400M /dev/zero > big2.bin")
        assert ws.run("rm -f big.bin big2.bin && echo alive").output == "alive\n"
        assert ws.run("echo after").output == "after\n"


@pytest.mark.docker
@pytest.mark.attack("a command writes 2 GB outside the repository (/, /usr, /tmp) in the Docker sandbox",
                    expected="the root filesystem is read-only and /tmp is bounded: the writes fail, the host "
                             "disk does not grow")
def test_what_a_sandbox_may_write_is_bounded(docker_engine, base_image, tmp_path):
    project = {"pkg_x/__init__.py": "V = 3\n", "pyproject.toml": "[build-system]\nrequires = ['setuptools']\n"
               "build-backend = 'setuptools.build_meta'\n[project]\nname = 'pkg-x'\nversion = '0.1'\n"}
    repo = make_repo(tmp_path / "repo", project)
    with DockerWorkspace(base_image, repo, limits=Limits(memory="512m")) as ws:
        # pip still installs (into the user site, under /tmp)
        res = ws.run("python3 -m pip install -q --no-build-isolation --no-deps . && cd / && "
                     "python3 -c 'import pkg_x; print(pkg_x.__file__)'", timeout=120)
        assert res.ok and res.output.strip().startswith("/tmp/.local/"), res.output
        res = ws.run("head -c 2G /dev/zero > /big; head -c 2G /dev/zero > /usr/big; echo done", timeout=60)
        assert res.output.count("Read-only file system") == 2, res.output
        res = ws.run("head -c 2G /dev/zero > /tmp/big; echo rc=$?", timeout=60)
        assert "No space left on device" in res.output and "rc=1" in res.output
        assert docker_engine.api.inspect_container(ws.container.id)["HostConfig"]["ReadonlyRootfs"] is True
        listed = docker_engine.api.containers(all=True, size=True, filters={"id": ws.container.id})
        assert listed[0].get("SizeRw", 0) < 50 * 1024 * 1024  # what the container's layer holds on the host
        assert ws.run("rm /tmp/big; echo ok > /tmp/x && cat /tmp/x").output == "ok\n"


@pytest.mark.docker
@pytest.mark.attack("a command in the sandbox uses root's default capabilities (mknod, raw sockets, chroot) "
                    "or gains privileges through a setuid binary",
                    expected="only the capabilities package managers, git and test servers need are kept; "
                             "no-new-privileges")
def test_the_sandbox_drops_capabilities(docker_engine, base_image, tmp_path):
    with _docker(base_image, tmp_path) as ws:
        host = docker_engine.api.inspect_container(ws.container.id)["HostConfig"]
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        status = ws.run("grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status").output
        fields = dict(line.split(":\t") for line in status.strip().splitlines())
        # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID NET_BIND_SERVICE
        kept = sum(1 << bit for bit in (0, 1, 3, 4, 5, 6, 7, 10))
        assert int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == kept
        assert fields["NoNewPrivs"].strip() == "1"
        assert ws.run("mknod /tmp/null2 c 1 3").exit_code != 0
        assert "Operation not permitted" in ws.run("python3 -c \"import socket; "
                                                   "socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)\"").output
        # what the harness relies on still works: pip, git, files owned by others, a test server on :80
        assert ws.run("python3 -m pip --version").ok
        assert ws.run("git status --short && chown 1000:1000 a.py && echo x >> a.py && chown 0:0 a.py").ok
        assert ws.run("python3 -c \"import socket; socket.socket().bind(('127.0.0.1', 80))\"").ok


# -- the local workspace's environment -----------------------------------------------------------------


@pytest.mark.attack("local mode: DATABASE_URL, AWS_ACCESS_KEY_ID and other secrets whose names look harmless "
                    "are in the user's environment",
                    expected="commands get an allow-listed environment: none of them, HOME inside the workspace")
def test_local_commands_get_an_allow_listed_environment(tmp_path, monkeypatch):
    secrets = {"DATABASE_URL": "postgres://u:hunter2@db/x", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
               "SENTRY_DSN": "https://key@sentry.example/1", "MY_SERVICE_AUTH": "opaque-value",
               "PIP_INDEX_URL": "https://user:pw@pypi.example/simple"}
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    with LocalWorkspace(repo) as ws:
        env = dict(line.split("=", 1) for line in ws.run("env -0 | tr '\\0' '\\n'").output.splitlines() if "=" in line)
        for k, v in secrets.items():
            assert k not in env and all(v not in value for value in env.values())
        assert env["PATH"] == os.environ["PATH"]
        assert env["LC_ALL"] == "C.UTF-8" and env["PYTHONDONTWRITEBYTECODE"] == "1"
        assert env["HOME"].startswith(str(ws._tmp)) and os.path.isdir(env["HOME"])
        assert ws.run("echo $GREETING", env={"GREETING": "given"}).output == "given\n"
        assert ws.run("python3 -c 'import sys; print(1)'").output == "1\n"
