"""`submit`: the attempt's patch (scratch files left out), the tests on it, and the attempt's outcome.

What the agent or the tests left behind (new binary and junk files, mode changes, outward symbolic
links) is taken out of every candidate in one place, `agent.fix._finish`, where the run's final
patch is made (sandbox.hygiene)."""

from __future__ import annotations

import time

from sandbox.diffs import files_changed

from ..events import AttemptEnded, TestsRan, TestsStarted
from ..evidence import weigh_evidence
from ..runtime import Attempt
from ..state import AgentState, AttemptOutcome, Status
from ..testloop import SuiteTimes, measure_whole_suite, whole_suite_known_short
from ..testplan import TestResults, split_repro
from .check import check_attempt, skipped, step_budget, whole_suite

REUSED = "reused: the test step ran this very patch"


def submit(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    diff = rt.diff()
    after: dict[str, str] | None = None
    before = state.get("tests_before")
    update: dict = {}
    measured: dict = {}
    skipped_now: dict = {}
    if rt.plan is not None and diff.strip():
        res = None
        tested = state.get("last_tests") if state.get("tested_diff") == diff else None
        if rt.config.final_tests:
            budget, why_not = step_budget(rt)
            if budget is None and tested:
                res, measured = TestResults.from_dict(tested), {"tests": REUSED}
            elif budget is None:
                skipped_now = skipped(rt, state, "submit", why_not)
            else:
                rt.say(TestsStarted("after", rt.plan.command))
                res, measured = final_run(rt, diff, state, budget,
                                          TestResults.from_dict(tested) if tested else None)
                if res is not None:
                    rt.say(TestsRan("after", **res.progress()))
        elif state.get("last_tests"):
            res = TestResults.from_dict(state["last_tests"])
        if res is not None:
            after, before = res.statuses, split_repro({**(before or {}), **res.base})[0]
            update = {"tests_before": before, "test_loop": rt.tests.to_dict()}
    evidence = weigh_evidence(diff, before, after)
    status = Status(state.get("status") or (Status.FAILED if evidence.empty else Status.VERIFIED if evidence.verified
                                            else Status.SUBMITTED))
    outcome = AttemptOutcome(attempt=state["attempt"], status=status, message=state.get("message", ""), patch=diff,
                             files_changed=files_changed(diff), evidence=evidence,
                             tests_after=split_repro(after)[0] if after is not None else None,
                             focus=state.get("focus_defs") or state.get("focus_files") or [],
                             steps=rt.attempt_budget.spent.steps,
                             tests_skipped=skipped_now.get("tests_skipped", state.get("tests_skipped") or []))
    rt.trajectory.write("submit", duration=round(time.monotonic() - start, 3), status=status,
                        message=outcome.message, files_changed=outcome.files_changed,
                        evidence=evidence.model_dump(), **measured)
    rt.say(AttemptEnded(attempt=state["attempt"], status=status.value, files=outcome.files_changed))
    return {"diff": diff, "outcome": outcome.model_dump(mode="json"), **update, **skipped_now}


def final_run(rt: Attempt, diff: str, state: AgentState, budget: float | None = None,
              tested: TestResults | None = None) -> tuple[TestResults | None, dict]:
    """The tests on the final patch, all within `budget` seconds (the plan's by default): the whole
    suite when asked for or known to be short (measured here the first time, within `short_suite`
    seconds), else the tests chosen for the change (in what the measurement left); and what the
    submit step records of it (`suite_time`: the measurement, when one was made; `tests`: reused).
    `tested`: the results of the test step on this very patch, which stand for the chosen tests
    (they do not run a second time)."""
    budget = budget or rt.plan.timeout
    measured: dict = {}
    start = time.monotonic()
    if not whole_suite(rt.config, rt.tests) and rt.config.short_suite and rt.plan.takes_files:
        times = SuiteTimes()
        if whole_suite_known_short(rt.tests, times, rt.config.short_suite) is None and budget >= rt.config.short_suite:
            res = measure_whole_suite(rt.tests, times, diff, rt.config.short_suite)
            measured = {"suite_time": {"finished": res is not None, "limit": rt.config.short_suite,
                                       "seconds": round(res.duration, 1) if res else None}}
            if res is not None:
                return res, measured
    if tested is not None:
        return tested, {**measured, "tests": REUSED}
    rest = budget - (time.monotonic() - start)
    if rest < 1:
        return None, {**measured, "tests": "not run: no time left after the measurement"}
    return check_attempt(rt, diff, state=state, timeout=rest), measured
