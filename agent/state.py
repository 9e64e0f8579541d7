"""The state of one attempt as it flows through the graph, and what an attempt produces.

The state holds plain JSON values only, so langgraph's SQLite checkpointer stores it as is and a
killed run resumes from the last node that finished. What does not change in a run, or only grows,
is kept out of it, since langgraph's SQLite saver stores the whole state after every node: the issue
is on the runtime (from the request), and the edit loop's conversation is appended to the run's
conversation log (agent.conversation), the state holding its length.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypedDict

from pydantic import BaseModel

from .evidence import Evidence


class Status(StrEnum):
    """How a run or an attempt ends, in the agent's own judgement (the harness's grade of a patch is
    another thing: `resolved`, harness.grading). A str: compares and serializes as its value."""

    VERIFIED = "verified"
    """The agent's tests show the fix (agent.evidence.Evidence.verified)."""
    SUBMITTED = "submitted"
    """A patch the tests do not confirm."""
    FAILED = "failed"
    """No patch."""
    BUDGET_EXHAUSTED = "budget_exhausted"
    """A budget (steps, tokens, cost, time) ran out."""
    FORMAT_ERROR = "format_error"
    """Malformed tool calls in a row."""
    ERROR = "error"
    """The model or the workspace failed."""

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        return cls.VERIFIED if value == LEGACY_VERIFIED else None


LEGACY_VERIFIED = "resolved"
"""What `verified` was called before it had a name of its own: run directories written then (their
summary.json, result.json, checkpoints) are read with it as `verified`."""
STATUSES = tuple(s.value for s in Status)
PATCH_STATUSES = frozenset({Status.VERIFIED, Status.SUBMITTED})
"""Statuses that come with a patch worth using: `--apply` applies it, the bot opens a pull request."""


def status_text(text: str) -> str:
    """A status as read from any run directory, old ones included (`resolved` there is `verified`)."""
    return Status.VERIFIED.value if text == LEGACY_VERIFIED else text


class AgentState(TypedDict, total=False):
    """One attempt's state. Nodes return the keys they change."""

    attempt: int
    """1-based number of the attempt."""
    earlier: list[dict[str, Any]]
    """Earlier attempts' focus and result ({focus, result}), to vary this attempt's localization."""
    tests_before: dict[str, str] | None
    """Status on the base tree of the tests run so far (None: none ran, or no tests)."""
    test_loop: dict[str, Any]
    """What the test runs know (agent.testloop.TestLoop.to_dict()): base-tree statuses, the
    environment's broken test files, the last failures."""
    focus_files: list[str]
    """Files localization chose."""
    focus_defs: list[str]
    """Definitions localization chose (`path:qualname`)."""
    conversation: int
    """How many messages the edit loop's conversation has (they are in the conversation log)."""
    diff: str
    """The patch so far (scratch files left out)."""
    edits_done: bool
    """The model ended its turn without calling a tool: time to test."""
    last_tests: dict[str, Any] | None
    """The last test run of the `test` node (TestResults.to_dict())."""
    tested_diff: str
    """The patch `last_tests` ran on (submit reuses them when it submits that patch)."""
    tests_skipped: list[str]
    """Test steps that did not run their tests for want of time (`step: why`)."""
    verdict: str
    """The review's decision: `edit` (back to the loop with the failures) or `submit`."""
    review_rounds: int
    """How many times `review` sent the loop back to `edit`."""
    malformed: int
    """Malformed tool calls in a row."""
    spent_run: dict[str, Any]
    """Budget spent by the whole run (agent.budget.Spent), for resuming."""
    spent_attempt: dict[str, Any]
    """Budget spent by this attempt."""
    limits_attempt: dict[str, Any]
    """This attempt's share of the run's budget (agent.budget.BudgetLimits)."""
    status: str | None
    """Set when the attempt ends early: budget_exhausted, format_error or error."""
    message: str
    """Why it ended early."""
    outcome: dict[str, Any] | None
    """The attempt's result (AttemptOutcome), set by `submit`."""


class AttemptOutcome(BaseModel):
    """What one attempt produced."""

    attempt: int
    """1-based number of the attempt."""
    status: Status
    """How the attempt ended."""
    message: str = ""
    """Why the attempt ended as it did, when it ended early."""
    patch: str = ""
    """The attempt's patch (unified diff; scratch files left out)."""
    files_changed: list[str] = []
    """Files the patch changes."""
    tests_after: dict[str, str] | None = None
    """Status per test after the patch (None: not run)."""
    evidence: Evidence = Evidence()
    """The test evidence the candidates are ranked by."""
    focus: list[str] = []
    """What localization chose (definitions, else files)."""
    steps: int = 0
    """Model calls the attempt made."""
    tests_skipped: list[str] = []
    """Test steps that skipped their test runs for want of time (`step: why`)."""
