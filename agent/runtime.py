"""What the graph's nodes share besides the state, made once per attempt and frozen (`Attempt`): the
model, the workspace and its tools, the test plan, the budgets, the trajectory, the settings and the
progress callback. The graph hands it to every node as langgraph's run context.

The state is what a resumed run needs; an attempt is made anew around it. What must change while an
attempt runs lives in small mutable holders, each with one job: `KnownDiff` (the patch as last
diffed), `RunMemo` (retrieval's result, computed once per run) and the run's `TestLoop` (what its
test runs know: the chosen tests' base-tree statuses, the environment's broken files).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from sandbox.diffs import splice_diff
from sandbox.workspace import Workspace
from tools.context import ToolContext
from tools.registry import ToolSpec

from .budget import Budget, BudgetExhausted
from .conversation import Conversation
from .events import Event, Progress, quiet
from .models import Message, ModelClient, ModelTurn
from .models.errors import DeadlineExceeded
from .prompting import render
from .secrets import NO_SECRETS, Redactor
from .testloop import TestLoop, find_repro
from .testplan import REPRO_NAME, SCRATCH, SCRATCH_DIR, TestPlan, is_scratch
from .trajectory import TrajectoryWriter


class AgentConfig(BaseModel):
    """Settings of the agent's graph. Every field has a default that works for most repositories."""

    model_config = ConfigDict(extra="forbid")

    localize: bool = True
    """Narrow to files and definitions with the model before editing (else the edit loop starts
    from the repository map alone)."""
    top_files: int = 10
    """Files retrieval proposes to the model."""
    pick_files: int = 3
    """Files the model may choose."""
    pick_definitions: int = 6
    """Definitions the model may choose."""
    outline_tokens: int = 2500
    """Tokens of the candidate files' outlines shown to choose files from."""
    skeleton_tokens: int = 3500
    """Tokens of the chosen files' skeletons shown to choose definitions from."""
    repo_map_tokens: int = 1024
    """Tokens of the repository map in the edit loop's context."""
    focus_tokens: int = 6000
    """Tokens of the chosen definitions' source in the edit loop's context (less when `prompt_tokens`
    leaves less room, never under 500). Definitions are shown whole, best first, while they fit; the
    first that does not keeps the lines that do, and a note names the lines not shown, this budget
    and the view_file call that shows them (the ones after it too)."""
    prompt_tokens: int = 12000
    """Tokens the first prompts (localization's and the edit loop's, tool schemas included) aim to
    stay under: the outlines and the chosen code shrink to fit (the issue is never cut)."""
    max_malformed: int = 3
    """Malformed tool calls in a row that end the attempt with status format_error."""
    max_review_rounds: int = 2
    """Times the review may send a failing change back to the edit loop."""
    baseline_tests: bool = True
    """Run each chosen test on the base tree too (the change's source files put back, once per test
    file, cached), so that every answer tells new failures from pre-existing ones (`tests_before`)."""
    final_tests: bool = True
    """Run the chosen tests on the final patch (the `tests_after` of the summary)."""
    full_tests: bool = False
    """Run the whole suite instead of the tests chosen for the change (`--full-tests`)."""
    short_suite: float = 60
    """A whole suite measured to finish within this many seconds runs in place of the chosen tests
    (measured once per repository and test command, at the first final test run; 0: never)."""
    max_test_files: int = 12
    """Test files chosen for a change (its reproduction tests come on top)."""
    test_timeout: float = 300
    """Seconds one test run may take (a spec's `agent_test_timeout` sets it in batch runs); a run
    cut by it says which tests ran and which did not."""
    max_tool_calls: int = 20
    """Tool calls run per model turn; calls past it are answered with a note saying so, not run."""
    max_issue_chars: int = 65_536
    """Characters of the issue the agent reads (GitHub's own limit for an issue body); a longer issue
    is cut, with a note at the cut."""


@dataclass
class KnownDiff:
    """The patch as the last whole diff found it, while only the tools' own edits changed files since
    (those are brought in file by file); None when a command or a test run may have changed files."""

    text: str | None = None


@dataclass
class RunMemo:
    """What a run computes once and its attempts share."""

    retrieval: Any = None
    """Retrieval's result (agent.localization.Retrieved), made by the first `localize`."""


@dataclass(frozen=True)
class Work:
    """The workspace as the nodes and the `run_tests` tool change it, and its patch."""

    workspace: Workspace
    plan: TestPlan | None
    known: KnownDiff

    def diff(self) -> str:
        """The patch so far, scratch files left out."""
        self.known.text = self.workspace.diff(exclude=SCRATCH)
        return self.known.text

    def diff_after(self, touched: list[str] | None) -> str:
        """The patch after the tools wrote `touched` (None: files may have changed otherwise too):
        the known patch with only those files diffed again, or the whole diff. Same text either way."""
        if touched is None or self.known.text is None:
            return self.diff()
        paths = [p for p in touched if not is_scratch(p)]
        if not paths:
            return self.known.text
        spliced = splice_diff(self.known.text, self.workspace.diff(exclude=SCRATCH, paths=paths), paths)
        if spliced is None:
            return self.diff()
        self.known.text = spliced
        return spliced


@dataclass(frozen=True)
class Attempt:
    """The collaborators of one attempt's nodes, made once when the attempt starts (or is restored)."""

    number: int
    """1-based."""
    model: ModelClient
    """The attempt's client (ModelClient.for_attempt)."""
    work: Work
    ctx: ToolContext
    """The tools' context over the workspace (its `run_tests` tool runs through `work`)."""
    trajectory: TrajectoryWriter
    config: AgentConfig
    run_budget: Budget
    attempt_budget: Budget
    conversation: Conversation
    """The attempt's conversation (its messages live in the run's conversation log)."""
    memo: RunMemo
    files: list[str]
    """The repository's files at the start."""
    issue: str = ""
    """The issue's text as the agent reads it (cut to `max_issue_chars`)."""
    environment: str = ""
    """What the environment lacks (one line, or empty), said with the task."""
    reference: str = ""
    """Where the issue comes from (FixRequest.reference), said with the task."""
    python: str = ""
    """The workspace's Python version (`3.11.2`; empty when unknown), said with the task."""
    history: int | None = None
    """Commits reachable from the workspace's HEAD at the start (None: unknown); with one, the task
    says that git's history holds nothing to learn from."""
    redactor: Redactor = NO_SECRETS
    """The secrets nothing written or shown to the model may carry (agent.secrets)."""
    progress: Progress = quiet
    tests: TestLoop | None = None
    """The test loop (selected tests, their base-tree statuses, the environment's broken files);
    None without a test command."""

    @property
    def workspace(self) -> Workspace:
        return self.work.workspace

    @property
    def plan(self) -> TestPlan | None:
        return self.work.plan

    # -- the model -------------------------------------------------------------------------------
    def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ModelTurn:
        """One model call, inside the budgets: checked before (BudgetExhausted), charged after. The
        call must end within the time budget: it is abandoned when the time runs out (BudgetExhausted)."""
        self.run_budget.check()
        self.attempt_budget.check()
        left = [t for t in (self.run_budget.time_left(), self.attempt_budget.time_left()) if t is not None]
        deadline = time.monotonic() + min(left) if left else None
        try:
            turn = self.model.complete(messages, tools, deadline=deadline)
        except DeadlineExceeded as exc:
            raise BudgetExhausted("time", f"time budget exhausted during a model call ({exc})") from None
        self.run_budget.charge(turn)
        self.attempt_budget.charge(turn)
        return turn

    def check_time(self) -> None:
        """BudgetExhausted when the time budget (the run's or the attempt's) is spent: checked
        between tool calls, so that one turn with many of them cannot outlast it."""
        self.run_budget.check_time()
        self.attempt_budget.check_time()

    def time_left(self) -> float | None:
        """Seconds left of the time budget (the run's or the attempt's, whichever ends first); None
        without a time limit."""
        left = [t for t in (self.run_budget.time_left(), self.attempt_budget.time_left()) if t is not None]
        return min(left) if left else None

    def spent(self) -> dict[str, Any]:
        """The state keys that carry the budgets' spending (saved with every checkpoint)."""
        return {"spent_run": self.run_budget.spent.model_dump(),
                "spent_attempt": self.attempt_budget.spent.model_dump()}

    # -- prompts ---------------------------------------------------------------------------------
    def system_prompt(self) -> str:
        return render("system", test_command=self.plan.command if self.plan else None, repro_name=REPRO_NAME,
                      scratch_dir=SCRATCH_DIR)

    # -- the workspace ---------------------------------------------------------------------------
    def diff(self) -> str:
        return self.work.diff()

    def diff_after(self, touched: list[str] | None) -> str:
        return self.work.diff_after(touched)

    def repro_files(self) -> list[str]:
        """The agent's reproduction test files, wherever it put them."""
        return find_repro(self.workspace)

    def say(self, event: Event) -> None:
        """Report progress (the model's text and tool arguments included), secrets scrubbed."""
        self.progress(self.redactor.scrub_obj(event))
