"""`index`: build the symbol index and run the test suite once before any change (the first
attempt only: later attempts start with the suite's results in their state)."""

from __future__ import annotations

import time

from ..events import TestsRan, TestsStarted
from ..runtime import Attempt
from ..state import AgentState


def index(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    symbols = rt.ctx.index()
    before = state.get("tests_before")
    data: dict = {"files": len(rt.files), "indexed": len(symbols.files),
                  "test_command": rt.plan.command if rt.plan else None}
    if "tests_before" not in state and rt.plan is not None and rt.config.baseline_tests:
        rt.say(TestsStarted("before", rt.plan.command))
        res = rt.run_tests()
        before = rt.baseline.statuses = res.statuses  # the run_tests tool compares with it
        data.update(tests_before=res.counts(), test_duration=round(res.duration, 3), timed_out=res.timed_out)
        rt.say(TestsRan("before", **res.progress()))
    rt.trajectory.write("index", duration=round(time.monotonic() - start, 3), **data)
    return {"tests_before": before}
