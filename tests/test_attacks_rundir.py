"""Run and report directories: one run at a time (an OS lock), and no write or delete outside them
even when a name that is a path reaches the code that writes (defence in depth). No Docker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import make_repo, run_cli, tree_snapshot
from harness.evaluation import Outcome
from harness.instance import Instance
from harness.reports import write_instance
from stub_llm import Turn
from swebench_runner.store import RunStore
from swebench_runner.task import InstanceRecord, InstanceResult, InstanceTask, _work_dir, model_name

ROOT = Path(__file__).resolve().parents[1]
ROW = {"instance_id": "o__r-1", "repo": "o/r", "base_commit": "a" * 40, "problem_statement": "x",
       "patch": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"}

# the first invocation's driver: it opens the run directory as `patchwright run` does, has an instance
# in flight (its work directory holds a file), and keeps going until it is killed
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from swebench_runner.store import RunStore
    from swebench_runner.task import model_name
    out, dataset = Path(sys.argv[1]), sys.argv[2]
    store = RunStore(out)
    store.open(dataset, "oracle", model_name("oracle"))
    (store.work_root / "o__r-1").mkdir(parents=True)
    (store.work_root / "o__r-1" / "trajectory.jsonl").write_text("{}\\n")
    print("ready", flush=True)
    time.sleep(600)
""")


def start_holder(out: Path, dataset: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), str(dataset)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.attack("a second `patchwright run --out D` while the first still runs in D",
                    expected="refused with one line, exit 2; the first run's files untouched")
def test_a_second_run_on_a_busy_directory_is_refused_and_touches_nothing(tmp_path):
    dataset = tmp_path / "d.jsonl"
    dataset.write_text(json.dumps(ROW) + "\n")
    out = tmp_path / "out"
    first = start_holder(out, dataset)
    try:
        before = tree_snapshot(out)
        proc = run_cli("run", "--dataset", str(dataset), "--model", "oracle", "--offline", "--out", str(out))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
        assert "is in use by another patchwright run" in lines[0] and f":{first.pid})" in lines[0]
        assert tree_snapshot(out) == before  # the instance in flight keeps its work, nothing was appended
    finally:
        first.kill()
        first.wait()
    # a killed run leaves no stale lock: the next invocation goes on (its one instance cannot be built
    # offline, so it ends with exit 1, having run)
    proc = run_cli("run", "--dataset", str(dataset), "--model", "oracle", "--offline", "--out", str(out), "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["errors"]["o__r-1"].startswith("o/r: no --mirrors DIR given")


FIX_REPO = {"calc.py": "def mean(values):\n    return sum(values) / (len(values) + 1)\n",
            "test_calc.py": "import unittest\n\nfrom calc import mean\n\n\nclass T(unittest.TestCase):\n"
                            "    def test_mean(self):\n        self.assertEqual(mean([1, 2, 3]), 2.0)\n"}


@pytest.mark.attack("`fix --resume D` (or a second `fix --out D`) while the first fix still runs in D",
                    expected="refused with one line, exit 2; the first run finishes unharmed")
def test_a_second_fix_on_a_live_run_directory_is_refused(tmp_path, stub_llm):
    repo = make_repo(tmp_path / "repo", FIX_REPO)
    out = tmp_path / "run"
    turns = [Turn("Here.", calls=[("select_files", {"paths": ["calc.py"]})]),
             Turn(calls=[("select_definitions", {"names": ["calc.py:mean"]})]),
             Turn("Fixing.", calls=[("replace_symbol", {"name": "calc.py:mean", "new_source":
                                                        "def mean(values):\n    return sum(values) / len(values)\n"})]),
             Turn("Done.")]
    gate = threading.Event()  # the first run's first model call waits here until the test opens it

    def answer(request):
        gate.wait(120)
        return turns.pop(0) if turns else None

    stub_llm.handler = answer
    spec = f"openai:gpt-4o@{stub_llm.openai_url}"
    args = ("--workspace", "local", "--test-cmd", f"{sys.executable} -m unittest -v")
    first = subprocess.Popen([sys.executable, "-m", "patchwright", "fix", str(repo), "--issue", "mean is off",
                              "--model", spec, "--out", str(out), *args, "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not stub_llm.requests and time.monotonic() < deadline:  # the first run is in its first model call
            time.sleep(0.1)
        assert stub_llm.requests, "the first run never called the model"
        for second in (["fix", "--resume", str(out)],
                       ["fix", str(repo), "--issue", "mean is off", "--model", spec, "--out", str(out), *args]):
            proc = run_cli(*second)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
            assert "is in use by another patchwright fix run" in lines[0]
        gate.set()
        stdout, stderr = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, stderr[-2000:]
    assert json.loads(stdout)["status"] == "verified"
    assert len(stub_llm.requests) == 4  # nobody else spoke to the model in the first run's name


def test_the_lock_is_per_directory_and_released(tmp_path):
    from sandbox.lock import DirectoryBusy, DirLock

    with DirLock(tmp_path / "a"), DirLock(tmp_path / "b"):
        with pytest.raises(DirectoryBusy, match=rf"{tmp_path / 'a'} is in use .*:{os.getpid()}\)"):
            DirLock(tmp_path / "a").acquire()
    with DirLock(tmp_path / "a"):  # released on exit
        pass


# -- defence in depth: a path-like name that got past the loaders still cannot leave the directory --

def victim_dir(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    return victim


@pytest.mark.attack("a run record whose instance_id is '../victim' reaches RunStore.save/forget/update_record",
                    expected="refused; nothing outside the run directory written or deleted")
def test_the_run_store_never_writes_or_deletes_outside_its_directory(tmp_path):
    from harness.paths import UnsafePath

    victim_dir(tmp_path)
    store = RunStore(tmp_path / "out")
    store.open("builtin", "oracle", model_name("oracle"))
    try:
        before = tree_snapshot(tmp_path)
        with pytest.raises(UnsafePath):
            store.forget({"..", "../victim"})
        rec = InstanceRecord(instance_id="../victim", status="submitted", finished=True)
        with pytest.raises(UnsafePath):
            store.update_record(rec)
        with pytest.raises(UnsafePath):
            store.save(InstanceResult(rec, patch="p", files={"trajectory.jsonl": b"{}\n"}))
        ok = InstanceRecord(instance_id="o__r-1", status="submitted", finished=True)
        with pytest.raises(UnsafePath):  # a worker's file list is checked too
            store.save(InstanceResult(ok, patch="p", files={"../../victim/precious.txt": b"overwritten"}))
        assert tree_snapshot(tmp_path) == before
    finally:
        store.close()


@pytest.mark.attack("an instance whose id is '../../victim' reaches a batch worker's work directory",
                    expected="refused; the directory outside the work root is not deleted")
def test_a_workers_work_directory_stays_inside_the_work_root(tmp_path):
    from harness.paths import UnsafePath

    victim = victim_dir(tmp_path)
    inst = Instance.model_construct(**{**Instance(**ROW).model_dump(), "instance_id": "../../victim"})
    (tmp_path / "out" / ".work").mkdir(parents=True)
    task = InstanceTask.model_construct(instance=inst, work_root=str(tmp_path / "out" / ".work"))
    with pytest.raises(UnsafePath):
        _work_dir(task)
    assert (victim / "precious.txt").read_text() == "keep me"


@pytest.mark.attack("an outcome whose instance_id is '../escaped' reaches the report writer",
                    expected="refused; nothing written outside the report directory")
def test_the_report_writer_never_writes_outside_its_directory(tmp_path):
    from harness.paths import UnsafePath

    for bad in ("../escaped", "..", str(tmp_path / "absolute")):
        with pytest.raises(UnsafePath):
            write_instance(tmp_path / "report", Outcome(instance_id=bad, status="error"), "p", "log")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_kill_9_never_leaves_the_lock_held(tmp_path):
    """The lock is the kernel's: it goes with the process, however the process ends."""
    from sandbox.lock import DirLock

    code = ("import sys, time; from sandbox.lock import DirLock; DirLock(sys.argv[1]).acquire(); "
            "print('ready', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "d")], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with DirLock(tmp_path / "d"):
        pass
