"""`test` and `review`: run the tests that cover the change, and decide whether to go back to
`edit` with a summary of the failures or on to `submit`."""

from __future__ import annotations

import time

from sandbox.patching import files_changed

from ..budget import BudgetExhausted
from ..evidence import evaluate
from ..models import Message
from ..prompting import render
from ..runtime import Runtime
from ..state import AgentState
from ..testplan import REPRO_TEST, TestResults, covering_tests, is_repro

MAX_LISTED = 30


def targets(rt: Runtime, diff: str) -> list[str] | None:
    """Test files to run for a patch: those covering the changed files, and the reproduction test;
    None (the whole suite) when no test file covers the change."""
    if not rt.plan.takes_files:
        return None
    covering = covering_tests(files_changed(diff), rt.ctx.file_list(), rt.workspace.read_many)
    if covering and rt.repro_exists():
        covering.append(REPRO_TEST)
    return covering or None


def run_checks(rt: Runtime, selected: list[str] | None) -> TestResults | None:
    """Run `selected` (None: the whole suite), and the reproduction test when it exists and the
    run did not include it."""
    res = rt.run_tests(selected)
    if res is None or not rt.plan.takes_files or not rt.repro_exists():
        return res
    if not any(is_repro(t) for t in res.statuses):
        extra = rt.run_tests([REPRO_TEST])
        res.statuses.update(extra.statuses)
        res.duration += extra.duration
        res.output = res.output + "\n" + extra.output
    return res


def feedback(res: TestResults, before: dict[str, str] | None, diff: str) -> str:
    """The test results as the model reads them (test_feedback.j2)."""
    ev = evaluate(diff, before, res.statuses)
    failing = ev.failing + [t for t, s in res.statuses.items() if is_repro(t) and s in ("FAILED", "ERROR")]
    return render("test_feedback", command=res.command, counts=res.counts(), failing=failing[:MAX_LISTED],
                  more_failing=max(len(failing) - MAX_LISTED, 0), broken=ev.broken[:MAX_LISTED],
                  fixed=ev.fixed[:MAX_LISTED], repro=ev.repro, timed_out=res.timed_out, output=res.output[-4000:])


def tool_runner(rt: Runtime):
    """The function behind the `run_tests` tool: given test ids, those; else the tests covering the
    current change (the whole suite when none does)."""
    def run(ctx, tests: list[str] | None) -> str:
        diff = rt.diff_after(ctx.take_touched())  # the known patch, brought up to date as the test node does
        res = run_checks(rt, tests or targets(rt, diff))
        return feedback(res, rt.tests_before, diff)
    return run


def test(rt: Runtime, state: AgentState) -> dict:
    start = time.monotonic()
    diff = rt.diff_after(rt.ctx.take_touched())
    if rt.plan is None or (not diff.strip() and not rt.repro_exists()):
        rt.trajectory.write("test", skipped="no test command" if rt.plan is None else "nothing changed")
        return {"diff": diff, "last_tests": None, "edits_done": False}
    selected = targets(rt, diff)
    rt.say("tests", phase="change", command=rt.plan.command, targets=selected)
    res = run_checks(rt, selected)
    rt.say("tests_done", phase="change", **res.progress())
    rt.trajectory.write("test", duration=round(time.monotonic() - start, 3), targets=selected, command=res.command,
                        counts=res.counts(), failing=res.failing[:MAX_LISTED], timed_out=res.timed_out)
    return {"diff": diff, "last_tests": res.to_dict(), "edits_done": False}


def review(rt: Runtime, state: AgentState) -> dict:
    diff, last, rounds = state.get("diff", ""), state.get("last_tests"), state.get("review_rounds", 0)
    changed = files_changed(diff)
    res = TestResults.from_dict(last) if last else None
    failing = bool(res and (res.failing or res.timed_out))
    again = (not changed or failing) and rounds < rt.config.max_review_rounds
    if again:
        for budget in (rt.run_budget, rt.attempt_budget):
            try:
                budget.check()
            except BudgetExhausted as exc:  # no model call left to act on the feedback
                rt.trajectory.write("review", verdict="submit", reason=str(exc))
                return {"status": "budget_exhausted", "message": str(exc), "verdict": "submit"}
    if not again:
        rt.trajectory.write("review", verdict="submit", changed=changed, failing=res.failing[:MAX_LISTED] if res else [])
        return {"verdict": "submit"}
    text = render("review", changed=changed, feedback=feedback(res, state.get("tests_before"), diff) if res else "",
                  rounds_left=rt.config.max_review_rounds - rounds - 1)
    rt.trajectory.write("review", verdict="edit", changed=changed, failing=res.failing[:MAX_LISTED] if res else [])
    rt.say("review", round=rounds + 1, failing=len(res.failing) if res else 0)
    length = rt.conversation.extend(state["conversation"], [Message.user(rt.redactor.scrub(text))])
    return {"conversation": length, "review_rounds": rounds + 1, "verdict": "edit"}
