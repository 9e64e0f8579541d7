"""`run_fix`: from a workspace holding a repository and an issue to a patch with its evidence.

It runs the graph once per attempt (each attempt a langgraph thread `attempt-N` in the run's SQLite
checkpointer), resets the workspace between attempts, ranks the candidates by test evidence, and
writes the run directory:

    run.json            the request (to resume the run)
    checkpoints.sqlite  langgraph's checkpoints, one thread per attempt
    conversation.jsonl  the edit loops' messages, each appended once (the state holds the length)
    trajectory.jsonl    one line per step, appended as it happens
    patch.diff          the chosen patch
    summary.json        the outcome without the patch (FixOutcome)

`resume=True` continues a killed run from its last checkpoint: finished attempts are kept, the
interrupted one is restored (its patch so far applied to a fresh workspace) and goes on.

Secrets (the values of secret-looking environment variables, or those of the caller's redactor) are
scrubbed from everything the run writes: the trajectory, the conversation, the checkpoints,
summary.json and patch.diff (agent.secrets); the returned outcome's patch is left as the agent made
it, so that a caller (the GitHub bot) can refuse to publish one that holds a secret.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, ConfigDict, ValidationError

from sandbox.diffs import files_changed
from sandbox.errors import PatchwrightError, UserError
from sandbox.hygiene import PatchPolicy, clean_patch
from sandbox.patching import apply_patch
from sandbox.workspace import Workspace
from tools.context import ToolContext

from .budget import DEFAULT_LIMITS, Budget, BudgetExhausted, BudgetLimits, Spent
from .conversation import FILE as CONVERSATION
from .conversation import Conversation, ConversationLog
from .doctests import with_doctests
from .events import AttemptStarted, Progress, quiet
from .evidence import best
from .graph import build_graph
from .models import ModelClient, make_model
from .nodes.check import tool_runner
from .runtime import AgentConfig, Attempt, KnownDiff, RunMemo, Work
from .secrets import Redactor
from .state import PATCH_STATUSES, AttemptOutcome, Status
from .testloop import TestLoop
from .testplan import TestPlan, detect
from .trajectory import TrajectoryWriter

RUN_FILE, CHECKPOINTS, TRAJECTORY, PATCH, SUMMARY = (
    "run.json", "checkpoints.sqlite", "trajectory.jsonl", "patch.diff", "summary.json")


class FixRequest(BaseModel):
    """What to fix and how: saved as the run's run.json, so that `--resume` needs nothing else."""

    model_config = ConfigDict(extra="forbid")

    repo: str
    """The repository (an absolute path), as the user named it."""
    issue: str
    """The issue's text."""
    model: str
    """The model spec (agent.models): `anthropic:MODEL`, `openai:MODEL[@URL]`, `replay:PATH`, `human`,
    `relay:DIR`."""
    workspace: Literal["docker", "local"] = "docker"
    """Where the agent works: a Docker container or a private local copy."""
    image: str | None = None
    """The Docker image (default: the base image)."""
    test_cmd: str | None = None
    """The test command (default: detected, pytest or unittest)."""
    setup: list[str] = []
    """Shell commands added to the detected environment's image (after its install), e.g. the
    Action's `setup` input; `[tool.patchwright] setup` in the repository says the same."""
    reference: str = ""
    """Where the issue comes from (`the repository sympy/sympy; ... pull request ... (#21379) ...`),
    told to the model above the issue; empty: nothing known."""
    environment: str = ""
    """What the workspace's environment lacks, one line (`environment: cannot import xmlschema; 3 test
    files cannot be collected`); the agent's first observation and the summary say it. Empty: nothing known."""
    attempts: int = 1
    """Candidate patches to make; the best by test evidence is chosen."""
    limits: BudgetLimits = DEFAULT_LIMITS
    """Budgets of the whole run (all attempts): steps 50, $3, one hour by default."""
    agent: AgentConfig = AgentConfig()
    """Settings of the graph."""
    patch_policy: PatchPolicy = PatchPolicy()
    """What the final patch keeps of what is left out by default (new binary and junk files, mode
    changes, symbolic links leading outside the repository): nothing unless set."""


class AttemptSummary(BaseModel):
    """One candidate, as summary.json lists it."""

    attempt: int
    """1-based number."""
    status: Status
    """How it ended."""
    files_changed: list[str]
    """Files its patch changes."""
    changed_lines: int
    """Lines added plus removed."""
    fixed: int
    """Tests it fixed."""
    broken: int
    """Previously passing tests it broke."""
    failing: int
    """Tests failing after it."""
    repro: str | None
    """Its reproduction test's status (None: it wrote none)."""
    steps: int
    """Model calls it made."""
    tests_skipped: list[str] = []
    """Test steps that skipped their test runs for want of time (`step: why`; e.g. the review's
    with under 30 s of the run's time left)."""


class FixOutcome(BaseModel):
    """The result of a run. summary.json holds it without `patch` (patch.diff holds that)."""

    status: Status
    """verified (the agent's tests show the fix), submitted, failed, budget_exhausted, format_error or
    error (agent.state.Status; `resolved` in an old summary.json reads as verified)."""
    message: str = ""
    """Why the run ended as it did, when it ended early."""
    patch: str = ""
    """The chosen patch, a unified diff (empty when nothing changed)."""
    files_changed: list[str] = []
    """Files the patch changes (derived from the patch text)."""
    left_out: list[str] = []
    """Changes left out of the patch (`path (why)`, why: binary, junk, mode or symlink; see
    sandbox.hygiene), unless the request's patch_policy keeps them."""
    tests_before: dict[str, str] | None = None
    """Status per test before the change (None: no tests ran)."""
    tests_after: dict[str, str] | None = None
    """Status per test with the patch (None: no tests ran)."""
    steps: int = 0
    """Model calls made in all."""
    tokens: int = 0
    """Tokens used in all (prompt, cached included, plus output)."""
    cost: float | None = 0.0
    """US dollars spent; None when the model has no price."""
    model: str = ""
    """The model spec."""
    attempt: int | None = None
    """The chosen attempt (1-based), None when none finished."""
    attempts: list[AttemptSummary] = []
    """Every candidate."""
    test_command: str | None = None
    """The command the tests ran with (None: no tests found)."""
    environment: str = ""
    """What the environment lacked (the request's `environment`); empty when nothing was known missing."""
    run_dir: str = ""
    """Where patch.diff, trajectory.jsonl and summary.json are."""
    elapsed: float = 0.0
    """Seconds of wall time (before a resume included)."""
    applied: bool = False
    """Whether the patch was applied to the user's working tree (`--apply`)."""
    apply_note: str = ""
    """Why `--apply` left the working tree alone (the run's status was not verified or submitted);
    empty when the patch was applied or --apply was not given."""

    def summary(self) -> dict:
        """summary.json's content."""
        return self.model_dump(exclude={"patch"})


def save_request(run_dir: Path, request: FixRequest) -> None:
    (run_dir / RUN_FILE).write_text(request.model_dump_json(indent=2) + "\n")


def load_request(run_dir: str | Path) -> FixRequest:
    """The request a run directory was started with; a UserError when it holds no run."""
    path = Path(run_dir) / RUN_FILE
    try:
        return FixRequest.model_validate_json(path.read_text())
    except OSError:
        raise UserError(f"{run_dir} holds no patchwright run (no {RUN_FILE}); pass the --out directory "
                        "of the run to resume") from None
    except ValidationError as exc:
        raise UserError(f"{path} is malformed: {exc.errors()[0]['msg']}") from None


def python_version(ws: Workspace) -> str:
    """The workspace's Python (`3.11.2`), empty when none answers: said with the task, so a model
    need not spend a call to learn whether `tomllib` is there."""
    try:
        res = ws.run("python --version 2>&1 || python3 --version 2>&1", 30)
    except PatchwrightError:
        return ""
    m = re.search(r"Python (\d+\.\d+(?:\.\d+)?)", res.output)
    return m.group(1) if m else ""


def commit_count(ws: Workspace) -> int | None:
    """Commits reachable from the workspace's HEAD (None when git cannot say): SWE-bench images hold
    one, and a model then learns nothing from `git log` or `git blame`."""
    try:
        res = ws.run("git rev-list --count HEAD", 30)
    except PatchwrightError:
        return None
    out = res.output.strip()
    return int(out) if res.exit_code == 0 and out.isdigit() else None


def reset_workspace(ws: Workspace, patch: str = "") -> None:
    """Put the workspace back to its base, then apply `patch` (a resumed attempt's work so far)."""
    res = ws.run(f"git reset -q --hard {ws.base_commit} && git clean -fdq", 300)
    if not res.ok:
        raise RuntimeError(f"could not reset the workspace: {res.output.strip()[-300:]}")
    if patch.strip() and not apply_patch(ws, patch).applied:
        raise UserError("cannot resume: the run's patch so far no longer applies to the repository "
                        "(did it change since the run started?)")


def _share(limits: BudgetLimits, spent: Spent, attempts_left: int) -> BudgetLimits:
    """An attempt's share of what is left of the run's budget (time is limited by the run alone)."""
    def part(cap, used):
        return None if cap is None else max(cap - used, 0) / attempts_left
    steps = part(limits.max_steps, spent.steps)
    tokens = part(limits.max_tokens, spent.tokens)
    return BudgetLimits(max_steps=None if steps is None else max(int(steps), 1),
                        max_tokens=None if tokens is None else int(tokens),
                        max_cost=part(limits.max_cost, spent.cost))


def _summary(o: AttemptOutcome) -> AttemptSummary:
    e = o.evidence
    return AttemptSummary(attempt=o.attempt, status=o.status, files_changed=o.files_changed,
                          changed_lines=e.changed_lines, fixed=len(e.fixed), broken=len(e.broken),
                          failing=len(e.failing), repro=e.repro, steps=o.steps,
                          tests_skipped=o.tests_skipped)


def _earlier(outcomes: list[AttemptOutcome]) -> list[dict]:
    return [{"focus": o.focus or o.files_changed or ["(nothing)"],
             "result": f"{o.status}; {len(o.evidence.failing)} test(s) failing after it"} for o in outcomes]


class _ScrubbingSerializer(JsonPlusSerializer):
    """langgraph's serializer, with secrets scrubbed from every string it saves."""

    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return super().dumps_typed(self.redactor.scrub_obj(obj))


def run_fix(request: FixRequest, workspace: Workspace, run_dir: str | Path, *, model: ModelClient | None = None,
            progress: Progress | None = None, resume: bool = False, plan: TestPlan | None = None,
            redactor: Redactor | None = None) -> FixOutcome:
    """Fix `request.issue` in `workspace` (which holds the repository at its base); write the run
    directory and return the outcome. `plan` overrides test detection (batch runs pass their spec's);
    `model` overrides the client made from `request.model`; `redactor` names the secrets to scrub
    from what the run writes (default: the environment's)."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    if not resume:
        if (run_dir / CHECKPOINTS).exists():
            raise UserError(f"{run_dir} holds a run already: resume it with --resume {run_dir}, or choose "
                            "another --out directory")
        save_request(run_dir, request)
    model = model or make_model(request.model)
    files = workspace.list_files()
    plan = plan or detect(workspace, files, request.test_cmd, request.agent.test_timeout)
    plan = with_doctests(plan, files, workspace.read_many) if plan else None
    history, python = commit_count(workspace), python_version(workspace)
    redactor = redactor or Redactor.from_env()
    progress = progress or quiet
    trajectory = TrajectoryWriter(run_dir / TRAJECTORY, redactor=redactor)
    conn = sqlite3.connect(str(run_dir / CHECKPOINTS), check_same_thread=False)
    log = ConversationLog(run_dir / CONVERSATION, redactor)
    issue, cut = _clipped(request.issue, request.agent.max_issue_chars, "issue")
    if cut and not resume:
        trajectory.write("issue", chars=len(request.issue), shown=request.agent.max_issue_chars, cut=cut)
    tests = TestLoop(plan, workspace, baseline=request.agent.baseline_tests) if plan else None
    shared = dict(trajectory=trajectory, config=request.agent, memo=RunMemo(), files=files, issue=issue,
                  redactor=redactor, progress=progress, tests=tests,
                  environment=request.environment, reference=request.reference, history=history,
                  python=python)
    graph = build_graph(SqliteSaver(conn, serde=_ScrubbingSerializer(redactor)))
    run_budget = Budget(request.limits)
    limit = 100_000 if request.limits.max_steps is None else 4 * request.limits.max_steps + 100
    outcomes: list[AttemptOutcome] = []
    tests_before: dict[str, str] | None = None
    message = ""
    try:
        for i in range(1, request.attempts + 1):
            config = {"configurable": {"thread_id": f"attempt-{i}"}, "recursion_limit": limit}
            saved = graph.get_state(config)
            values = saved.values or {}
            if tests is not None and values.get("test_loop"):
                tests.load(values["test_loop"])  # what the test runs so far know (base tree, environment)
            if values.get("outcome") and not saved.next:  # finished before a resume
                outcomes.append(AttemptOutcome.model_validate(values["outcome"]))
                run_budget = Budget(request.limits, spent=Spent(**values["spent_run"]))
                tests_before = values.get("tests_before")
                continue
            if not values:
                try:
                    run_budget.check()
                except BudgetExhausted as exc:  # the run's budget is spent: no attempt can make a call
                    message = str(exc)
                    break
            progress(AttemptStarted(attempt=i, of=request.attempts))
            if values:  # interrupted: langgraph goes on from the checkpoint
                run_budget, attempt_budget = _restored(request, workspace, values)
                state = None
            else:
                if i > 1:
                    reset_workspace(workspace)
                limits = _share(request.limits, run_budget.spent, request.attempts - i + 1)
                attempt_budget = Budget(limits)
                state = _start(i, outcomes, tests_before, tests, limits, run_budget, attempt_budget)
            work = Work(workspace, plan, KnownDiff())
            runner = tool_runner(work, tests, request.agent, issue) if tests is not None else None
            at = Attempt(number=i, model=model.for_attempt(i), work=work, run_budget=run_budget,
                         attempt_budget=attempt_budget, conversation=Conversation(log, f"attempt-{i}"),
                         ctx=ToolContext(workspace, test_runner=runner), **shared)
            if values:
                at.model.resume_at(run_budget.spent.steps)  # a replayed cassette goes on where it stopped
                trajectory.write("resume", attempt=i, next_nodes=list(saved.next), steps=run_budget.spent.steps)
            try:
                final = graph.invoke(state, config, context=at)
            except (PatchwrightError, KeyboardInterrupt):  # worded for the user: the run stops with it
                raise
            except Exception as exc:  # the workspace or a tool broke: keep what the last checkpoint holds
                error = f"{type(exc).__name__}: {exc}"
                trajectory.write("error", attempt=i, message=error)
                outcomes.append(AttemptOutcome(attempt=i, status=Status.ERROR, message=error,
                                               patch=(graph.get_state(config).values or {}).get("diff", ""),
                                               steps=attempt_budget.spent.steps))
                break
            outcomes.append(AttemptOutcome.model_validate(final["outcome"]))
            tests_before = final.get("tests_before")
    finally:
        trajectory.close()
        log.close()
        conn.close()
    return _finish(request, run_dir, run_budget.spent, redactor, plan, outcomes, tests_before, message)


def _clipped(text: str, limit: int, what: str) -> tuple[str, int]:
    """`text` within about `limit` characters: its beginning and end around a note saying how many
    characters were cut; and that number (0 when nothing was cut)."""
    if len(text) <= limit:
        return text, 0
    head = limit // 2
    tail = limit - head
    cut = len(text) - head - tail
    note = f"\n[... patchwright: {cut} characters of this {what} cut here (at most {limit} are shown) ...]\n"
    return text[:head] + note + text[len(text) - tail:], cut


def _start(attempt: int, outcomes: list[AttemptOutcome], tests_before: dict[str, str] | None,
           tests: TestLoop | None, limits: BudgetLimits, run_budget: Budget, attempt_budget: Budget) -> dict:
    """The first state of a new attempt (on a workspace back at its base), with its budget share."""
    state = {"attempt": attempt, "earlier": _earlier(outcomes), "limits_attempt": limits.model_dump(),
             "review_rounds": 0, "malformed": 0, "diff": "", "spent_run": run_budget.spent.model_dump(),
             "spent_attempt": attempt_budget.spent.model_dump()}
    if attempt > 1:
        state["tests_before"] = tests_before  # the base tree's statuses known so far
        if tests is not None:
            state["test_loop"] = tests.to_dict()
    return state


def _restored(request: FixRequest, workspace: Workspace, values: dict) -> tuple[Budget, Budget]:
    """Bring back an interrupted attempt: its patch so far in the workspace; the run's and the
    attempt's budgets as its checkpoint left them."""
    reset_workspace(workspace, values.get("diff", ""))
    return (Budget(request.limits, spent=Spent(**values["spent_run"])),
            Budget(BudgetLimits(**values["limits_attempt"]), spent=Spent(**values["spent_attempt"])))


def _finish(request: FixRequest, run_dir: Path, spent: Spent, redactor: Redactor, plan: TestPlan | None,
            outcomes: list[AttemptOutcome], tests_before: dict[str, str] | None, message: str) -> FixOutcome:
    """The run's outcome and its files. Every patch leaves through here: each candidate's is cleaned
    (sandbox.hygiene) and the files listed anywhere are derived from the cleaned patch text."""
    left_out: dict[int, list[str]] = {}
    for k, o in enumerate(outcomes):
        patch, left = clean_patch(o.patch, request.patch_policy)
        update: dict[str, Any] = {"patch": patch, "files_changed": files_changed(patch)}
        if left and not patch.strip() and o.status in PATCH_STATUSES:  # nothing of it is left
            update.update(status=Status.FAILED, message="every change was left out of the patch: "
                                                   + ", ".join(map(str, left)))
        outcomes[k] = o.model_copy(update=update)
        left_out[k] = [str(x) for x in left]
    chosen_index = best([(k, o.evidence) for k, o in enumerate(outcomes)])
    chosen = outcomes[chosen_index] if chosen_index is not None else None
    status = chosen.status if chosen else Status.BUDGET_EXHAUSTED if message else Status.ERROR
    if message and chosen and status != Status.VERIFIED:
        status = Status.BUDGET_EXHAUSTED
    outcome = FixOutcome(
        status=status, message=redactor.scrub((chosen.message if chosen else "") or message),
        patch=chosen.patch if chosen else "", files_changed=chosen.files_changed if chosen else [],
        left_out=left_out[chosen_index] if chosen else [],
        tests_before=tests_before, tests_after=chosen.tests_after if chosen else None,
        steps=spent.steps, tokens=spent.tokens, cost=None if spent.unpriced_steps else round(spent.cost, 6),
        model=request.model, attempt=chosen.attempt if chosen else None,
        attempts=[_summary(o) for o in outcomes], test_command=plan.command if plan else None,
        environment=request.environment, run_dir=str(run_dir), elapsed=round(spent.elapsed, 3))
    (run_dir / PATCH).write_text(redactor.scrub(outcome.patch))
    write_summary(run_dir, outcome, redactor)
    return outcome


def write_summary(run_dir: str | Path, outcome: FixOutcome, redactor: Redactor | None = None) -> None:
    """Write summary.json (the outcome without its patch; secrets scrubbed, those of the environment
    when no redactor is given)."""
    redactor = redactor or Redactor.from_env()
    (Path(run_dir) / SUMMARY).write_text(json.dumps(redactor.scrub_obj(outcome.summary()), indent=2) + "\n")
