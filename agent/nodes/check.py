"""`test` and `review`: run the tests the change needs (with their status on the base tree), and
decide whether to go back to `edit` with the failures the change introduced or on to `submit`."""

from __future__ import annotations

import re
import time

from sandbox.diffs import files_changed
from tools.context import ToolContext

from ..budget import BudgetExhausted
from ..events import SentBack, TestsRan, TestsStarted
from ..models import Message
from ..prompting import render
from ..runtime import AgentConfig, Attempt, Work
from ..state import AgentState
from ..testloop import SuiteTimes, TestLoop, find_repro, touched_names, whole_suite_known_short
from ..testplan import TestResults, select_tests, split_repro

MAX_LISTED = 30
MIN_TEST_TIME = 30.0
"""Seconds of the run's time (`--max-time`) a test step needs left to run its tests; with less it
skips them and records that it did (`tests_skipped`)."""


def step_budget(rt: Attempt) -> tuple[float | None, str]:
    """(the seconds a test step's runs may take in all: the plan's budget, or the run's time left
    when that is less; why the step skips its runs, when it does (None, why))."""
    left = rt.time_left()
    if left is None:
        return rt.plan.timeout, ""
    if left < MIN_TEST_TIME:
        return None, f"{max(left, 0):.0f} s of the run's time left (under {MIN_TEST_TIME:g} s)"
    return min(rt.plan.timeout, left), ""


def skipped(rt: Attempt, state: AgentState, step: str, why: str) -> dict:
    """Record that a step skipped its test runs (trajectory and state, for the summary)."""
    rt.trajectory.write(step, skipped=f"tests not run: {why}")
    return {"tests_skipped": [*(state.get("tests_skipped") or []), f"{step}: {why}"]}


def whole_suite(config: AgentConfig, tests: TestLoop) -> bool:
    """Whether the whole suite runs in place of the chosen tests: asked for, or known to be short."""
    if config.full_tests:
        return True
    return bool(config.short_suite and whole_suite_known_short(tests, SuiteTimes(), config.short_suite))


def choose(config: AgentConfig, tests: TestLoop, work: Work, ctx: ToolContext, issue: str, diff: str,
           state: AgentState | None = None) -> tuple[list[str] | None, dict[str, str], int | None]:
    """The targets of a test run for `diff`, why each was chosen, and how many of them are the
    change's own tests (`Selection.first`: they run first); (None, {}, None) for the whole suite,
    ([], {}, 0) when no test file relates to the change."""
    if whole_suite(config, tests) or not work.plan.takes_files:
        return None, {}, None
    index = ctx.index()
    files = ctx.file_list()
    references = {p: set(fs.references) | {d.name for d in fs.definitions} for p, fs in index.files.items()}
    candidates = list((state or {}).get("focus_files") or [])
    sel = select_tests(files, files_changed(diff), work.workspace.read_many, candidates=candidates,
                       repro=find_repro(work.workspace), issue=issue, failed_before=tests.last_failing,
                       references=references, touched_names=touched_names(diff, index),
                       limit=config.max_test_files)
    return sel.files, sel.why, sel.first


def check(config: AgentConfig, tests: TestLoop | None, work: Work, ctx: ToolContext, issue: str, diff: str,
          ids: list[str] | None = None, state: AgentState | None = None,
          timeout: float | None = None) -> TestResults | None:
    """Run the given test ids, else the tests chosen for `diff`, within `timeout` seconds (the plan's
    budget by default); None when there is nothing to run. Ids that are all files whose doctests a
    run covers (what a cut run's answer names) run those doctests alone; among test ids, such a file
    runs its doctests, not as a test file (sympy's polytools.py came back as "yielded no test result")."""
    work.known.text = None  # a test run may write files
    if tests is None:
        return None
    if ids:
        docs = tests.doctest_targets(diff)
        asked = [i for i in ids if i in docs]
        if asked:  # all of them: the doctests alone
            return tests.run([i for i in ids if i not in docs], diff, timeout=timeout, doctests=asked)
        targets, why, first = list(ids), {}, None
    else:
        targets, why, first = choose(config, tests, work, ctx, issue, diff, state)
        if targets == [] and not tests.doctest_targets(diff):
            return None
    return tests.run(targets, diff, why=why, first=first, timeout=timeout)


def check_attempt(rt: Attempt, diff: str, state: AgentState | None = None,
                  timeout: float | None = None) -> TestResults | None:
    """`check` for a node: the tests chosen for `diff` in this attempt (None without a test loop)."""
    return check(rt.config, rt.tests, rt.work, rt.ctx, rt.issue, diff, state=state, timeout=timeout)


def feedback(res: TestResults | None, checked: dict[str, str] | None = None, diff: str = "") -> str:
    """The test results as the model reads them (test_feedback.j2). Tests that pass now in a test
    file the change edits are not called fixed, nor those failing there called pre-existing: the base
    tree ran the edited file too."""
    if res is None:
        return render("test_feedback", res=None, counts={}, doc_counts={}, new_failures=[], pre_existing=[], fixed=[],
                      updated=[], checked={}, repro=None, limit=MAX_LISTED, output="")
    counts, doc_counts = _counts(res.tests_only), _counts({t: res.statuses[t] for t in res.doctests.get("ids", ())})
    edited = set(files_changed(diff)) if diff else set()
    updated = [t for t in res.fixed if t.split("::")[0] in edited]
    stuck = [t for t in res.pre_existing if t.split("::")[0] in edited]
    return render("test_feedback", res=res, counts=counts, doc_counts=doc_counts, new_failures=res.new_failures,
                  pre_existing=[t for t in res.pre_existing if t not in stuck], stuck=stuck,
                  fixed=[t for t in res.fixed if t not in updated], updated=updated,
                  checked=checked or {}, repro=split_repro(res.statuses)[1], limit=MAX_LISTED,
                  output=res.output[-4000:])


def _counts(statuses: dict[str, str]) -> dict[str, int]:
    counts = {k: 0 for k in ("PASSED", "FAILED", "ERROR", "SKIPPED")}
    for s in statuses.values():
        counts[s] = counts.get(s, 0) + 1
    return counts


def tool_runner(work: Work, tests: TestLoop, config: AgentConfig, issue: str):
    """The function behind the `run_tests` tool: given test ids, those; else the tests chosen for
    the current change."""
    def run(ctx, ids: list[str] | None) -> str:
        diff = work.diff_after(ctx.take_touched())  # the known patch, brought up to date as the test node does
        res = check(config, tests, work, ctx, issue, diff, ids)
        if res is None:
            return ("No test file relates to the change yet (none imports, names or references the changed "
                    "code, and there is no reproduction test). Pass test ids or files to run_tests.")
        return feedback(res, diff=diff)
    return run


def test(rt: Attempt, state: AgentState) -> dict:
    start = time.monotonic()
    diff = rt.diff_after(rt.ctx.take_touched())
    if rt.plan is None or (not diff.strip() and not rt.repro_files()):
        rt.trajectory.write("test", skipped="no test command" if rt.plan is None else "nothing changed")
        return {"diff": diff, "last_tests": None, "edits_done": False}
    budget, why_not = step_budget(rt)
    if budget is None:
        return {"diff": diff, "last_tests": None, "edits_done": False, **skipped(rt, state, "test", why_not)}
    targets, why, first = choose(rt.config, rt.tests, rt.work, rt.ctx, rt.issue, diff, state)
    if targets == [] and not rt.tests.doctest_targets(diff):
        rt.trajectory.write("test", skipped="no test file relates to the change")
        return {"diff": diff, "last_tests": None, "edits_done": False}
    rt.say(TestsStarted("change", rt.plan.command, targets))
    res = rt.tests.run(targets, diff, why=why, first=first, timeout=budget)
    rt.say(TestsRan("change", **res.progress()))
    rt.trajectory.write("test", duration=round(time.monotonic() - start, 3), targets=targets, command=res.command,
                        counts=res.counts(), failing=res.failing[:MAX_LISTED], new_failures=res.new_failures[:MAX_LISTED],
                        pre_existing=len(res.pre_existing), fixed=len(res.fixed), environment=res.environment,
                        no_results=res.no_results, timed_out=res.timed_out, left_out=res.left_out,
                        **({"self_skipped": res.self_skipped} if res.self_skipped else {}),
                        doctests={k: v for k, v in res.doctests.items() if k != "ids"},
                        **({"cut": res.cut} if res.cut else {}))
    return {"diff": diff, "last_tests": res.to_dict(), "tested_diff": diff, "edits_done": False,
            "tests_before": dict(rt.tests.base),
            "test_loop": rt.tests.to_dict()}


def _last_words(rt: Attempt, state: AgentState) -> str:
    """The model's last text (its summary when it stopped)."""
    if rt.conversation is None or not state.get("conversation"):
        return ""
    for m in reversed(rt.conversation.messages(state["conversation"])):
        if m.role == "assistant":
            return m.content or ""
    return ""


def claimed(text: str, tests: list[str]) -> list[str]:
    """The tests of `tests` that `text` names (by id or by the test's own name)."""
    out = []
    for t in tests:
        name = re.split(r"::|\.", t)[-1].split("[")[0]
        if t in text or (len(name) > 4 and re.search(rf"\b{re.escape(name)}\b", text)):
            out.append(t)
    return out


def review(rt: Attempt, state: AgentState) -> dict:
    diff, last, rounds = state.get("diff", ""), state.get("last_tests"), state.get("review_rounds", 0)
    changed = files_changed(diff)
    res = TestResults.from_dict(last) if last else None
    checked: dict[str, str] = {}
    named: list[str] = []
    update: dict = {}
    if res is not None and res.failing and rt.config.baseline_tests:
        # the model's own evidence: failures it names (e.g. as pre-existing) run again on the base tree
        named = claimed(_last_words(rt, state), [t for t in res.failing if t not in res.new_tests])
        budget, why_not = step_budget(rt) if named else (None, "")
        if named and budget is None:
            update = skipped(rt, state, "recheck", why_not)
        elif named:
            checked = rt.tests.recheck(named, diff, timeout=budget)
            res.base.update({t: s for t, s in checked.items() if s != "MISSING"})
            rt.trajectory.write("recheck", tests=named, on_base=checked)
    introduced = bool(res and (res.introduced_by(changed) or (res.timed_out and not res.statuses)))
    # nothing fixed yet while tests failing before still fail, and the model said nothing of them
    unfixed = bool(res and not res.fixed and split_repro(res.statuses)[1] != "PASSED"
                   and [t for t in res.pre_existing if t not in named])
    introduced = introduced or unfixed
    again = (not changed or introduced) and rounds < rt.config.max_review_rounds
    if again:
        for budget in (rt.run_budget, rt.attempt_budget):
            try:
                budget.check()
            except BudgetExhausted as exc:  # no model call left to act on the feedback
                rt.trajectory.write("review", verdict="submit", reason=str(exc))
                return {"status": exc.status, "message": str(exc), "verdict": "submit", **update}
    evidence = _evidence(res)
    if not again:
        rt.trajectory.write("review", verdict="submit", changed=changed, **evidence)
        return {"verdict": "submit", "last_tests": res.to_dict() if res else last, **update}
    text = render("review", changed=changed, feedback=feedback(res, checked, diff) if res else "",
                  rounds_left=rt.config.max_review_rounds - rounds - 1)
    rt.trajectory.write("review", verdict="edit", changed=changed, **evidence)
    rt.say(SentBack(round=rounds + 1, failing=len(res.new_failures) if res else 0))
    length = rt.conversation.extend(state["conversation"], [Message.user(rt.redactor.scrub(text))])
    return {"conversation": length, "review_rounds": rounds + 1, "verdict": "edit",
            "last_tests": res.to_dict() if res else last, **update}


def _evidence(res: TestResults | None) -> dict:
    """The review's evidence as the trajectory records it: counts and the first names."""
    if res is None:
        return {"tests": None}
    return {"new_failures": res.new_failures[:MAX_LISTED], "fixed": len(res.fixed),
            "pre_existing": len(res.pre_existing), "failing": res.failing[:MAX_LISTED]}
