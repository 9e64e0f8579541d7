"""`submit`: the attempt's patch (scratch files left out), the tests on it, and the attempt's outcome.

What the agent or the tests left behind (new binary and junk files, mode changes, outward symbolic
links) is taken out of every candidate in one place, `agent.fix._finish`, where the run's final
patch is made (sandbox.hygiene)."""

from __future__ import annotations

import time

from sandbox.patching import files_changed

from ..evidence import evaluate
from ..runtime import Runtime
from ..state import AgentState, AttemptOutcome
from ..testplan import TestResults, split_repro
from .check import run_checks


def submit(rt: Runtime, state: AgentState) -> dict:
    start = time.monotonic()
    diff = rt.diff()
    after: dict[str, str] | None = None
    if rt.plan is not None and diff.strip():
        if rt.config.final_tests:
            rt.say("tests", phase="after", command=rt.plan.command)
            res = run_checks(rt, None)
            rt.say("tests_done", phase="after", **res.progress())
            after = res.statuses
        elif state.get("last_tests"):
            after = TestResults.from_dict(state["last_tests"]).statuses
    evidence = evaluate(diff, state.get("tests_before"), after)
    status = state.get("status") or ("failed" if evidence.empty else "resolved" if evidence.resolved else "submitted")
    outcome = AttemptOutcome(attempt=state["attempt"], status=status, message=state.get("message", ""), patch=diff,
                             files_changed=files_changed(diff), evidence=evidence,
                             tests_after=split_repro(after)[0] if after is not None else None,
                             focus=state.get("focus_defs") or state.get("focus_files") or [],
                             steps=rt.attempt_budget.spent.steps)
    rt.trajectory.write("submit", duration=round(time.monotonic() - start, 3), status=status,
                        message=outcome.message, files_changed=outcome.files_changed,
                        evidence=evidence.model_dump())
    rt.say("submitted", attempt=state["attempt"], status=status, files=outcome.files_changed)
    return {"diff": diff, "outcome": outcome.model_dump()}
