"""The seam between the GitHub bot and the fix pipeline.

The bot needs one thing from the agent: given a checked-out repository and an issue, a patch and
the evidence for it. `Fixer` is that call; it returns the pipeline's own `agent.fix.FixOutcome` (what `patchwright fix`
writes to summary.json, plus the patch). The bot hands the fixer the issue's title and body as plain strings (data to be
quoted in prompts, never run) and no GitHub token: the token stays inside the GitHub client. The
fixer gets a scrubber instead (`redactor`), which takes the token's forms out of what it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel

from agent.fix import FixOutcome
from agent.secrets import Redactor
from agent.state import PATCH_STATUSES

PUBLISHABLE = PATCH_STATUSES
"""Statuses whose patch the bot turns into a pull request; every other status gets a status comment."""


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


def publishable(outcome: FixOutcome) -> bool:
    """Whether an outcome becomes a pull request: a status with a patch worth using (verified or
    submitted) and a non-empty patch."""
    return outcome.status in PUBLISHABLE and bool(outcome.patch.strip())


class Fixer(Protocol):
    """The fix pipeline as the bot calls it.

    `repo_dir` is a clean clone of the checked-out commit (its tracked files only). Everything the
    fixer writes goes through `redactor`. Returns a FixOutcome (a dict of its fields, such as
    summary.json plus the patch, is accepted too; `resolved`, the old name of `verified`, too). Raising UserError ends the run with that one
    line, after a status comment on the issue.
    """

    def __call__(self, repo_dir: Path, issue_title: str, issue_body: str, options: FixOptions, *,
                 redactor: Redactor) -> FixOutcome: ...
