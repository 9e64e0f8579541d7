"""`index`: build the symbol index and run the test suite once before any change (the first
attempt only: later attempts start with the suite's results in their state)."""

from __future__ import annotations

import time

from ..runtime import Runtime
from ..state import AgentState


def index(rt: Runtime, state: AgentState) -> dict:
    start = time.monotonic()
    symbols = rt.ctx.index()
    before = state.get("tests_before")
    data: dict = {"files": len(rt.files), "indexed": len(symbols.files),
                  "test_command": rt.plan.command if rt.plan else None}
    if "tests_before" not in state and rt.plan is not None and rt.config.baseline_tests:
        rt.say("tests", phase="before", command=rt.plan.command)
        res = rt.run_tests()
        before = res.statuses
        data.update(tests_before=res.counts(), test_duration=round(res.duration, 3), timed_out=res.timed_out)
        rt.say("tests_done", phase="before", **res.progress())
    rt.trajectory.write("index", duration=round(time.monotonic() - start, 3), **data)
    return {"tests_before": before}
