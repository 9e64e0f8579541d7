"""The seam between the GitHub bot and the fix pipeline.

The bot needs one thing from the agent: given a checked-out repository and an issue, a patch and
the evidence for it. `Fixer` is that call; `FixOutcome` carries what `patchwright fix` writes to
summary.json. The bot hands the fixer the issue's title and body as plain strings (data to be
quoted in prompts, never run) and no GitHub token: the token stays inside the GitHub client. The
fixer gets a scrubber instead (`redactor`), which takes the token's forms out of what it writes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Literal, Protocol

from pydantic import AliasChoices, BaseModel, Field, field_validator

from agent.secrets import Redactor

Status = Literal["resolved", "submitted", "failed", "budget_exhausted", "format_error", "error"]

PUBLISHABLE: frozenset[str] = frozenset({"resolved", "submitted"})
"""Statuses whose patch the bot turns into a pull request; every other status gets a status comment."""

TestSummary = dict[str, int] | str | None


class FixOptions(BaseModel):
    """How the bot asks the pipeline to run (the options of `patchwright github` that reach `fix`)."""

    model: str
    """Model spec string, e.g. `anthropic:claude-sonnet-5-5` (see DESIGN.md)."""
    max_cost: float | None = None
    """Dollar budget for the run; None leaves the pipeline's default."""
    test_cmd: str | None = None
    """Command that runs the repository's tests in the sandbox; None lets the pipeline find one."""
    workspace: Literal["docker", "local"] = "docker"
    """Where the code runs: a Docker container (default) or a private local copy."""
    image: str | None = None
    """Docker image to work in; None: the repository's detected environment."""
    setup: list[str] = []
    """Shell commands added to the detected environment's image (the Action's `setup` input)."""
    out_dir: Path
    """Directory for the run's files (patch.diff, trajectory.jsonl, summary.json)."""


class FixOutcome(BaseModel):
    """What one run of the fix pipeline produced: the fields of its summary.json plus the patch."""

    status: Status
    """`resolved` (tests confirm the fix), `submitted` (a patch the tests did not confirm), `failed`,
    `budget_exhausted`, `format_error` (the model kept making malformed tool calls) or `error`."""
    patch: str = ""
    """The unified diff against the checked-out commit; empty when there is none."""
    files_changed: list[str] = Field(default_factory=list)
    """Paths the patch touches, relative to the repository root."""
    tests_before: TestSummary = None
    """Test results before the change: counts such as {"passed": 3, "failed": 1}, a short text, or None.
    A status per test ({"test_x": "PASSED", ...}, as summary.json holds it) is counted on the way in."""
    tests_after: TestSummary = None
    """Test results with the patch applied, in the same form as tests_before."""
    steps: int = 0
    """Agent steps taken (model calls)."""
    tokens: int = 0
    """Model tokens used, prompt and completion together."""
    cost: float | None = None
    """Dollars spent; None when the model's price is unknown."""
    model: str = ""
    """The model spec the run used."""
    detail: str = Field(default="", validation_alias=AliasChoices("detail", "message"))
    """One line on why the run ended as it did (shown in the status comment); may be empty.
    Read from `message` too (summary.json's name for it)."""

    @field_validator("tests_before", "tests_after", mode="before")
    @classmethod
    def _count_statuses(cls, value):
        if isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            return dict(Counter(v.lower() for v in value.values()))
        return value

    @property
    def publishable(self) -> bool:
        """Whether this outcome becomes a pull request: a publishable status and a non-empty patch."""
        return self.status in PUBLISHABLE and bool(self.patch.strip())


class Fixer(Protocol):
    """The fix pipeline as the bot calls it.

    `repo_dir` is a clean clone of the checked-out commit (its tracked files only). Everything the
    fixer writes goes through `redactor`. Returns a FixOutcome (a dict of its fields, such as
    summary.json plus the patch, is accepted too). Raising UserError ends the run with that one
    line, after a status comment on the issue.
    """

    def __call__(self, repo_dir: Path, issue_title: str, issue_body: str, options: FixOptions, *,
                 redactor: Redactor) -> FixOutcome: ...
