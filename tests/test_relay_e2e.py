"""`patchwright fix` and `patchwright run` with the model played by a person (`human`, scripted
stdin) or by another program (`relay:DIR`, a thread answering the turn files): a whole run, a
malformed answer sent back, a kill and a resume in which no answered turn is asked again, and the
labels that say no hosted model was called."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from relay_helpers import Answerer, edit_turns, offered

from agent.trajectory import read_trajectory
from conftest import make_repo, run_cli

STATS = 'def mean(values):\n    """The arithmetic mean of values."""\n    return sum(values) / (len(values) + 1)\n'
GOOD = 'def mean(values):\n    """The arithmetic mean of values."""\n    return sum(values) / len(values)\n'
TESTS = '''\
import unittest

from calc.stats import mean


class StatsTest(unittest.TestCase):
    def test_mean_of_three(self):
        self.assertEqual(mean([1, 2, 3]), 2.0)

    def test_mean_of_one(self):
        self.assertEqual(mean([4]), 4.0)
'''
ISSUE = "mean() is off: mean([1, 2, 3]) returns 1.5 instead of 2.0.\n"


@pytest.fixture
def calc(tmp_path) -> Path:
    return make_repo(tmp_path / "calc", {"calc/__init__.py": "", "calc/stats.py": STATS, "tests/__init__.py": "",
                                         "tests/test_stats.py": TESTS, ".gitignore": "__pycache__/\n"})


def fix_args(repo: Path, model: str, out: Path) -> list[str]:
    return ["fix", str(repo), "--issue", ISSUE, "--model", model, "--workspace", "local", "--out", str(out)]


def models_in(run_dir: Path) -> set[str]:
    return {s.response["model"] for s in read_trajectory(run_dir / "trajectory.jsonl") if s.response}


# -- human -----------------------------------------------------------------------------------------
HUMAN_ANSWERS = """\
select_files {"paths": ["calc/stats.py"]}

select_definitions {"names": ["calc/stats.py:mean"]}

Let me read it first.
view_file {"pth": "calc/stats.py"}

Let me read it first.
view_file {"path": "calc/stats.py"}

replace_symbol {"name": "calc/stats.py:mean",
  "new_source": "def mean(values):\\n    \\"\\"\\"The arithmetic mean of values.\\"\\"\\"\\n    return sum(values) / len(values)\\n"}

mean divides by the count now.

"""


def test_human_plays_a_whole_fix_from_stdin(calc, tmp_path):
    run_dir = tmp_path / "run"
    res = run_cli(*fix_args(calc, "human", run_dir), "--json", input=HUMAN_ANSWERS, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["status"] == "verified" and summary["steps"] == 5 and summary["cost"] == 0.0
    assert summary["model"] == "human" and models_in(run_dir) == {"human"}
    assert "+    return sum(values) / len(values)" in (run_dir / "patch.diff").read_text()
    shown = res.stderr
    assert shown.count("==== turn ") == 5 and "## System prompt" in shown  # turn 1 shows the system prompt
    # the malformed call was explained and asked again: it never reached the agent
    assert "! Malformed call to view_file: missing required argument 'path'" in shown
    steps = read_trajectory(run_dir / "trajectory.jsonl")
    assert not any(c.get("error") for s in steps if s.response for c in s.response["tool_calls"])
    # the tool's answer was shown in full on the next turn
    assert "calc/stats.py: lines 1-3 of 3" in shown and "return sum(values) / (len(values) + 1)" in shown


def test_human_end_of_input_ends_the_run_with_a_clear_status(calc, tmp_path):
    res = run_cli(*fix_args(calc, "human", tmp_path / "run"), input=HUMAN_ANSWERS.split("Let me")[0], timeout=300)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "status: error" in res.stdout and "human: the input ended at turn 3" in res.stdout
    assert "cost: $0.0000 (human: not a priced model)" in res.stdout


def test_human_under_run_needs_one_worker(tmp_path):
    res = run_cli("run", "--dataset", "builtin", "--model", "human", "--workers", "2", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "--model human plays one instance at a time at this terminal: run it with --workers 1" in res.stderr


def test_help_names_the_stand_ins():
    fix_help, run_help = (" ".join(run_cli(cmd, "--help").stdout.split()) for cmd in ("fix", "run"))
    assert "human (you answer each" in fix_help and "relay:DIR[,wait=SECONDS]" in fix_help
    assert "human (you answer each" in run_help and "DIR/INSTANCE_ID/" in run_help and "--max-time" in run_help


# -- relay -----------------------------------------------------------------------------------------
def solve_calc(request: dict, markdown: str) -> dict:
    tools = offered(request)
    if "select_files" in tools:
        return {"content": "stats", "tool_calls": [{"name": "select_files", "arguments": {"paths": ["calc/stats.py"]}}]}
    if "select_definitions" in tools:
        return {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["calc/stats.py:mean"]}}]}
    n = edit_turns(request)
    if n == 0:
        return {"content": "look", "tool_calls": [{"name": "view_file", "arguments": {"path": "calc/stats.py"}}]}
    if n == 1:
        return {"tool_calls": [{"name": "replace_symbol",
                                "arguments": {"name": "calc/stats.py:mean", "new_source": GOOD}}]}
    return {"content": "mean divides by the count now.", "notes": "clear enough"}


def test_relay_fix_killed_mid_run_resumes_without_asking_a_turn_twice(calc, tmp_path):
    turns, run_dir = tmp_path / "turns", tmp_path / "run"
    asked4, killed = threading.Event(), threading.Event()
    first_reply = iter(['{"content": "look", "tool_calls": [{"name": "view_fil", "arguments": {}}]}'])
    errors: list[str] = []

    def answer(request, markdown):
        if request["turn"] == 3:  # one malformed reply first: unknown tool
            reply = next(first_reply, None)
            if reply:
                return reply
            errors.append((turns / "turn-0003.error.md").read_text())
        if request["turn"] == 4:
            asked4.set()
            killed.wait(120)  # the reply lands while the process is dead
        return solve_calc(request, markdown)

    env = {**os.environ, "TMPDIR": str(tmp_path)}  # what the killed run leaves goes with the test's files
    with Answerer(turns, answer) as other:
        proc = subprocess.Popen([sys.executable, "-m", "patchwright", *fix_args(calc, f"relay:{turns}", run_dir)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert asked4.wait(240), "the run never asked turn 4"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            killed.set()
            if proc.poll() is None:
                proc.kill()
        assert not (run_dir / "summary.json").exists()
        res = run_cli("fix", "--resume", str(run_dir), "--json", env={"TMPDIR": str(tmp_path)}, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["status"] == "verified" and summary["cost"] == 0.0
    assert other.failures == [] and other.asked_twice == []
    assert dict(other.answered) == {(None, 1): 1, (None, 2): 1, (None, 3): 2, (None, 4): 1, (None, 5): 1}
    assert (turns / "turn-0003.rejected-1.json").exists() and not (turns / "turn-0003.error.md").exists()
    assert not (turns / "turn-0006.json").exists()
    assert len(errors) == 1 and "there is no tool named 'view_fil'" in errors[0]
    nodes = [s.node for s in read_trajectory(run_dir / "trajectory.jsonl")]
    assert nodes.count("resume") == 1 and models_in(run_dir) == {"relay"}
    assert json.loads((turns / "status.json").read_text())["state"] == "closed"
    # the same fix again on the same directory goes through the answered turns without asking
    res = run_cli(*fix_args(calc, f"relay:{turns},wait=1", tmp_path / "again"), "--json", timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads(res.stdout)["status"] == "verified"
    assert (tmp_path / "again" / "patch.diff").read_text() == (run_dir / "patch.diff").read_text()
    assert sum(other.answered.values()) == 6 and not (turns / "turn-0006.json").exists()


def test_relay_wait_limit_ends_the_run_as_a_budget(calc, tmp_path):
    turns = tmp_path / "turns"
    res = run_cli(*fix_args(calc, f"relay:{turns},wait=1", tmp_path / "run"), "--json", timeout=300)
    assert res.returncode == 1, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["status"] == "budget_exhausted" and "relay: turn 1 got no reply within 1 s" in summary["message"]
    assert json.loads((turns / "status.json").read_text())["state"] == "closed"
    assert (turns / "turn-0001.md").exists() and not (turns / "turn-0001.reply.json").exists()


# -- under `patchwright run`, in Docker --------------------------------------------------------------
KVCONF = "builtin__kvconf-1"


def solve_kvconf(request: dict, markdown: str) -> dict:
    tools = offered(request)
    if "select_files" in tools:
        return {"tool_calls": [{"name": "select_files", "arguments": {"paths": ["kvconf/types.py"]}}]}
    if "select_definitions" in tools:
        return {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["kvconf/types.py:to_bool"]}}]}
    n = edit_turns(request)
    if n == 0:
        return {"tool_calls": [{"name": "view_symbol", "arguments": {"name": "kvconf/types.py:to_bool"}}]}
    if n == 1:
        fix = {"path": "kvconf/types.py", "old": "    return bool(value)\n", "new": "    return value in TRUE\n"}
        return {"content": "bool() of any non-empty string is True.",
                "tool_calls": [{"name": "str_replace", "arguments": fix}]}
    return {"content": "to_bool now tells false values from true ones."}


@pytest.fixture
def kvconf_image(base_image):
    from harness.images import ensure_instance_image
    from harness.instance import load_instances

    return ensure_instance_image(next(i for i in load_instances("builtin") if i.instance_id == KVCONF)).tag


@pytest.mark.docker
def test_run_with_relay_killed_and_run_again_asks_no_turn_twice(kvconf_image, tmp_path):
    turns, out = tmp_path / "turns", tmp_path / "out"
    asked3, killed = threading.Event(), threading.Event()

    def answer(request, markdown):
        if request["turn"] == 3:
            asked3.set()
            killed.wait(120)
        return solve_kvconf(request, markdown)

    args = ["run", "--dataset", "builtin", "--filter", "kvconf-1$", "--model", f"relay:{turns}", "--eval",
            "--out", str(out)]
    with Answerer(turns, answer) as other:
        proc = subprocess.Popen([sys.executable, "-m", "patchwright", *args, "--json"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert asked3.wait(300), "the run never asked turn 3"
            os.kill(proc.pid, signal.SIGKILL)  # the worker gets SIGTERM and removes its container
            proc.wait(30)
        finally:
            killed.set()
            if proc.poll() is None:
                proc.kill()
        time.sleep(1)
        res = run_cli(*args, "--json", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["finished"] == 1 and summary["resolved"] == 1, summary
    assert summary["model_name_or_path"] == "relay" and summary["cost"] == 0.0 and "cost nothing" in summary["note"]
    assert other.failures == [] and other.asked_twice == []
    assert set(other.answered) == {(KVCONF, n) for n in range(1, 6)} and set(other.answered.values()) == {1}
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [(r["instance_id"], r["model_name_or_path"]) for r in rows] == [(KVCONF, "relay")]
    assert "+    return value in TRUE" in rows[0]["model_patch"]
    assert (turns / KVCONF / "turn-0005.reply.json").exists()  # each instance in its own directory
    index = json.loads((turns / "status.json").read_text())
    assert index["waiting"] == [] and index["instances"][KVCONF]["state"] == "closed"
    assert models_in(out / KVCONF) == {"relay"}


@pytest.mark.docker
def test_run_with_human_reads_the_terminal_in_the_worker(kvconf_image, tmp_path):
    typed = "\n\n".join([
        'select_files {"paths": ["kvconf/types.py"]}',
        'select_definitions {"names": ["kvconf/types.py:to_bool"]}',
        'str_replace {"path": "kvconf/types.py", "old": "    return bool(value)\\n", "new": "    return value in TRUE\\n"}',
        "Fixed: to_bool compares against TRUE.",
    ]) + "\n\n"
    res = run_cli("run", "--dataset", "builtin", "--filter", "kvconf-1$", "--model", "human", "--out",
                  str(tmp_path / "out"), "--json", input=typed, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)
    assert summary["finished"] == 1 and summary["errors"] == {}, summary
    assert summary["model_name_or_path"] == "human" and summary["cost"] == 0.0
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert [r["model_name_or_path"] for r in rows] == ["human"]
    assert "+    return value in TRUE" in rows[0]["model_patch"]
    assert res.stderr.count("==== turn ") == 4 and "note: a person at the terminal plays the model" in res.stderr
