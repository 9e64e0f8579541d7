"""Attacks on what the tools read: devices and FIFOs behind file names, huge files, symbolic links
leading out of the repository, and an edit of a file too big for the guard. The ones that could
eat the machine run in a child process with a capped address space (tests/attack_probe.py)."""

from __future__ import annotations

import os

import pytest
from attack_probe import run_probe
from tool_helpers import ok, refused, tool_context

from conftest import git, make_repo

OK_PY = "def ok_function(x):\n    return x + 1\n"


def _repo_with_device_link(tmp_path):
    repo = make_repo(tmp_path / "repo", {"ok.py": OK_PY})
    os.symlink("/dev/zero", repo / "zero.py")  # committed: every copy of the repository carries it
    git(repo, "add", "zero.py")
    git(repo, "commit", "-q", "-m", "a link to a device")
    return repo


def _remove_container(name: str) -> None:
    import docker

    from sandbox.docker_util import docker_client

    try:
        docker_client().containers.get(name).remove(force=True)
    except docker.errors.NotFound:
        pass


def _check_reads(out: dict) -> None:
    assert out["made"] == "made"
    view = out["view"]
    for path in ("zero.py", "z.txt", "z2.py"):  # links to /dev/zero: outside the repository
        is_error, text = view[path]
        assert is_error and "outside the repository" in text, text
    is_error, text = view["fifo.py"]
    assert is_error and "not a regular file" in text, text
    is_error, text = view["huge.py"]
    assert is_error and "too large" in text and "bash" in text, text
    assert out["indexed"] == ["ok.py"]
    assert out["candidates"] == ["ok.py"]
    assert out["retrieved"] == ["ok.py"]
    assert "zero" not in out["repo_map"] and "huge" not in out["repo_map"]
    assert out["read_many"] == ["ok.py"]
    assert out["maxrss_mb"] < 1000


@pytest.mark.attack("ln -s /dev/zero, mkfifo and a 20 GB sparse file in a local workspace, then view_file, "
                    "the index, retrieval and the repo map over them",
                    expected="each read refused with a clear answer (outside / not a regular file / too large); "
                             "the index, map and localization skip them; memory stays small")
def test_local_reads_of_devices_fifos_and_huge_files_are_refused(tmp_path):
    _check_reads(run_probe("reads", kind="local", repo=str(_repo_with_device_link(tmp_path))))


@pytest.mark.docker
@pytest.mark.attack("a committed zero.py -> /dev/zero, ln -s /dev/zero, mkfifo and a 20 GB sparse file in a "
                    "Docker workspace, then view_file, the index, retrieval and the repo map over them",
                    expected="nothing is buffered on the host: each read refused with a clear answer; "
                             "the index, map and localization skip them")
def test_docker_reads_of_devices_fifos_and_huge_files_are_refused(tmp_path, base_image):
    name = f"pw-attack-reads-{os.getpid()}"
    try:
        _check_reads(run_probe("reads", kind="docker", repo=str(_repo_with_device_link(tmp_path)),
                               image=base_image, name=name))
    finally:
        _remove_container(name)


# -- symbolic links leading out of the repository -----------------------------------------------------


SECRET = "def secret_function_xyz(token):\n    return token\n"
ISSUE = "secret_function_xyz returns the token; ok_function is fine"


def _check_outward_link(ctx, link: str) -> None:
    from agent.localization import file_candidates, focus_code, retrieve, skeleton_candidates

    found = retrieve(ctx.workspace, ISSUE, 10, 1000)
    assert link not in found.files
    assert "secret_function_xyz" not in found.repo_map
    assert ctx.index().find("secret_function_xyz") == []
    assert ok(ctx, "find_symbol", name="secret_function_xyz").startswith("No definition named")
    assert "secret_function_xyz" not in ok(ctx, "search", pattern="secret_function")
    # a model (or a ranking) that names the link anyway gets nothing from outside, and no crash
    assert [c["path"] for c in file_candidates(ctx, [link, "ok.py"], 2000)] == ["ok.py"]
    assert [c["path"] for c in skeleton_candidates(ctx, [link, "ok.py"], 2000)] == ["ok.py"]
    assert focus_code(ctx, [f"{link}:secret_function_xyz"], 2000) == []
    assert "outside the repository" in refused(ctx, "view_file", path=link)
    assert "outside the repository" in refused(ctx, "skeleton", path=link)


@pytest.mark.attack("a committed symbolic link leads out of the repository (local workspace) and the issue "
                    "names what the outside file defines",
                    expected="the run goes on: index, map, retrieval, find_symbol and localization skip the link; "
                             "reads through it are refused")
def test_local_outward_symlink_is_skipped_not_fatal(tmp_path):
    outside = tmp_path / "outside" / "secret_mod.py"
    outside.parent.mkdir()
    outside.write_text(SECRET)
    with tool_context(tmp_path, {"ok.py": OK_PY}) as ctx:
        ctx.workspace.run(f"ln -s {outside} leak.py")
        ctx.invalidate()
        _check_outward_link(ctx, "leak.py")


@pytest.mark.docker
@pytest.mark.attack("a symbolic link in a Docker workspace leads to a file outside /testbed that the issue names",
                    expected="index, map, retrieval, find_symbol and localization skip the link; reads refused")
def test_docker_outward_symlink_is_skipped_not_fatal(tmp_path, base_image):
    from sandbox.docker_workspace import DockerWorkspace
    from tools.context import ToolContext

    repo = make_repo(tmp_path / "repo", {"ok.py": OK_PY})
    with DockerWorkspace(base_image, repo) as ws:
        made = ws.run("mkdir -p /tmp/outside && printf '%s' \"$SRC\" > /tmp/outside/secret_mod.py && "
                      "ln -s /tmp/outside/secret_mod.py leak.py && echo made", env={"SRC": SECRET})
        assert made.output.strip() == "made", made.output
        _check_outward_link(ToolContext(ws, index_cache=False), "leak.py")


# -- the edit guard ---------------------------------------------------------------------------------


def _big_python(n_bytes: int) -> str:
    unit = "def f{i}(x):\n    y = x + {i}\n    return [y, {i}]\n\n"
    return "".join(unit.format(i=i) for i in range(n_bytes // len(unit.format(i=100000)) + 1))


@pytest.mark.attack("str_replace on a 4 MB Python file (the guard parsed it whole: minutes and GBs)",
                    expected="the edit is applied within seconds, with a note that the syntax check was skipped")
def test_an_edit_of_a_big_file_skips_the_guard_with_a_note(tmp_path):
    repo = make_repo(tmp_path / "repo", {"big.py": _big_python(4_000_000)})
    out = run_probe("guard", timeout=120, repo=str(repo), path="big.py", old="    return [y, 7]\n",
                    new="    return [y, 7, 'edited']\n")
    assert not out["is_error"] and out["changed"], out["text"]
    assert "syntax check skipped" in out["text"], out["text"]
    assert out["seconds"] < 30 and out["maxrss_mb"] < 1000


@pytest.mark.attack("str_replace on a 25 MB Python file",
                    expected="refused at once: the file is too large for the tools (read cap), use bash")
def test_an_edit_of_a_file_over_the_read_cap_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo", {"big.py": _big_python(25_000_000)})
    out = run_probe("guard", timeout=120, repo=str(repo), path="big.py", old="    return [y, 7]\n",
                    new="    return [y, 7, 'edited']\n")
    assert out["is_error"] and "too large" in out["text"], out["text"]
    assert out["seconds"] < 10 and out["maxrss_mb"] < 1000
