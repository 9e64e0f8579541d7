"""Evaluate predictions: per instance, image -> container -> model patch -> test patch -> tests -> grade.

`evaluate_instance` does one; `evaluate` does many with worker threads and writes the reports.
Every failure of one instance (an image that does not build, a patch that does not apply, tests
that hang) is recorded for that instance and the others go on.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sandbox.diffs import new_paths, patch_files
from sandbox.docker_workspace import DockerWorkspace
from sandbox.errors import PatchwrightError
from sandbox.patching import apply_patch, put_file_script
from sandbox.testing import run_tests

from .grading import (
    APPLY_PATCH_FAIL,
    APPLY_PATCH_PASS,
    END_TEST_OUTPUT,
    START_TEST_OUTPUT,
    TEST_EXIT_CODE,
    TESTS_TIMEOUT,
    grade,
)
from .images import ImageBuildError, InstanceImage, ensure_instance_image
from .instance import Instance, Prediction
from .reports import write_instance
from .specs import Spec, SpecTable
from .strict import suspicious_changes

Status = Literal["resolved", "unresolved", "empty_patch", "patch_failed", "error"]
OFFICIAL_PRELUDE = "source /opt/miniconda3/bin/activate && conda activate testbed"


class Outcome(BaseModel):
    """The result of evaluating one prediction."""

    instance_id: str
    """The instance."""
    status: Status
    """resolved, unresolved, empty_patch, patch_failed or error."""
    model_name_or_path: str = ""
    """Who made the patch."""
    patch_method: str = ""
    """How the model patch went in: `git apply`, `patch --fuzz`, `failed` (empty when not tried)."""
    timed_out: bool = False
    """The tests ran past their timeout and were killed (graded as failed)."""
    error: str = ""
    """One line on what went wrong, for status `error`."""
    image: str = ""
    """The image the tests ran in."""
    images_built: list[str] = Field(default_factory=list)
    """Images built for this instance (empty on a cache hit)."""
    report: dict = Field(default_factory=dict)
    """The official report.json entry (patch_is_None, patch_exists, patch_successfully_applied,
    resolved, tests_status)."""
    durations: dict[str, float] = Field(default_factory=dict)
    """Seconds per phase: image, start, patch, test_patch, tests (the test command alone), total;
    `overhead` is total minus tests."""
    suspicious: list[str] = Field(default_factory=list)
    """With `eval --strict`: why the patch touches the test infrastructure (conftest files, test
    settings, the instance's own test files), one reason per file; the status stays the official
    grade."""


@dataclass
class EvalOptions:
    """How to evaluate (the same for every instance of a run)."""

    specs: SpecTable = field(default_factory=SpecTable)
    """Where environment specs come from (user files first)."""
    mirrors: str | None = None
    """Directory of bare git mirrors named owner__name."""
    image_source: str = "build"
    """`build` (our layers) or `official` (SWE-bench's images, pulled from a registry)."""
    online: bool = True
    """Whether a repository without a mirror may be cloned."""
    timeout: float | None = None
    """Test timeout in seconds (default: the spec's test_timeout)."""
    report_dir: Path | None = None
    """Where per-instance directories go (patch.diff, test_output.txt, report.json); None: nowhere."""
    say: Callable[[str], None] | None = None
    """Receives one-line progress messages (image builds)."""
    strict: bool = False
    """Mark patches that touch the test infrastructure as suspicious (harness.strict)."""


def _reset_and_apply_tests(ws, instance: Instance) -> tuple[bool, str]:
    """Put the files the test patch touches back to base_commit, then apply the test patch."""
    olds = [old for old, _new in patch_files(instance.test_patch) if old != "/dev/null"]
    text = instance.test_patch if instance.test_patch.endswith("\n") else instance.test_patch + "\n"
    put = put_file_script(ws, "/tmp/patchwright-test.diff", text)
    reset = (f"git checkout {shlex.quote(instance.base_commit)} -- " + " ".join(shlex.quote(p) for p in olds)
             + " && ") if olds else ""
    res = ws.run(f"{put}{reset}git apply -v /tmp/patchwright-test.diff", 120)
    return res.ok, res.output


def run_eval(ws, instance: Instance, spec: Spec, model_patch: str, *, timeout: float | None = None,
             prelude: str = "") -> tuple[str, str, bool, dict[str, float]]:
    """In an open workspace: apply the model patch, the test patch, run the tests.

    Returns (log in the official layout, patch method, timed out, durations). The workspace is
    left patched; grading the log is up to the caller.
    """
    t0 = time.monotonic()
    lines: list[str] = []
    applied = apply_patch(ws, model_patch)
    durations = {"patch": time.monotonic() - t0}
    lines.append(applied.output)
    if not applied.applied:
        lines.append(f"{APPLY_PATCH_FAIL}\n")
        return "".join(lines), applied.method, False, durations
    lines.append(f"{APPLY_PATCH_PASS} ({applied.method})\n")
    if spec.eval_install and not instance.eval_script:  # an eval script does its own install
        res = ws.run(f"{prelude}\n{spec.eval_install}" if prelude else spec.eval_install, 1200)
        lines.append(f"$ {spec.eval_install}\n{res.output}\n")
    t1 = time.monotonic()
    if instance.eval_script:
        ws.write_file("/tmp/patchwright-eval.sh", instance.eval_script)
        res = ws.run("bash /tmp/patchwright-eval.sh", timeout or spec.test_timeout, max_output=20_000_000)
        lines.append(res.output)
        timed_out, exit_code = res.timed_out, res.exit_code
        if START_TEST_OUTPUT not in res.output:
            lines.append(f"\n{START_TEST_OUTPUT}\n{END_TEST_OUTPUT}\n")
        durations["tests"] = time.monotonic() - t1
    else:
        ok, out = _reset_and_apply_tests(ws, instance)
        durations["test_patch"] = time.monotonic() - t1
        lines.append(out)
        if not ok:
            lines.append(f"{APPLY_PATCH_FAIL} (test patch)\n")
            return "".join(lines), applied.method, False, durations
        run = run_tests(ws, spec.test_command(), files=new_paths(instance.test_patch), timeout=timeout, prelude=prelude)
        durations["tests"] = run.duration
        lines.append(f"+ {run.command}\n{START_TEST_OUTPUT}\n{run.output}\n{END_TEST_OUTPUT}\n")
        timed_out, exit_code = run.timed_out, run.exit_code
    lines.append(f"{TEST_EXIT_CODE}: {exit_code}\n")
    if timed_out:
        lines.append(f"{TESTS_TIMEOUT} after {timeout or spec.test_timeout:.0f} s\n")
    return "".join(lines), applied.method, timed_out, durations


def evaluate_instance(instance: Instance, prediction: Prediction, opts: EvalOptions | None = None,
                      closer: ThreadPoolExecutor | None = None) -> Outcome:
    """Evaluate one prediction end to end; never raises for a problem of this instance alone.

    With `closer`, the container is removed on that executor instead of before returning.
    """
    opts = opts or EvalOptions()
    start = time.monotonic()
    patch = prediction.model_patch
    out = Outcome(instance_id=instance.instance_id, status="error", model_name_or_path=prediction.model_name_or_path)
    log = ""
    build_log = ""
    try:
        if opts.strict:
            out.suspicious = suspicious_changes(patch or "", instance)
        if patch is None or not patch.strip():
            out.status = "empty_patch"
            out.report = {instance.instance_id: {"patch_is_None": patch is None, "patch_exists": False,
                                                 "patch_successfully_applied": False, "resolved": False}}
            return out
        spec = opts.specs.for_instance(instance, opts.mirrors, opts.online)
        t = time.monotonic()
        image: InstanceImage = ensure_instance_image(instance, spec, mirrors=opts.mirrors,
                                                     image_source=opts.image_source, online=opts.online,
                                                     say=opts.say)
        out.durations["image"] = time.monotonic() - t
        out.image, out.images_built, build_log = image.tag, image.built, image.build_log
        official = image.source == "official" or image.tag.split("/")[-2:-1] == ["swebench"]
        prelude = OFFICIAL_PRELUDE if official and not instance.eval_script else ""
        t = time.monotonic()
        ws = DockerWorkspace(image.tag, network=False, timeout=spec.test_timeout)
        try:
            out.durations["start"] = time.monotonic() - t
            log, out.patch_method, out.timed_out, durs = run_eval(ws, instance, spec, patch,
                                                                  timeout=opts.timeout, prelude=prelude)
            out.durations.update(durs)
        finally:
            t = time.monotonic()
            if closer is not None:  # the container goes away while the worker moves on
                closer.submit(ws.close)
            else:
                ws.close()
            out.durations["stop"] = time.monotonic() - t
        out.report = grade(instance, log, log_parser=spec.log_parser, eval_type=spec.eval_type, model_patch=patch)
        entry = out.report[instance.instance_id]
        if entry["resolved"]:
            out.status = "resolved"
        elif out.patch_method == "failed":
            out.status = "patch_failed"
        elif APPLY_PATCH_FAIL in log:
            out.status, out.error = "error", "the test patch did not apply"
        else:
            out.status = "unresolved"
    except ImageBuildError as exc:
        out.error, build_log = str(exc), exc.log
    except PatchwrightError as exc:
        out.error = str(exc)
    except Exception as exc:  # one instance's failure must not stop the run
        out.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
    finally:
        out.durations["total"] = time.monotonic() - start
        if "tests" in out.durations:  # everything outside the test command itself
            out.durations["overhead"] = out.durations["total"] - out.durations["tests"]
        if opts.report_dir is not None:
            write_instance(Path(opts.report_dir), out, patch or "", log, build_log)
    return out


def evaluate(instances: list[Instance], predictions: dict[str, Prediction], opts: EvalOptions | None = None, *,
             workers: int = 1, on_result: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Evaluate the predictions of `instances` (those without a prediction are skipped), `workers` at a time.

    Workers that need the same image wait for one build of it (a lock per tag); containers are
    removed in the background and all are gone when this returns. Outcomes come back in the
    instances' order.
    """
    opts = opts or EvalOptions()
    todo = [i for i in instances if i.instance_id in predictions]
    results: dict[str, Outcome] = {}
    with ThreadPoolExecutor(max_workers=1) as closer, ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(evaluate_instance, i, predictions[i.instance_id], opts, closer): i for i in todo}
        for fut in as_completed(futures):
            o = fut.result()
            results[o.instance_id] = o
            if on_result:
                on_result(o)
    return [results[i.instance_id] for i in todo]
