"""`edit`: one model turn of the tool-calling loop, and the tools it called.

A turn without tool calls means the model is done: the graph moves on to `test`. A malformed call
goes back to the model as an observation saying what was wrong; `max_malformed` of them in a row
end the attempt with status format_error.
"""

from __future__ import annotations

import time

from tools.toolset import TOOLS

from ..models import Message
from ..runtime import Runtime
from ..state import AgentState
from ..trajectory import Observation

MUTATING = frozenset({"replace_symbol", "insert_symbol", "delete_symbol", "str_replace", "create_file",
                      "undo_edit", "bash", "run_tests"})
"""Tools after which the patch may have changed."""


def edit(rt: Runtime, state: AgentState) -> dict:
    start = time.monotonic()
    specs = TOOLS.specs()
    messages = [Message.from_dict(m) for m in state["messages"]]
    sent = len(messages)
    turn = rt.complete(messages, specs)
    model_time = time.monotonic() - start
    messages.append(turn.message)
    malformed = state.get("malformed", 0)
    changed = False
    for call in turn.tool_calls:
        if call.error:
            malformed += 1
            messages.append(Message.tool(call, call.error, is_error=True))
            continue
        malformed = 0
        rt.say("tool", name=call.name, arguments=call.arguments)
        result = TOOLS.call(rt.ctx, call.name, call.arguments)
        messages.append(Message.tool(call, result.text, is_error=result.is_error))
        # a refused edit changes nothing; a shell command or a test run may change anything
        changed |= call.name in MUTATING and (not result.is_error or call.name in ("bash", "run_tests"))
    tools_done = time.monotonic()
    touched = rt.ctx.take_touched()
    diff = rt.diff_after(touched) if (changed or touched) else state.get("diff", "")
    diff_done = time.monotonic()
    update: dict = {"messages": [m.to_dict() for m in messages], "malformed": malformed, "diff": diff,
                    "edits_done": not turn.tool_calls, **rt.spent()}
    if malformed >= rt.config.max_malformed:
        update.update(status="format_error",
                      message=f"{malformed} malformed tool calls in a row (the limit is {rt.config.max_malformed})")
    rt.trajectory.write("edit", messages=messages[:sent], tools=specs, turn=turn,
                        observations=[Observation.of(m) for m in messages[sent + 1:]],
                        duration=round(time.monotonic() - start, 3),
                        timings={"model": round(model_time, 4), "tools": round(tools_done - start - model_time, 4),
                                 "diff": round(diff_done - tools_done, 4)},
                        diff_lines=diff.count("\n"),
                        **({"patch": diff} if diff != state.get("diff", "") else {}))  # the patch, when this step changed it
    rt.say("step", calls=[c.name for c in turn.tool_calls], text=turn.text, spent=rt.run_budget.spent)
    return update
