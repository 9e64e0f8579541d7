"""`edit`: one model turn of the tool-calling loop, and the tools it called.

A turn without tool calls means the model is done: the graph moves on to `test`. A malformed call
goes back to the model as an observation saying what was wrong; `max_malformed` of them in a row
end the attempt with status format_error.

One turn runs at most `max_tool_calls` calls, and none once the time budget is spent (it is checked
before each call): the calls past either limit are answered with a note saying why, not run, and a
spent time budget ends the attempt with status budget_exhausted. Every result reaches the model
with secrets scrubbed (agent.secrets); each is at most 30,000 characters (tools.registry).

An edit's warnings of undefined names are judged again once all the turn's calls ran: a name a
later call of the turn defined is taken out of the earlier answer, which says so.
"""

from __future__ import annotations

import time
from dataclasses import replace

from tools.edit import clear_warnings
from tools.toolset import TOOLS

from ..budget import BudgetExhausted
from ..events import StepTaken, ToolCalled
from ..models import Message
from ..runtime import Attempt
from ..state import AgentState
from ..trajectory import Observation


def rejudge_warnings(ctx, messages: list[Message], warned: list[tuple[int, str, list[str]]]) -> list[Message]:
    """The turn's tool answers with their undefined-name warnings judged again once all its calls
    ran: a name a later call defined (the missing function inserted, the import added) is no longer
    warned of, and the answer says so."""
    if not warned:
        return messages
    out = list(messages)
    now: dict[str, set[str] | None] = {}
    for at, path, names in warned:
        if path not in now:
            now[path] = ctx.undefined_now(path)
        if now[path] is None:
            continue
        defined = {n for n in names if n not in now[path]}
        if defined:
            out[at] = replace(out[at], content=clear_warnings(out[at].content, path, defined))
    return out


def edit(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    specs = TOOLS.specs()
    length = state["conversation"]
    messages = rt.conversation.messages(length)
    turn = rt.complete(messages, specs)
    model_time = time.monotonic() - start
    new = [turn.message]
    malformed = state.get("malformed", 0)
    changed = False
    ran = 0
    stopped: BudgetExhausted | None = None
    cap = rt.config.max_tool_calls
    warned: list[tuple[int, str, list[str]]] = []  # (message, file, undefined names it was warned of)
    for call in turn.tool_calls:
        if call.error:
            malformed += 1
            new.append(Message.tool(call, call.error, is_error=True))
            continue
        malformed = 0
        if stopped is None:
            try:
                rt.check_time()
            except BudgetExhausted as exc:
                stopped = exc
        if stopped is not None or ran >= cap:
            why = (f"{stopped}" if stopped is not None else
                   f"this turn asked for {len(turn.tool_calls)} tool calls and at most {cap} are run per turn")
            new.append(Message.tool(call, f"Not run: {why}.", is_error=True))
            continue
        ran += 1
        rt.say(ToolCalled(name=call.name, arguments=call.arguments))
        rt.ctx.take_warned()
        result = TOOLS.call(rt.ctx, call.name, call.arguments)
        warned.extend((len(new), path, names) for path, names in rt.ctx.take_warned())
        new.append(Message.tool(call, rt.redactor.scrub(result.text), is_error=result.is_error))
        changed |= TOOLS.may_change(call.name, result.is_error)  # as each tool declares (tools.effects)
    new = rejudge_warnings(rt.ctx, new, warned)
    tools_done = time.monotonic()
    touched = rt.ctx.take_touched()
    diff = rt.diff_after(touched) if (changed or touched) else state.get("diff", "")
    diff_done = time.monotonic()
    update: dict = {"conversation": rt.conversation.extend(length, new), "malformed": malformed, "diff": diff,
                    "edits_done": not turn.tool_calls, **rt.spent()}
    if malformed >= rt.config.max_malformed:
        update.update(status="format_error",
                      message=f"{malformed} malformed tool calls in a row (the limit is {rt.config.max_malformed})")
    if stopped is not None:
        update.update(status=stopped.status, message=str(stopped))
    not_run = len(turn.tool_calls) - ran - sum(bool(c.error) for c in turn.tool_calls)
    rt.trajectory.write("edit", messages=messages, tools=specs, turn=turn,
                        observations=[Observation.of(m) for m in new[1:]],
                        duration=round(time.monotonic() - start, 3),
                        timings={"model": round(model_time, 4), "tools": round(tools_done - start - model_time, 4),
                                 "diff": round(diff_done - tools_done, 4)},
                        diff_lines=diff.count("\n"), **({"not_run": not_run} if not_run else {}),
                        **({"patch": diff} if diff != state.get("diff", "") else {}))  # the patch, when this step changed it
    spent = rt.run_budget.spent
    rt.say(StepTaken(calls=[c.name for c in turn.tool_calls], text=turn.text, steps=spent.steps, cost=spent.cost))
    return update
