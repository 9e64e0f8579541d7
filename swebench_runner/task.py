"""One instance of a batch, run where a worker runs it (a local process or a Ray node).

`run_instance(task, report)` builds (or finds) the instance image, opens a container on it, runs
the agent there with the spec's test command (`agent.fix.run_fix`), grades the patch with the
harness when asked (`harness.evaluation.evaluate_instance`, in a fresh container), and returns
everything the driver writes: the record, the patch and the files of the instance's directory.
Workers write nothing the driver relies on, so a batch can spread over machines that share no disk.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.budget import BudgetLimits
from agent.events import Event, NodeStarted, StepTaken
from agent.fix import FixRequest, run_fix
from agent.models import make_model, model_label
from agent.runtime import AgentConfig
from agent.state import Status
from agent.testplan import plan_for_test_command
from harness.evaluation import EvalOptions, Outcome, evaluate_instance
from harness.images import ImageBuildError, ensure_instance_image
from harness.instance import Instance, Prediction
from harness.paths import inside
from harness.specs import SpecTable
from sandbox.docker_workspace import DockerWorkspace
from sandbox.errors import PatchwrightError, UserError

from .events import BatchEvent, InstancePhase, InstanceStarted, InstanceStep, OnEvent
from .oracle import LABEL as ORACLE_LABEL

Report = OnEvent
"""How a worker tells the driver what it is doing: report(event), a `swebench_runner.events` value."""


class InstanceTask(BaseModel):
    """What a worker needs to run one instance (sent to it, so plain data only)."""

    instance: Instance
    """The instance (its gold patch is used by the oracle model only)."""
    model: str
    """The model spec."""
    attempts: int = 1
    """Candidate patches the agent makes."""
    limits: BudgetLimits
    """The agent's budgets for this instance (its dollar share of the run's cap included)."""
    mirrors: str | None = None
    """Directory of bare git mirrors named owner__name (on the worker's machine)."""
    spec_files: list[str] = Field(default_factory=list)
    """User environment spec files, first wins (on the worker's machine)."""
    online: bool = True
    """Whether a repository without a mirror may be cloned."""
    evaluate: bool = False
    """Grade the patch with the harness right after the agent (in a fresh container)."""
    full_tests: bool = False
    """The agent runs the whole suite instead of the tests chosen for the change."""
    test_timeout: float | None = None
    """Seconds one of the agent's test runs may take (None: the spec's `agent_test_timeout`)."""
    work_root: str | None = None
    """Where the agent writes while it runs (WORK_ROOT/INSTANCE_ID; else a temporary directory);
    removed afterwards."""


class InstanceRecord(BaseModel):
    """The runner's record of one instance (OUT/INSTANCE_ID/result.json; stable)."""

    instance_id: str
    """The instance."""
    status: Status | Literal["unknown"]
    """The agent's own judgement (verified, submitted, failed, budget_exhausted, format_error, error;
    agent.state.Status; `resolved` in an old result.json reads as verified), or `error` when the
    instance could not run (see `error`); `unknown` for a graded instance without its record. The
    official grade is `eval.status`."""
    finished: bool = False
    """The agent ran to an outcome (its patch is in predictions.jsonl). False when the instance
    could not run (an image that does not build, a container or worker failure): a later
    invocation tries it again."""
    error: str = ""
    """One line on why the instance could not run."""
    message: str = ""
    """The agent's message when it ended early."""
    model: str = ""
    """The model spec."""
    model_name_or_path: str = ""
    """The name its prediction carries: the spec, or `patchwright-oracle (gold-patch replay)` for the
    oracle, `human` and `relay` for those stand-ins."""
    image: str = ""
    """The instance image the agent worked in."""
    files_changed: list[str] = Field(default_factory=list)
    """Files the patch changes."""
    steps: int = 0
    """Model calls made."""
    tokens: int = 0
    """Tokens used."""
    cost: float | None = 0.0
    """US dollars spent; None when the model has no price."""
    max_cost: float | None = None
    """The dollar budget this instance was given (its share of --max-total-cost, capped by
    --max-cost-per-instance)."""
    elapsed: float = 0.0
    """Seconds from start to end on the worker (image, agent, evaluation)."""
    worker: str = ""
    """host:pid of the process that ran it."""
    eval: Outcome | None = None
    """The harness's grading (with --eval): status resolved, unresolved, empty_patch, patch_failed
    or error, and the official report."""


@dataclass
class InstanceResult:
    """What a worker sends back."""

    record: InstanceRecord
    patch: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    """The instance directory's files (relative path -> bytes): trajectory.jsonl, patch.diff,
    summary.json, run.json, and with --eval report.json, test_output.txt, outcome.json."""


def is_oracle(spec: str) -> bool:
    return spec.strip().split(":", 1)[0] == "oracle"


def model_name(spec: str) -> str:
    """The `model_name_or_path` of predictions made with a model spec."""
    return ORACLE_LABEL if is_oracle(spec) else model_label(spec)


def model_options(spec: str, inst: Instance, ws: Any) -> dict[str, Any]:
    """What a provider needs to know of the instance: the oracle its gold patch and the workspace's
    files, the relay and replay the instance's id (its turns go to DIR/INSTANCE_ID/; `replay:DIR` plays
    DIR/INSTANCE_ID.jsonl)."""
    provider = spec.strip().partition(":")[0]
    if provider == "oracle":
        return {"gold_patch": inst.patch, "read_files": ws.read_many}
    return {"instance": inst.instance_id} if provider in ("relay", "replay") else {}


def _quiet(event: BatchEvent) -> None:
    pass


def run_instance(task: InstanceTask, report: Report | None = None) -> InstanceResult:
    """Run the agent on one instance; never raises for a problem of this instance alone (it comes
    back as a record with status `error`). KeyboardInterrupt (a cancelled run) is let through after
    the container is removed."""
    report = report or _quiet
    inst = task.instance
    start = time.monotonic()
    rec = InstanceRecord(instance_id=inst.instance_id, status="error", model=task.model,
                         model_name_or_path=model_name(task.model), max_cost=task.limits.max_cost,
                         worker=f"{socket.gethostname()}:{os.getpid()}")
    work = _work_dir(task)
    result = InstanceResult(rec)
    try:
        report(InstanceStarted(inst.instance_id))
        _run(task, work, rec, result, report)
    except Exception as exc:  # one instance's failure must not stop the batch
        text = str(exc).strip()
        rec.error = text.splitlines()[0][:300] if isinstance(exc, PatchwrightError) and text else \
            f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"
    finally:
        rec.elapsed = round(time.monotonic() - start, 3)
        result.files.update(_collect(work))
        shutil.rmtree(work if task.work_root else work.parent, ignore_errors=True)
    return result


def _work_dir(task: InstanceTask) -> Path:
    """WORK_ROOT/INSTANCE_ID, fresh (the harness writes its reports to REPORT_DIR/INSTANCE_ID);
    refused unless it lies inside WORK_ROOT (or the temporary directory)."""
    name = task.instance.instance_id
    if task.work_root:
        path = inside(task.work_root, name)
        try:
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            return path
        except OSError:  # another machine's path: work in a temporary directory instead
            pass
    path = inside(tempfile.mkdtemp(prefix="patchwright-run-"), name)
    path.mkdir()
    return path


def _collect(work: Path) -> dict[str, bytes]:
    """The instance directory's files, the agent's checkpoints left out (a batch instance restarts)."""
    out = {}
    for p in sorted(work.rglob("*")):
        if p.is_file() and not p.name.startswith("checkpoints.sqlite"):
            out[p.relative_to(work).as_posix()] = p.read_bytes()
    return out


def _run(task: InstanceTask, work: Path, rec: InstanceRecord, result: InstanceResult, report: Report) -> None:
    inst = task.instance
    specs = SpecTable(list(task.spec_files))
    spec = specs.for_instance(inst, task.mirrors, task.online)
    report(InstancePhase(inst.instance_id, "image"))
    try:
        image = ensure_instance_image(inst, spec, mirrors=task.mirrors, online=task.online)
    except ImageBuildError as exc:
        (work / "image_build.log").write_text(exc.log)
        raise UserError(str(exc)) from None
    rec.image = image.tag
    if image.build_log:
        (work / "image_build.log").write_text(image.build_log)
    report(InstancePhase(inst.instance_id, "agent"))

    def progress(event: Event) -> None:
        match event:
            case NodeStarted(node=node):
                report(InstancePhase(inst.instance_id, node))
            case StepTaken(steps=steps, cost=cost):
                report(InstanceStep(inst.instance_id, cost, steps))

    test_timeout = task.test_timeout or spec.agent_test_timeout
    request = FixRequest(repo=inst.repo, issue=inst.problem_statement or "(no problem statement)", model=task.model,
                         reference=inst.reference,
                         workspace="docker", image=image.tag, test_cmd=spec.test_cmd, attempts=task.attempts,
                         limits=task.limits, agent=AgentConfig(full_tests=task.full_tests, test_timeout=test_timeout))
    with DockerWorkspace(image.tag, network=False) as ws:
        model = make_model(task.model, **model_options(task.model, inst, ws))
        try:
            outcome = run_fix(request, ws, work, model=model, progress=progress, plan=plan_for_test_command(spec.test_command(), test_timeout, spec.doctest_cmd))
        finally:
            model.close()
    rec.finished = True
    rec.status, rec.message, rec.files_changed = outcome.status, outcome.message, outcome.files_changed
    rec.steps, rec.tokens, rec.cost = outcome.steps, outcome.tokens, outcome.cost
    result.patch = outcome.patch
    if task.evaluate:
        report(InstancePhase(inst.instance_id, "eval"))
        pred = Prediction(instance_id=inst.instance_id, model_name_or_path=rec.model_name_or_path,
                          model_patch=outcome.patch)
        rec.eval = evaluate_instance(inst, pred, EvalOptions(specs=specs, mirrors=task.mirrors, online=task.online,
                                                             report_dir=work.parent))
