"""The public Python API: `fix` (also what the GitHub bot calls) and `resume`, `localize`, `evaluate`
and `run` (what `patchwright localize`, `eval` and `run` do).

    import patchwright
    outcome = patchwright.fix("path/to/repo", "Crash when ...", "anthropic:claude-sonnet-5-5")
    outcome.status, outcome.patch, outcome.files_changed, outcome.tests_before, outcome.tests_after
    patchwright.localize("path/to/repo", "Crash when ...").files        # ranked files, no model
    patchwright.evaluate("builtin", "gold").resolved                     # SWE-bench-style grading

The repository is copied into a sandbox (a Docker container by default); the user's tree is
changed only with `apply=True`, and then only when the files the patch touches have no
uncommitted changes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import swebench_runner.oracle  # noqa: F401  (registers the `oracle` provider: `fix --model oracle` says why not)
from agent.budget import DEFAULT_LIMITS, BudgetLimits
from agent.events import Progress, Setup
from agent.fix import FixOutcome, FixRequest, load_request, run_fix, write_summary
from agent.models import make_model
from agent.models.registry import absolute_spec
from agent.runtime import AgentConfig
from agent.secrets import Redactor
from agent.state import PATCH_STATUSES
from sandbox.apply_local import apply_to_tree
from sandbox.environment.check import collect
from sandbox.errors import UserError
from sandbox.factory import open_workspace
from sandbox.hygiene import PatchPolicy
from sandbox.lock import DirLock
from sandbox.workspace import resolve_repo

_UNSET = object()


def default_run_dir(repo: str | Path) -> Path:
    """Where a run's files go without --out: $XDG_STATE_HOME/patchwright/runs/TIME-REPO."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "patchwright" / "runs"
    return base / f"{time.strftime('%Y%m%d-%H%M%S')}-{Path(repo).resolve().name or 'repo'}"


def fix(repo: str | Path, issue: str, model: str, *, workspace: str = "docker", image: str | None = None,
        test_cmd: str | None = None, setup: list[str] | None = None, max_steps: int | None = _UNSET, max_cost: float | None = _UNSET,
        max_time: float | None = _UNSET, max_tokens: int | None = None, attempts: int = 1,
        out: str | Path | None = None, apply: bool = False, agent: AgentConfig | None = None,
        patch_policy: PatchPolicy | None = None, progress: Progress | None = None,
        redactor: Redactor | None = None) -> FixOutcome:
    """Resolve `issue` in the repository at `repo` with `model` (a spec such as
    `anthropic:claude-sonnet-5-5`); returns the outcome (status, patch, files_changed, tests_before,
    tests_after, steps, tokens, cost, model) and writes patch.diff, trajectory.jsonl and
    summary.json to `out`. Budgets left unset take the defaults (50 steps, $3, one hour); None
    lifts a limit. `patch_policy` keeps what the final patch leaves out by default (new binary and
    junk files, mode changes, symbolic links leading outside the repository; sandbox.hygiene).
    In Docker the workspace starts from the repository's detected environment (sandbox.environment)
    unless `image` names one; `setup` adds shell commands to that environment's image.
    `redactor` (agent.secrets.Redactor) names the secrets to scrub from everything the run writes; by
    default those of the environment (the GitHub bot passes one that knows its token)."""
    if not issue or not issue.strip():
        raise UserError("the issue is empty: pass its text with --issue or --issue-file")
    if attempts < 1:
        raise UserError(f"--attempts must be at least 1 (got {attempts})")
    source = resolve_repo(repo)
    limits = BudgetLimits(
        max_steps=DEFAULT_LIMITS.max_steps if max_steps is _UNSET else max_steps,
        max_cost=DEFAULT_LIMITS.max_cost if max_cost is _UNSET else max_cost,
        max_time=DEFAULT_LIMITS.max_time if max_time is _UNSET else max_time, max_tokens=max_tokens)
    if workspace not in ("docker", "local"):
        raise UserError(f"unknown workspace {workspace!r}: use docker or local")
    request = FixRequest(repo=str(source), issue=issue, model=absolute_spec(model), workspace=workspace, image=image,
                         test_cmd=test_cmd, setup=list(setup or []), attempts=attempts, limits=limits, agent=agent or AgentConfig(),
                         patch_policy=patch_policy or PatchPolicy())
    return _run(request, Path(out) if out else default_run_dir(source), apply=apply, progress=progress,
                redactor=redactor)


def resume(run_dir: str | Path, *, apply: bool = False, progress: Progress | None = None) -> FixOutcome:
    """Continue a run that was killed, from its last checkpoint (its run directory holds the request)."""
    return _run(load_request(run_dir), Path(run_dir), apply=apply, progress=progress, resume=True)


APPLIED_STATUSES = PATCH_STATUSES
"""Only the patch of a run that ended with one of these is applied to the user's tree (`apply=True`)."""


def _run(request: FixRequest, run_dir: Path, *, apply: bool, progress: Progress | None,
         resume: bool = False, redactor: Redactor | None = None) -> FixOutcome:
    model = make_model(request.model)  # a missing key or an unknown provider fails before any work
    # one process at a time in a run directory: a second fix (or a --resume of a live run) is refused
    with DirLock(run_dir, what="fix run", hint="choose another --out directory"):
        return _run_locked(request, run_dir, model, apply=apply, progress=progress, resume=resume,
                           redactor=redactor)


def with_environment(request: FixRequest, ws, say=None) -> FixRequest:
    """The request with what the workspace's detected environment says: its test command (unless one
    was given) and, when it is incomplete, the one-line note the agent and the summary repeat."""
    env = ws.environment
    if env is None:
        return request
    update: dict = {}
    if env.recipe.kind == "none":
        update["environment"] = "environment: " + env.note
    else:
        if say:
            say("collecting the tests")
        update["environment"] = collect(ws, env.recipe, 300, env.missing).note()
    stated = [n.removeprefix("environment: ") for n in env.recipe.notes if n.startswith("environment: ")]
    if stated:  # what detection found lacking (a submodule not checked out, a script CI runs first)
        first = update.get("environment", "")
        update["environment"] = "environment: " + "; ".join(
            ([first.removeprefix("environment: ")] if first else []) + stated)
    if not request.test_cmd and env.recipe.test is not None:
        update["test_cmd"] = env.recipe.test.command
    return request.model_copy(update=update)


def _run_locked(request: FixRequest, run_dir: Path, model, *, apply: bool, progress: Progress | None,
                resume: bool, redactor: Redactor | None) -> FixOutcome:
    def say(text: str) -> None:
        if progress:
            progress(Setup(text))

    try:
        with open_workspace(request.repo, request.workspace, request.image, progress=say,
                            setup=request.setup) as ws:
            request = with_environment(request, ws, say)
            outcome = run_fix(request, ws, run_dir, model=model, progress=progress, resume=resume,
                              redactor=redactor)
    finally:
        model.close()
    if not apply:
        return outcome
    if outcome.status not in APPLIED_STATUSES:
        outcome.apply_note = (f"the run ended with status {outcome.status}; only a verified or submitted patch is "
                              f"applied (your working tree is unchanged; the patch is in {run_dir / 'patch.diff'})")
    elif outcome.patch.strip():
        try:
            apply_to_tree(request.repo, outcome.patch)
        except UserError as exc:
            raise UserError(f"{exc}; the patch is in {run_dir / 'patch.diff'}") from None
        outcome.applied = True
    write_summary(run_dir, outcome, redactor)
    return outcome


def localize(repo: str | Path, issue: str, *, top_k: int = 10):
    """The files and functions `issue` most likely needs changed, best first (`patchwright localize`;
    no model is used): a `tools.retrieval.Localization` (`.files`, `.functions`, `.to_json()`)."""
    from tools.retrieval import rank_locations  # the index and its parsers load on first use

    return rank_locations(resolve_repo(repo), issue, top_k=top_k)


def evaluate(dataset: str, predictions: str | dict, *, workers: int = 1, **options) -> dict:
    """Grade predictions SWE-bench style (`patchwright eval`): `dataset` is `builtin`, a JSONL file or
    `hf:NAME`; `predictions` is a predictions JSONL file, `gold`, `empty`, or a dict of
    `harness.instance.Prediction` by instance id; `options` are `harness.evaluation.EvalOptions`
    fields (mirrors, specs, report_dir, timeout, strict, ...). Returns the summary
    (`harness.reports.summarize`: total, resolved, resolved_rate, ids per status, ...)."""
    # the harness (and the docker SDK) load on first use, so importing patchwright stays fast
    from harness.evaluation import EvalOptions
    from harness.evaluation import evaluate as grade
    from harness.instance import load_instances, load_predictions, synthetic_predictions
    from harness.reports import summarize

    instances = load_instances(dataset)
    if isinstance(predictions, dict):
        preds = predictions
    elif predictions in ("gold", "empty"):
        preds = synthetic_predictions(instances, predictions)
    else:
        preds, errors, _ = load_predictions(predictions)
        if not preds:
            raise UserError(f"no readable prediction in {predictions} ({len(errors)} malformed line(s))")
    outcomes = grade([i for i in instances if i.instance_id in preds], preds, EvalOptions(**options),
                     workers=workers)
    return summarize(outcomes, dataset=str(dataset), strict=bool(options.get("strict")))


def run(dataset: str, model: str, out: str | Path, **options):
    """Run the agent over a dataset (`patchwright run`): `options` are
    `swebench_runner.runner.RunOptions` fields (ids, workers, attempts, mirrors, evaluate, ...).
    Returns the batch summary (also OUT/summary.json); a resumed OUT goes on where it stopped."""
    # the batch runner loads on first use, so importing patchwright stays fast
    from swebench_runner.runner import RunOptions, run_batch

    return run_batch(RunOptions(dataset=dataset, model=model, out=str(out), **options))
