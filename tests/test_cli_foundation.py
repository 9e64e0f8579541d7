"""The command line's skeleton: --version, --help, doctor, exec, and one-line errors for bad input."""

from __future__ import annotations

from conftest import run_cli
from patchwright import __version__


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0]


def test_version_and_help():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"patchwright {__version__}"
    proc = run_cli("--help")
    assert proc.returncode == 0 and "doctor" in proc.stdout and "exec" in proc.stdout


def test_unknown_command_is_a_usage_error():
    proc = run_cli("frobnicate")
    assert proc.returncode == 2 and "No such command" in proc.stderr and "Traceback" not in proc.stderr


def test_doctor_reports_each_check_on_one_line(base_image, monkeypatch):
    proc = run_cli("doctor", env={"ANTHROPIC_API_KEY": "sk-ant-secret-value", "OPENAI_API_KEY": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("OK   python 3.")
    assert any(ln.startswith("OK   docker engine") for ln in lines)
    assert any(ln.startswith("OK   base image") and base_image in ln for ln in lines)
    assert any("ANTHROPIC_API_KEY set" in ln and "OPENAI_API_KEY not set" in ln for ln in lines)
    assert "sk-ant-secret-value" not in proc.stdout + proc.stderr


def test_doctor_without_engine_fails_with_the_fix(tmp_path):
    proc = run_cli("doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    engine = [ln for ln in proc.stdout.splitlines() if "docker engine" in ln][0]
    assert engine.startswith("FAIL") and "fix:" in engine


def test_doctor_cleanup_removes_leftover_containers(docker_engine, base_image):
    # a container labelled by a process that no longer exists is a leftover
    c = docker_engine.containers.create(base_image, command=["sleep", "300"],
                                        labels={"patchwright": "1", "patchwright.kind": "workspace",
                                                "patchwright.owner": "nohost:999999"})
    proc = run_cli("doctor", "--cleanup")
    assert proc.returncode == 0, proc.stderr
    assert c.name in proc.stdout
    names = [x.name for x in docker_engine.containers.list(all=True)]
    assert c.name not in names


def test_exec_runs_in_a_sandbox_copy(small_repo, base_image):
    proc = run_cli("exec", "--diff", str(small_repo), "--", "sh", "-c", "echo hi > new.txt; cat pkg/core.py")
    assert proc.returncode == 0, proc.stderr
    assert "return a + b" in proc.stdout and "+hi" in proc.stdout
    assert not (small_repo / "new.txt").exists()
    proc = run_cli("exec", "--workspace", "local", str(small_repo), "--", "sh", "-c", "exit 7")
    assert proc.returncode == 7


def test_bad_input_one_line_each(tmp_path, docker_engine, small_repo):
    assert_one_line_error(run_cli("exec", str(tmp_path / "missing"), "--", "true"), "no such directory")
    (tmp_path / "plain").mkdir()
    assert_one_line_error(run_cli("exec", str(tmp_path / "plain"), "--", "true"), "not a git repository")
    assert_one_line_error(run_cli("exec", "--image", "patchwright/nope:missing", str(small_repo), "--", "true"),
                          "image not found", "patchwright/nope:missing")
    dead = {"DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
    assert_one_line_error(run_cli("exec", str(small_repo), "--", "true", env=dead), "no Docker engine")
