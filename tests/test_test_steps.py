"""The test steps of the graph (`test`, `review`, `submit`) and the run's time: a step with under
30 s of the run's time left skips its test runs and records that it did; `submit` does not run again
the tests of the very patch the `test` step ran; a step's runs share one budget, no more than the
run's time left."""

from __future__ import annotations

from types import SimpleNamespace

import agent.nodes.check as nodes
from agent.nodes.check import MIN_TEST_TIME, review, step_budget
from agent.nodes.submit import REUSED, submit
from agent.runtime import AgentConfig
from agent.testplan import TestPlan, TestResults

DIFF = "diff --git a/calc/ops.py b/calc/ops.py\n--- a/calc/ops.py\n+++ b/calc/ops.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


class Trajectory:
    def __init__(self):
        self.steps: list[tuple[str, dict]] = []

    def write(self, node, **data):
        self.steps.append((node, data))


class NoRuns:
    """A test loop that must not run anything."""

    base: dict = {}

    def __init__(self):
        self.runs: list = []

    def run(self, *a, **k):
        self.runs.append((a, k))
        raise AssertionError("no test run expected")

    recheck = run

    def to_dict(self):
        return {}


def attempt(left: float | None, tests=None, diff: str = DIFF, timeout: float = 300, **config):
    trajectory = Trajectory()
    rt = SimpleNamespace(
        plan=TestPlan("python -m pytest", "pytest", True, timeout), tests=tests or NoRuns(), trajectory=trajectory,
        config=AgentConfig(short_suite=0, **config), time_left=lambda: left, diff=lambda: diff,
        diff_after=lambda touched: diff, ctx=SimpleNamespace(take_touched=lambda: None), repro_files=lambda: [],
        say=lambda event: None, attempt_budget=SimpleNamespace(spent=SimpleNamespace(steps=3)), conversation=None)
    return rt, trajectory


def results(failing: str | None = None) -> TestResults:
    statuses = {"tests/test_ops.py::test_add": "PASSED"}
    if failing:
        statuses[failing] = "FAILED"
    return TestResults("pytest tests/test_ops.py", statuses, 0, False, 1.0, "",
                       base={t: "PASSED" for t in statuses})


def test_a_step_gets_the_plans_budget_or_the_runs_time_left_when_less():
    assert step_budget(attempt(None)[0]) == (300, "")
    assert step_budget(attempt(3600)[0]) == (300, "")
    assert step_budget(attempt(120)[0]) == (120, "")
    budget, why = step_budget(attempt(MIN_TEST_TIME - 1)[0])
    assert budget is None and why == "29 s of the run's time left (under 30 s)"


def test_with_under_30_s_left_the_test_step_skips_its_runs_and_says_so():
    rt, trajectory = attempt(12.4)
    out = nodes.test(rt, {"attempt": 1})
    assert rt.tests.runs == [] and out["last_tests"] is None
    assert out["tests_skipped"] == ["test: 12 s of the run's time left (under 30 s)"]
    assert trajectory.steps == [("test", {"skipped": "tests not run: 12 s of the run's time left (under 30 s)"})]


def test_with_under_30_s_left_the_review_does_not_recheck_on_the_base_tree_and_says_so():
    rt, trajectory = attempt(5, max_review_rounds=0)
    failing = "tests/test_ops.py::test_old"
    res = results(failing)
    res.base[failing] = "PASSED"
    conversation = SimpleNamespace(messages=lambda n: [SimpleNamespace(role="assistant",
                                                                       content="test_old fails already before")])
    rt.conversation = conversation
    out = review(rt, {"diff": DIFF, "last_tests": res.to_dict(), "conversation": 2,
                      "tests_skipped": ["test: earlier"]})
    assert rt.tests.runs == []
    assert out["tests_skipped"] == ["test: earlier", "recheck: 5 s of the run's time left (under 30 s)"]
    assert ("recheck", {"skipped": "tests not run: 5 s of the run's time left (under 30 s)"}) in trajectory.steps


def test_submit_reuses_the_results_of_the_very_patch_the_test_step_ran():
    """On sympy, submit ran the same tests on the same patch again after the test step: minutes more."""
    rt, trajectory = attempt(None)
    res = results()
    out = submit(rt, {"attempt": 1, "last_tests": res.to_dict(), "tested_diff": DIFF})
    assert rt.tests.runs == []
    assert out["outcome"]["tests_after"] == res.statuses
    assert trajectory.steps[-1][0] == "submit" and trajectory.steps[-1][1]["tests"] == REUSED


def test_submit_runs_the_tests_of_another_patch_within_the_runs_time_left(monkeypatch):
    class Loop(NoRuns):
        def run(self, targets, diff, **k):
            self.runs.append((targets, round(k.get("timeout"))))
            return results()

    rt, _ = attempt(100, tests=Loop())
    rt.work, rt.issue = SimpleNamespace(known=SimpleNamespace(text=None)), ""
    monkeypatch.setattr(nodes, "choose", lambda *a, **k: (["tests/test_ops.py"], {}, 1))
    out = submit(rt, {"attempt": 1, "last_tests": results("tests/test_ops.py::test_x").to_dict(),
                      "tested_diff": DIFF.replace("x = 2", "x = 3")})
    assert rt.tests.runs == [(["tests/test_ops.py"], 100)]  # run again: the patch changed since; the run's 100 s left
    assert out["outcome"]["tests_after"] == results().statuses


def test_with_under_30_s_left_submit_skips_its_runs_and_the_summary_says_so():
    rt, trajectory = attempt(3)
    out = submit(rt, {"attempt": 1, "last_tests": None, "tests_skipped": ["test: 40 s"]})
    assert rt.tests.runs == [] and out["outcome"]["tests_after"] is None
    assert out["outcome"]["tests_skipped"] == ["test: 40 s", "submit: 3 s of the run's time left (under 30 s)"]
    assert ("submit", {"skipped": "tests not run: 3 s of the run's time left (under 30 s)"}) in trajectory.steps


def test_the_review_does_not_send_a_change_back_for_a_chosen_file_it_does_not_touch_that_yields_nothing():
    """pylint-5859: a helper module chosen as a test file yielded no result, and the review sent a
    finished, passing fix back twice ("Fix the new failures")."""
    rt, trajectory = attempt(None)
    res = results()
    res.no_results = ["pylint/testutils/checker_test_case.py"]
    out = review(rt, {"diff": DIFF, "last_tests": res.to_dict(), "conversation": 2})
    assert out["verdict"] == "submit"
    # the change's own test file yielding nothing is still sent back
    edited = DIFF.replace("calc/ops.py", "tests/test_ops.py")
    rt, trajectory = attempt(None, diff=edited)
    rt.conversation = SimpleNamespace(extend=lambda n, messages: n + len(messages))
    rt.system_prompt = lambda: ""
    rt.redactor = SimpleNamespace(scrub=lambda text: text)
    rt.run_budget = SimpleNamespace(check=lambda: None)
    rt.attempt_budget = SimpleNamespace(check=lambda: None, spent=SimpleNamespace(steps=3))
    res.no_results = ["tests/test_ops.py"]
    out = review(rt, {"diff": edited, "last_tests": res.to_dict(), "conversation": 2})
    assert out["verdict"] == "edit"
