"""`index`: build the symbol index. No test runs here: the tests a change needs run, with their
status on the base tree, once there is a change (agent.testloop)."""

from __future__ import annotations

import time

from ..runtime import Attempt
from ..state import AgentState


def index(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    symbols = rt.ctx.index()
    rt.trajectory.write("index", duration=round(time.monotonic() - start, 3), files=len(rt.files),
                        indexed=len(symbols.files), test_command=rt.plan.command if rt.plan else None)
    return {"tests_before": state.get("tests_before")}
