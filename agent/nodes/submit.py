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
from .check import check_attempt, whole_suite


def submit(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    diff = rt.diff()
    after: dict[str, str] | None = None
    before = state.get("tests_before")
    update: dict = {}
    measured: dict = {}
    if rt.plan is not None and diff.strip():
        res = None
        if rt.config.final_tests:
            rt.say(TestsStarted("after", rt.plan.command))
            res, measured = final_run(rt, diff, state)
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
                             steps=rt.attempt_budget.spent.steps)
    rt.trajectory.write("submit", duration=round(time.monotonic() - start, 3), status=status,
                        message=outcome.message, files_changed=outcome.files_changed,
                        evidence=evidence.model_dump(), **measured)
    rt.say(AttemptEnded(attempt=state["attempt"], status=status.value, files=outcome.files_changed))
    return {"diff": diff, "outcome": outcome.model_dump(mode="json"), **update}


def final_run(rt: Attempt, diff: str, state: AgentState) -> tuple[TestResults | None, dict]:
    """The tests on the final patch: the whole suite when asked for or known to be short (measured
    here the first time, within `short_suite` seconds), else the tests chosen for the change; and
    the measurement when one was made (`suite_time` of the submit step)."""
    if not whole_suite(rt.config, rt.tests) and rt.config.short_suite and rt.plan.takes_files:
        times = SuiteTimes()
        if whole_suite_known_short(rt.tests, times, rt.config.short_suite) is None:
            res = measure_whole_suite(rt.tests, times, diff, rt.config.short_suite)
            measured = {"suite_time": {"finished": res is not None, "limit": rt.config.short_suite,
                                       "seconds": round(res.duration, 1) if res else None}}
            if res is not None:
                return res, measured
            return check_attempt(rt, diff, state=state), measured
    return check_attempt(rt, diff, state=state), {}
