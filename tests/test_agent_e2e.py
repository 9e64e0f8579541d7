"""`patchwright fix` end to end, in Docker, on a small fixture repository, with the real openai and
anthropic SDK clients talking to the local stub server (never a real API).

The fixture `calc` has a bug in `mean` (it divides by len + 1); two of its four unittest tests fail.
"""

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

from agent.runtime import AgentConfig
from agent.trajectory import read_trajectory
from conftest import make_repo, run_cli, tree_snapshot
from patchwright import api

pytestmark = pytest.mark.docker

STATS = '''\
def mean(values):
    """The arithmetic mean of values."""
    return sum(values) / (len(values) + 1)


def median(values):
    """The middle value (the mean of the two middle ones for an even count)."""
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
'''
TESTS = '''\
import unittest

from calc.stats import mean, median


class StatsTest(unittest.TestCase):
    def test_mean_of_three(self):
        self.assertEqual(mean([1, 2, 3]), 2.0)

    def test_mean_of_one(self):
        self.assertEqual(mean([4]), 4.0)

    def test_median_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_median_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)
'''
ISSUE = "mean() is off: mean([1, 2, 3]) returns 1.5 instead of 2.0.\n"
GOOD = 'def mean(values):\n    """The arithmetic mean of values."""\n    return sum(values) / len(values)\n'
BAD = 'def mean(values):\n    """The arithmetic mean of values."""\n    return sum(values) / (len(values) - 1)\n'
FAILING_BEFORE = {"tests.test_stats.StatsTest.test_mean_of_three", "tests.test_stats.StatsTest.test_mean_of_one"}


@pytest.fixture
def calc(tmp_path) -> Path:
    return make_repo(tmp_path / "calc", {"calc/__init__.py": "", "calc/stats.py": STATS, "tests/__init__.py": "",
                                         "tests/test_stats.py": TESTS, ".gitignore": "__pycache__/\n"})


@pytest.fixture
def image(base_image) -> str:
    return base_image


def localize(stub):
    stub.reply("The bug is in calc/stats.py.", calls=[("select_files", {"paths": ["calc/stats.py"]})])
    stub.reply(calls=[("select_definitions", {"names": ["calc/stats.py:mean"]})])


def replace_mean(stub, source, **kw):
    stub.reply("Fixing mean.", calls=[("replace_symbol", {"name": "calc/stats.py:mean", "new_source": source})], **kw)


def openai_spec(stub) -> str:
    return f"openai:gpt-4o@{stub.openai_url}"


def run(repo, stub_or_spec, tmp_path, **kw):
    spec = stub_or_spec if isinstance(stub_or_spec, str) else openai_spec(stub_or_spec)
    return api.fix(repo, ISSUE, spec, out=tmp_path / "run", **kw)


def nodes(run_dir: Path) -> list[str]:
    return [s.node for s in read_trajectory(run_dir / "trajectory.jsonl")]


def test_a_fix_that_passes(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    stub_llm.reply("Let me look.", calls=[("view_symbol", {"name": "mean"})])
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("mean now divides by the count.")
    before = tree_snapshot(calc)
    out = run(calc, stub_llm, tmp_path)
    assert out.status == "verified", out.message
    assert out.files_changed == ["calc/stats.py"]
    assert "+    return sum(values) / len(values)" in out.patch
    assert {t for t, s in out.tests_before.items() if s == "FAILED"} == FAILING_BEFORE
    assert set(out.tests_after.values()) == {"PASSED"} and len(out.tests_after) == 4
    assert out.steps == 5 and out.test_command == "python -m unittest -v"
    assert tree_snapshot(calc) == before  # the user's tree is untouched without --apply
    run_dir = tmp_path / "run"
    assert (run_dir / "patch.diff").read_text() == out.patch
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "verified" and summary["files_changed"] == ["calc/stats.py"]
    assert {"tests_before", "tests_after", "steps", "tokens", "cost", "model"} <= set(summary)
    assert nodes(run_dir) == ["index", "localize", "localize", "edit", "edit", "edit", "test", "review", "submit"]
    edit_bodies = [b for b in stub_llm.bodies("openai") if len(b.get("tools", [])) > 2]
    assert {t["function"]["name"] for t in edit_bodies[0]["tools"]} >= {"view_symbol", "replace_symbol", "run_tests"}
    assert "<issue>" in edit_bodies[0]["messages"][1]["content"]  # the issue stays the first user message
    assert edit_bodies[0]["messages"][2]["content"].startswith("Localization is over. Files chosen: calc/stats.py")
    # the view_symbol observation went back to the model
    assert any(m.get("role") == "tool" and "def mean" in m.get("content", "") for m in edit_bodies[1]["messages"])


def test_a_failing_first_edit_then_a_correct_one(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    replace_mean(stub_llm, BAD)
    stub_llm.reply("Done.")
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Now it is right.")
    out = run(calc, stub_llm, tmp_path)
    assert out.status == "verified"
    steps = read_trajectory(tmp_path / "run" / "trajectory.jsonl")
    assert [s.data.get("verdict") for s in steps if s.node == "review"] == ["edit", "submit"]
    feedback = stub_llm.bodies("openai")[4]["messages"][-1]["content"]
    assert "test_mean_of_three" in feedback and "Your change to calc/stats.py was tested" in feedback


def test_step_budget_ends_cleanly_with_the_patch_so_far(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    replace_mean(stub_llm, BAD)
    stub_llm.reply("never asked", calls=[("view_file", {"path": "calc/stats.py"})])
    out = run(calc, stub_llm, tmp_path, max_steps=3)
    assert out.status == "budget_exhausted" and "step budget" in out.message
    assert out.steps == 3 and len(stub_llm.requests) == 3
    assert "(len(values) - 1)" in out.patch  # the best patch so far
    assert nodes(tmp_path / "run")[-1] == "submit"


def test_cost_cap_is_overrun_by_at_most_one_call(calc, stub_llm, tmp_path, image):
    from stub_llm import Turn

    prompt_tokens = iter([40_000 * 2 ** k for k in range(20)])  # each call costs twice the one before

    def grow(request):
        return Turn(text="looking", calls=[("view_file", {"path": "calc/stats.py"})],
                    usage={"input_tokens": next(prompt_tokens), "output_tokens": 0})

    stub_llm.handler = grow
    out = run(calc, stub_llm, tmp_path, max_cost=0.5)
    costs = [s.cost for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.cost is not None]
    # gpt-4o: $2.50 per million prompt tokens: 0.10, 0.20, 0.40, ...
    assert costs == pytest.approx([0.1, 0.2, 0.4])
    assert out.status == "budget_exhausted" and "cost budget" in out.message
    assert out.cost == pytest.approx(0.7) and out.cost <= 0.5 + max(costs)
    assert len(stub_llm.requests) == 3


def test_a_malformed_call_is_reported_and_the_run_recovers(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    stub_llm.reply("Look.", calls=[("view_file", '{"path": ')])
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Done.")
    out = run(calc, stub_llm, tmp_path)
    assert out.status == "verified"
    first_edit = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit"][0]
    assert first_edit.observations[0].is_error and "view_file" in first_edit.observations[0].output
    sent_back = stub_llm.bodies("openai")[3]["messages"]
    assert sent_back[-1]["role"] == "tool" and "Malformed" in sent_back[-1]["content"]


def test_malformed_calls_in_a_row_end_with_format_error(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    replace_mean(stub_llm, BAD)
    for _ in range(3):
        stub_llm.reply(calls=[("no_such_tool", {"x": 1})])
    out = run(calc, stub_llm, tmp_path)
    assert out.status == "format_error" and "3 malformed" in out.message
    assert out.steps == 6 and "(len(values) - 1)" in out.patch


def test_retry_after_429(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    stub_llm.fail(429, retry_after_ms=50)
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Done.")
    out = run(calc, stub_llm, tmp_path)
    assert out.status == "verified" and out.steps == 4
    assert len(stub_llm.requests) == 5
    edits = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit"]
    assert edits[0].response["attempts"] == 2


def test_anthropic_requests_carry_cache_breakpoints(calc, stub_llm, tmp_path, image, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    localize(stub_llm)
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Done.")
    out = run(calc, f"anthropic:claude-sonnet-5-5@{stub_llm.anthropic_url}", tmp_path)
    assert out.status == "verified"
    bodies = stub_llm.bodies("anthropic")
    assert len(bodies) == 4
    for body in bodies[2:]:  # the edit loop
        assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
        task, context = body["messages"][0]["content"][:2]  # the task, then the repository context, one user turn
        assert "<issue>" in task["text"] and "The code localization points to" in context["text"]
        assert context["cache_control"] == {"type": "ephemeral"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sum("cache_control" in json.dumps(b) for b in bodies[3]["messages"]) >= 2


def test_attempts_are_ranked_by_test_evidence(calc, tmp_path, image):
    cassette = tmp_path / "cassette.jsonl"
    turns = [
        {"tool_calls": [{"name": "select_files", "arguments": {"paths": ["calc/stats.py"]}}]},
        {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["calc/stats.py:mean"]}}]},
        {"tool_calls": [{"name": "replace_symbol", "arguments": {"name": "calc/stats.py:mean", "new_source": BAD}},
                        {"name": "create_file", "arguments": {"path": "calc/notes.py", "content": "NOTE = 1\n"}}]},
        {"text": "Done (attempt 1)."},
        {"tool_calls": [{"name": "select_files", "arguments": {"paths": ["calc/stats.py"]}}]},
        {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["calc/stats.py:mean"]}}]},
        {"tool_calls": [{"name": "replace_symbol", "arguments": {"name": "calc/stats.py:mean", "new_source": GOOD}}]},
        {"text": "Done (attempt 2)."},
    ]
    cassette.write_text("".join(json.dumps(t) + "\n" for t in turns))
    out = run(calc, f"replay:{cassette}", tmp_path, attempts=2, agent=AgentConfig(max_review_rounds=0))
    assert [a.status for a in out.attempts] == ["submitted", "verified"]
    assert out.attempt == 2 and out.status == "verified"
    assert out.files_changed == ["calc/stats.py"]  # the workspace was reset between attempts
    assert out.attempts[0].files_changed == ["calc/notes.py", "calc/stats.py"]
    steps = read_trajectory(tmp_path / "run" / "trajectory.jsonl")
    assert [s.node for s in steps].count("index") == 2 and out.steps == 8


def test_apply_on_a_clean_tree_and_refused_on_a_dirty_one(calc, stub_llm, tmp_path, image):
    localize(stub_llm)
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Done.")
    res = run_cli("fix", str(calc), "--issue", ISSUE, "--model", openai_spec(stub_llm), "--out",
                  str(tmp_path / "run1"), "--apply")
    assert res.returncode == 0, res.stderr
    assert "status: verified" in res.stdout and "applied to your working tree" in res.stdout
    assert "return sum(values) / len(values)" in (calc / "calc/stats.py").read_text()

    subprocess.run(["git", "-C", str(calc), "checkout", "--", "calc/stats.py"], check=True)
    (calc / "calc/stats.py").write_text(STATS + "\n# my own change\n")
    before = tree_snapshot(calc)
    localize(stub_llm)
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Done.")
    res = run_cli("fix", str(calc), "--issue", ISSUE, "--model", openai_spec(stub_llm), "--out",
                  str(tmp_path / "run2"), "--apply")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("patchwright: error: not applied: calc/stats.py has uncommitted changes")
    assert "Traceback" not in res.stderr
    assert tree_snapshot(calc) == before
    assert (tmp_path / "run2" / "patch.diff").read_text().strip()  # the patch is kept in the run directory


def test_a_killed_run_resumes(calc, stub_llm, tmp_path, image, docker_engine):
    localize(stub_llm)
    stub_llm.reply("A helper first.", calls=[("insert_symbol", {"source": "def _count(values):\n    return len(values)\n",
                                                                  "before": "calc/stats.py:mean"})])
    reached, release = threading.Event(), threading.Event()

    def block(request):
        reached.set()
        release.wait(120)
        return None

    stub_llm.handler = block
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "patchwright", "fix", str(calc), "--issue", ISSUE, "--model", openai_spec(stub_llm),
           "--out", str(run_dir)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert reached.wait(300), "the run never reached its fourth model call"
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        _remove_containers_of(docker_engine, proc.pid)
    stub_llm.handler = None
    assert [s.node for s in read_trajectory(run_dir / "trajectory.jsonl")][-1] == "edit"
    assert not (run_dir / "summary.json").exists()

    stub_llm.reply("Use the helper.", calls=[("replace_symbol", {"name": "calc/stats.py:mean", "new_source":
                                                                  GOOD.replace("len(values)", "_count(values)")})])
    stub_llm.reply("Done.")
    res = run_cli("fix", "--resume", str(run_dir), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["status"] == "verified" and summary["steps"] == 5
    patch = (run_dir / "patch.diff").read_text()
    assert "def _count(values)" in patch and "_count(values)\n" in patch  # the work before the kill survived
    steps = read_trajectory(run_dir / "trajectory.jsonl")
    assert [s.node for s in steps].count("resume") == 1 and [s.step for s in steps] == list(range(len(steps)))
    assert len(stub_llm.requests) == 6  # the call cut by the kill was made again, nothing else


def _remove_containers_of(client, pid: int) -> None:
    import socket

    for c in client.containers.list(all=True, filters={"label": f"patchwright.owner={socket.gethostname()}:{pid}"}):
        c.remove(force=True)


def test_cli_usage_errors_are_one_line(calc, tmp_path):
    cases = [
        (["fix", str(calc), "--model", "replay:x.jsonl"], "no issue given"),
        (["fix", str(calc), "--issue", "x"], "no model given"),
        (["fix", str(calc), "--issue", "x", "--model", "nope:m"], "unknown model provider 'nope'"),
        (["fix", str(calc), "--issue", "x", "--model", "openai:gpt-5"], "needs an API key"),
        (["fix", str(tmp_path / "missing"), "--issue", "x", "--model", "replay:x"], "no such directory"),
        (["fix", "--resume", str(tmp_path)], "holds no patchwright run"),
    ]
    env = {"OPENAI_API_KEY": "", "ANTHROPIC_API_KEY": ""}
    for args, message in cases:
        res = run_cli(*args, env=env)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.count("\n") == 1 and message in res.stderr, (args, res.stderr)


def test_an_interrupted_replay_run_resumes_where_the_cassette_stopped(calc, tmp_path, image):
    from agent.fix import FixRequest, run_fix
    from agent.models.replay import ReplayModel
    from sandbox.docker_workspace import DockerWorkspace

    cassette = tmp_path / "cassette.jsonl"
    turns = [
        {"tool_calls": [{"name": "select_files", "arguments": {"paths": ["calc/stats.py"]}}]},
        {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["calc/stats.py:mean"]}}]},
        {"tool_calls": [{"name": "view_symbol", "arguments": {"name": "calc/stats.py:mean"}}]},
        {"tool_calls": [{"name": "replace_symbol", "arguments": {"name": "calc/stats.py:mean", "new_source": GOOD}}]},
        {"text": "Done."},
    ]
    cassette.write_text("".join(json.dumps(t) + "\n" for t in turns))

    class Interrupted(ReplayModel):
        def _complete(self, messages, tools):
            if self.played == 3:  # Ctrl-C while the fourth turn is asked for
                raise KeyboardInterrupt
            return super()._complete(messages, tools)

    request = FixRequest(repo=str(calc), issue=ISSUE, model=f"replay:{cassette}")
    run_dir = tmp_path / "run"
    with DockerWorkspace(image, calc) as ws, pytest.raises(KeyboardInterrupt):
        run_fix(request, ws, run_dir, model=Interrupted(cassette))
    assert not (run_dir / "summary.json").exists()
    out = api.resume(run_dir)
    assert out.status == "verified" and out.steps == 5
    assert nodes(run_dir).count("resume") == 1 and nodes(run_dir).count("localize") == 2


def test_a_repository_without_tests_is_submitted_untested(tmp_path, stub_llm, image):
    repo = make_repo(tmp_path / "notests", {"calc/__init__.py": "", "calc/stats.py": STATS})
    localize(stub_llm)
    replace_mean(stub_llm, GOOD)
    stub_llm.reply("Check.", calls=[("run_tests", {})])
    stub_llm.reply("Done.")
    out = run(repo, stub_llm, tmp_path)
    assert out.status == "submitted" and out.test_command is None
    assert out.tests_before is None and out.tests_after is None and out.files_changed == ["calc/stats.py"]
    answer = stub_llm.bodies("openai")[4]["messages"][-1]
    assert answer["role"] == "tool" and "no test command is set up" in answer["content"]
