"""Workspaces: the same behaviour from DockerWorkspace (real engine) and LocalWorkspace."""

from __future__ import annotations

import os
import threading
import time

import pytest

from conftest import git, make_repo, tree_snapshot
from sandbox.docker_workspace import DockerWorkspace, Limits
from sandbox.errors import ImageNotFound, UserError
from sandbox.workspace import LocalWorkspace


@pytest.fixture(params=["docker", "local"])
def open_ws(request):
    """A factory: open_ws(repo, **kwargs) -> a workspace of the parametrised kind, closed at teardown."""
    opened = []

    def factory(repo, **kwargs):
        if request.param == "docker":
            image = request.getfixturevalue("base_image")
            ws = DockerWorkspace(image, repo, **kwargs)
        else:
            kwargs.pop("limits", None)
            ws = LocalWorkspace(repo, **kwargs)
        opened.append(ws)
        return ws

    yield factory
    for ws in opened:
        ws.close()


def test_run_read_write_and_diff(open_ws, small_repo):
    (small_repo / "notes.txt").write_text("uncommitted new file\n")
    (small_repo / "pkg/core.py").write_text("def add(a, b):\n    return a + b  # local edit\n")
    before = tree_snapshot(small_repo)
    ws = open_ws(small_repo)
    res = ws.run("python3 -c 'import pkg.core as c; print(c.add(2, 3))'")
    assert res.ok and res.output.strip() == "5"
    # the workspace starts from the working tree as it is on disk, and that is its base
    assert "# local edit" in ws.read_file("pkg/core.py")
    assert ws.read_file("notes.txt") == "uncommitted new file\n"
    assert ws.diff() == ""

    ws.write_file("pkg/core.py", "def add(a, b):\n    return b + a\n")
    ws.write_file("pkg/new_mod.py", "X = 1\n")
    ws.run("rm README.md")
    diff = ws.diff()
    assert "diff --git a/pkg/core.py b/pkg/core.py" in diff and "+    return b + a" in diff
    assert "new file mode" in diff and "+X = 1" in diff
    assert "deleted file mode" in diff and "README.md" in diff
    assert "diff --git a/pkg/core.py" in ws.diff(exclude=["pkg/new_mod.py"])
    assert "new_mod.py" not in ws.diff(exclude=["pkg/new_mod.py"])
    # files the workspace keeps for itself never show up in the diff or the file list
    assert ".patchwright" not in diff
    assert "pkg/new_mod.py" in ws.list_files() and "README.md" not in ws.list_files()
    assert ws.read_many(["pkg/new_mod.py", "missing.py"]) == {"pkg/new_mod.py": b"X = 1\n"}
    ws.close()
    assert tree_snapshot(small_repo) == before


def test_diff_respects_gitignore_and_binary_roundtrip(open_ws, small_repo):
    ws = open_ws(small_repo)
    ws.run("mkdir -p pkg/__pycache__ && echo junk > pkg/__pycache__/core.cpython-311.pyc")
    data = bytes(range(256)) * 3
    ws.write_bytes("data.bin", data)
    assert ws.read_bytes("data.bin") == data
    assert "__pycache__" not in ws.diff()
    with pytest.raises(FileNotFoundError):
        ws.read_file("does/not/exist.py")


def test_large_files_and_long_commands(open_ws, small_repo):
    ws = open_ws(small_repo)
    big = bytes(range(256)) * 800  # 200 KiB, every byte value
    ws.write_bytes("big.bin", big)
    assert ws.read_bytes("big.bin") == big
    small = b"\x00\xff\n\r\n" * 10
    ws.write_bytes("sub/dir/small.bin", small)
    assert ws.read_bytes("sub/dir/small.bin") == small
    with pytest.raises(IsADirectoryError):
        ws.read_bytes("sub")
    long_arg = "x" * 300_000  # longer than one argument may be
    res = ws.run(f"printf '%s' {long_arg} | wc -c")
    assert res.ok and res.output.strip() == "300000"


def test_commands_and_writes_of_every_size(open_ws, small_repo):
    ws = open_ws(small_repo)
    # multi-byte text: a request's length is in bytes, not characters (short and long scripts)
    for n in (10, 30_000):
        text = "é€😀" * n
        res = ws.run(f"printf '%s' '{text}' | wc -c; echo after")
        assert res.ok and res.output.split() == [str(9 * n), "after"]
    for size in (32 * 1024 + 1, 700 * 1024):  # above the old limit; above the one of the resident shell
        data = bytes(range(256)) * (size // 256) + b"\n"
        ws.write_bytes("sized.bin", data)
        assert ws.read_bytes("sized.bin") == data
    assert ws.run("echo still in step").output == "still in step\n"


def test_write_keeps_crlf_and_missing_final_newline(open_ws, small_repo):
    ws = open_ws(small_repo)
    ws.write_file("win.txt", "a\r\nb\r\nno newline")
    assert ws.read_bytes("win.txt") == b"a\r\nb\r\nno newline"


def test_timeout_kills_and_keeps_partial_output(open_ws, small_repo):
    ws = open_ws(small_repo)
    start = time.monotonic()
    # a duration of its own: on the local workspace `ps` sees the whole host
    nap = f"sleep 100.{os.getpid()}{time.monotonic_ns() % 100000}"
    res = ws.run(f"echo started; {nap}; echo never", timeout=2)
    elapsed = time.monotonic() - start
    assert res.timed_out and not res.ok
    assert "started" in res.output and "never" not in res.output
    assert elapsed < 10
    # the workspace keeps working, and nothing of the killed command is left running
    assert ws.run("echo fine").output == "fine\n"
    assert nap not in ws.run("ps -eo args").output


def test_timeout_kills_a_command_that_ignores_sigterm(open_ws, small_repo):
    ws = open_ws(small_repo)
    start = time.monotonic()
    res = ws.run("trap '' TERM; echo stubborn; sleep 100", timeout=1)
    assert res.timed_out and "stubborn" in res.output
    assert time.monotonic() - start < 15


def test_output_cap_has_visible_marker(open_ws, small_repo):
    ws = open_ws(small_repo, max_output=2000)
    res = ws.run("echo FIRST; seq 1 100000; echo LAST")
    assert res.truncated
    assert res.output.startswith("FIRST") and res.output.rstrip().endswith("LAST")
    assert "bytes of output truncated" in res.output
    assert len(res.output) < 2200
    assert not ws.run("echo small").truncated
    assert len(ws.run("seq 1 100000", max_output=None).output) > 500_000


def test_exit_codes_env_and_workdir(open_ws, small_repo):
    ws = open_ws(small_repo)
    res = ws.run("echo out; echo err >&2; exit 3")
    assert res.exit_code == 3 and "out" in res.output and "err" in res.output
    assert ws.run("echo $GREETING", env={"GREETING": "hello world"}).output == "hello world\n"
    assert ws.run("pwd", workdir="pkg").output.strip().endswith("/pkg")


def test_secrets_do_not_enter_the_workspace(open_ws, small_repo, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-should-not-leak")
    ws = open_ws(small_repo)
    out = ws.run("env").output
    assert "should-not-leak" not in out


def test_concurrent_commands(open_ws, small_repo):
    ws = open_ws(small_repo)
    results = {}

    def work(i):
        results[i] = ws.run(f"sleep 0.5; echo {i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i].output.strip() == str(i) for i in range(4))


# -- Docker only ------------------------------------------------------------------------------------


def test_docker_network_off_by_default(base_image, small_repo):
    with DockerWorkspace(base_image, small_repo) as ws:
        res = ws.run("python3 -c \"import socket; s=socket.create_connection(('1.1.1.1', 80), timeout=3)\"")
        assert res.exit_code != 0
        assert "Network is unreachable" in res.output or "timed out" in res.output or "Errno" in res.output
        assert ws.run("cat /sys/class/net/*/operstate 2>/dev/null; ls /sys/class/net").output.split() in (
            ["unknown", "lo"], ["lo"])


def test_docker_network_opt_in_mounts_host_ca(base_image, small_repo):
    with DockerWorkspace(base_image, small_repo, network=True) as ws:
        res = ws.run('test -s "$PIP_CERT" && echo "$PIP_CERT $SSL_CERT_FILE"')
        assert res.ok, res.output
        assert "patchwright-host-ca.crt" in res.output
        assert ws.run('echo x >> "$PIP_CERT"').exit_code != 0  # mounted read-only
        assert "eth0" in ws.run("ls /sys/class/net").output


def test_docker_memory_limit_enforced(base_image, small_repo):
    with DockerWorkspace(base_image, small_repo, limits=Limits(memory="128m")) as ws:
        res = ws.run("python3 -c \"b = bytearray(512 * 1024 * 1024); print('allocated')\"", timeout=120)
        assert res.exit_code == 137 and "allocated" not in res.output
        assert ws.run("echo alive").output == "alive\n"


def test_docker_pids_limit_enforced(base_image, small_repo):
    with DockerWorkspace(base_image, small_repo, limits=Limits(pids=64)) as ws:
        res = ws.run("for i in $(seq 200); do sleep 5 & done; wait", timeout=30)
        assert "fork" in res.output.lower() or "resource temporarily unavailable" in res.output.lower()
        assert ws.run("echo alive", timeout=30).output == "alive\n"


def test_docker_container_labelled_and_gone_after_close(docker_engine, base_image, small_repo):
    ws = DockerWorkspace(base_image, small_repo)
    cid = ws.container.id
    labels = docker_engine.containers.get(cid).labels
    assert labels["patchwright"] == "1" and labels["patchwright.kind"] == "workspace"
    assert docker_engine.containers.get(cid).attrs["HostConfig"]["Binds"] in (None, [])
    ws.close()
    _assert_gone(docker_engine, cid)


def test_docker_container_gone_after_exception(docker_engine, base_image, small_repo):
    cid = None
    with pytest.raises(RuntimeError, match="boom"):
        with DockerWorkspace(base_image, small_repo) as ws:
            cid = ws.container.id
            raise RuntimeError("boom")
    _assert_gone(docker_engine, cid)


def test_docker_survives_kill_all(base_image, small_repo):
    with DockerWorkspace(base_image, small_repo) as ws:
        ws.run("kill -9 -1")
        assert ws.run("echo still here").output == "still here\n"


def test_docker_image_without_source_holds_an_empty_repo(base_image):
    with DockerWorkspace(base_image) as ws:
        assert ws.run("pwd").output.strip() == "/testbed"
        ws.write_file("a.py", "x = 1\n")
        assert "+x = 1" in ws.diff()


def test_missing_image_is_a_user_error(docker_engine, small_repo):
    with pytest.raises(ImageNotFound, match="not found"):
        DockerWorkspace("patchwright/does-not-exist:nope", small_repo)


def _assert_gone(client, cid):
    import docker

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.containers.get(cid)
        except docker.errors.NotFound:
            return
        time.sleep(0.2)
    raise AssertionError(f"container {cid[:12]} still exists")


# -- Local only -------------------------------------------------------------------------------------


def test_local_source_byte_for_byte_unchanged(small_repo):
    (small_repo / "pkg/core.py").write_text("def add(a, b):\n    return a - b\n")  # uncommitted change
    git(small_repo, "add", "pkg/core.py")  # staged, too
    (small_repo / "scratch.txt").write_text("untracked\n")
    before = tree_snapshot(small_repo)
    with LocalWorkspace(small_repo) as ws:
        ws.write_file("pkg/core.py", "changed inside\n")
        ws.run("git add -A && git commit -qm inside && git gc -q")
        ws.run("rm -rf tests")
        assert "a - b" not in ws.read_file("pkg/core.py")
        assert ws.run("git log --oneline").output.count("\n") >= 2  # history is there
    assert tree_snapshot(small_repo) == before


def test_local_workspace_refuses_paths_outside(small_repo):
    with LocalWorkspace(small_repo) as ws:
        with pytest.raises(ValueError):
            ws.read_file("../../etc/passwd")
        with pytest.raises(ValueError):
            ws.write_file("/etc/patchwright-test", "x")


def test_local_temp_copy_removed_on_close(small_repo):
    ws = LocalWorkspace(small_repo)
    from pathlib import Path

    root = Path(ws.root)
    assert root.exists()
    ws.close()
    assert not root.exists()


def test_repo_without_commits(tmp_path):
    repo = make_repo(tmp_path / "fresh", {"a.py": "print(1)\n"}, commit=False)
    with LocalWorkspace(repo) as ws:
        assert ws.diff() == ""
        ws.write_file("a.py", "print(2)\n")
        assert "+print(2)" in ws.diff()


def test_bad_sources_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        LocalWorkspace(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="not a git repository"):
        LocalWorkspace(tmp_path / "plain")


def test_a_diff_brought_up_to_date_file_by_file_equals_the_whole_diff(open_ws, tmp_path):
    from sandbox.diffs import splice_diff

    repo = make_repo(tmp_path / "repo", {"a.b": "1\n", "a/c.py": "x = 1\n", "a/d/e.py": "y = 2\n",
                                        "name with space.txt": "s\n", "é.txt": "e\n", "z.txt": "z\n",
                                        ".gitignore": "*.log\n"})
    ws = open_ws(repo)
    known = ws.diff(exclude=["scratch"])
    steps = [
        {"a/c.py": b"x = 2\n"},  # changed
        {"a/b.py": b"new\n", "a.b": b"2\n", "a/d/e.py": None},  # new inside the order, changed, removed
        {"name with space.txt": b"t\n", "\u00e9.txt": b"f\n", "bin.dat": bytes(range(256))},
        {"a/c.py": b"x = 1\n"},  # back as at the base: its section goes
        {"scratch/s.py": b"print()\n", "out.log": b"ignored\n"},  # left out, ignored
        {"missing.txt": None},  # removed though it never was: nothing changes
        {"a/b.py": None, "zz/new.py": b"n\n"},  # a new file removed again; one at the end
    ]
    for step in steps:
        for path, data in step.items():
            if data is None:
                ws.run(f"rm -f '{path}'")
            else:
                ws.write_bytes(path, data)
        paths = sorted(step)
        known = splice_diff(known, ws.diff(exclude=["scratch"], paths=paths), paths)
        assert known == ws.diff(exclude=["scratch"]), step
    assert "a.b" in known and "bin.dat" in known and "scratch" not in known
    # a name git quotes cannot be read back from the headers: the caller takes the whole diff again
    ws.write_bytes('q"uote.txt', b"q\n")
    assert splice_diff(known, ws.diff(paths=['q"uote.txt']), ['q"uote.txt']) is None
    assert splice_diff(ws.diff(), "", ["z.txt"]) is None
