"""The driver of a batch run: choose instances, hand them to an executor a few at a time, keep the
run directory, hold the dollar cap, grade with the harness, and summarize.

    summary = run_batch(RunOptions(dataset="builtin", model="oracle", workers=2, evaluate=True,
                                   out="runs/builtin-oracle"), on_event=print)

Cost cap. Each instance gets a dollar budget when it starts: its share of what is left of
`max_total_cost` (what finished instances spent and what the instances in flight were given are
taken off, the rest split between the free workers), capped by `max_cost_per_instance`. The agent
checks its budget before every model call, so an instance passes its budget by at most one call;
when nothing is left no new instance starts, and the ones in flight finish. With one worker the
run's total passes the cap by at most one call; with N workers by at most one call per instance
in flight when the cap was reached. The cap covers the run directory: what earlier invocations
spent on its finished instances counts.

Ctrl-C (or SIGTERM) once: no new instance starts and the ones in flight finish; twice: the ones in
flight are stopped (their containers removed) and lost. A second invocation with the same `out`
runs only what is not finished.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.budget import DEFAULT_LIMITS, BudgetLimits
from agent.models import make_model, parse_spec
from agent.models.registry import absolute_spec, stand_in
from harness.evaluation import EvalOptions, evaluate
from harness.instance import Instance, Prediction
from harness.reports import summarize, write_summary
from harness.specs import SpecTable
from sandbox.errors import UserError

from .datasets import load_dataset, select
from .events import (
    Cancelling,
    Graded,
    Grading,
    InstanceFinished,
    InstanceSubmitted,
    OnEvent,
    RunPlanned,
    RunWarning,
    Stopping,
)
from .executors import Executor, make_executor, parse_executor
from .store import RunStore
from .task import InstanceRecord, InstanceResult, InstanceTask, is_oracle, model_name

POLL = 0.25
"""Seconds between looks at the workers' progress."""


class RunOptions(BaseModel):
    """A batch run (`patchwright run`'s options)."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    """`builtin`, a JSONL file of SWE-bench instances, or hf:NAME[:SPLIT]."""
    model: str
    """The model spec (`oracle` replays each instance's gold patch)."""
    out: str
    """The run directory."""
    ids: list[str] | None = None
    """Only these instance ids."""
    slice: str | None = None
    """`A:B`: a slice of the (filtered) dataset."""
    filter: str | None = None
    """A regular expression searched in the instance ids."""
    workers: int = 1
    """Instances at once."""
    attempts: int = 1
    """Candidate patches per instance."""
    max_cost_per_instance: float | None = DEFAULT_LIMITS.max_cost
    """US dollars one instance may spend (None: no limit besides the total)."""
    max_total_cost: float | None = None
    """US dollars the run may spend; no new instance starts past it (None: no limit)."""
    max_steps: int | None = DEFAULT_LIMITS.max_steps
    """Model calls per instance."""
    max_time: float | None = DEFAULT_LIMITS.max_time
    """Seconds of the agent per instance."""
    mirrors: str | None = None
    """Directory of bare git mirrors named owner__name."""
    spec_files: list[str] = Field(default_factory=list)
    """User environment spec files."""
    online: bool = True
    """Whether repositories without a mirror may be cloned."""
    redo: bool = False
    """Run finished instances again."""
    evaluate: bool = False
    """Grade each patch with the harness as it finishes (and finished, ungraded ones at the end)."""
    executor: str = "local"
    """`local` (a process pool), `ray` (a local Ray instance) or `ray://ADDRESS`."""
    full_tests: bool = False
    """The agent runs the whole suite instead of the tests chosen for the change."""
    test_timeout: float | None = None
    """Seconds one of the agent's test runs may take (None: the spec's `agent_test_timeout`)."""


class BatchSummary(BaseModel):
    """What a batch run did: OUT/summary.json and `patchwright run --json` (stable; documented in
    docs/runner.md)."""

    dataset: str
    """The dataset as given."""
    model: str
    """The model spec (an absolute path for a cassette or relay directory)."""
    model_name_or_path: str
    """The name the predictions carry."""
    oracle: bool
    """Whether the oracle (gold-patch replay) played the model."""
    note: str | None
    """What plays the model when it is a stand-in (human, relay), else None."""
    out: str
    """The run directory."""
    predictions: str
    """OUT/predictions.jsonl."""
    executor: str
    """local, ray or ray://ADDRESS."""
    workers: int
    """Instances at once."""
    selected: int
    """Instances chosen."""
    finished: int
    """Chosen instances finished (now or before)."""
    ran: list[str]
    """Ids finished by this invocation."""
    skipped: list[str]
    """Ids finished before (not run again)."""
    not_finished: list[str]
    """Chosen ids without an outcome (cost cap, interruption, errors): the same command goes on with them."""
    stopped: str | None
    """Why the run stopped early: cost_cap, interrupted or executor_failed; None when it did not."""
    errors: dict[str, str]
    """Id -> one line on why it could not run (this invocation)."""
    statuses: dict[str, int]
    """The agent's own statuses (verified, submitted, ...) -> instances."""
    cost: float | None
    """US dollars of every finished instance chosen; None when one has no price."""
    cost_this_run: float
    """US dollars this invocation spent."""
    max_total_cost: float | None
    """--max-total-cost."""
    elapsed: float
    """Seconds of wall time of this invocation."""
    resolved: int | None
    """Instances graded resolved by the harness (with --eval), else None."""
    eval: dict[str, Any] | None
    """The harness's summary of the grades (with --eval; harness.reports.summarize), else None."""


class _Run:
    def __init__(self, opts: RunOptions, store: RunStore, executor: Executor, on_event: OnEvent):
        self.opts, self.store, self.executor, self.emit = opts, store, executor, on_event
        self.inflight: dict[Future, tuple[Instance, float | None]] = {}
        self.spent_before = 0.0
        self.spent_now = 0.0
        self.stopped: str | None = None
        self.results: dict[str, InstanceRecord] = {}
        self.unpriced_warned = False

    # -- money -------------------------------------------------------------------------------------
    def allot(self) -> float | None | bool:
        """The next instance's dollar budget (None: unlimited); False when the total cap is reached."""
        per, cap = self.opts.max_cost_per_instance, self.opts.max_total_cost
        if cap is None:
            return per
        reserved = sum(s or 0.0 for _i, s in self.inflight.values())
        left = cap - self.spent_before - self.spent_now - reserved
        if left <= 1e-9:
            return False
        share = left / max(self.executor.workers - len(self.inflight), 1)
        return share if per is None else min(per, share)

    # -- the loop ----------------------------------------------------------------------------------
    def task(self, inst: Instance, max_cost: float | None) -> InstanceTask:
        o = self.opts
        return InstanceTask(instance=inst, model=o.model, attempts=o.attempts,
                            limits=BudgetLimits(max_steps=o.max_steps, max_cost=max_cost, max_time=o.max_time),
                            mirrors=o.mirrors, spec_files=o.spec_files, online=o.online, evaluate=o.evaluate,
                            work_root=str(self.store.work_root), full_tests=o.full_tests, test_timeout=o.test_timeout)

    def fill(self, pending: list[Instance]) -> None:
        while pending and len(self.inflight) < self.executor.workers and not self.stopped:
            budget = self.allot()
            if budget is False:
                self.stopped = "cost_cap"
                self.emit(Stopping("cost_cap", len(self.inflight)))
                return
            inst = pending.pop(0)
            try:
                fut = self.executor.submit(self.task(inst, budget))
            except Exception as exc:  # the executor itself is broken: nothing more can start
                self.finish(inst, None, _error_result(inst, self.opts, f"could not start: {_line(exc)}"))
                self.stopped = "executor_failed"
                return
            self.inflight[fut] = (inst, budget)
            self.emit(InstanceSubmitted(inst.instance_id, budget))

    def finish(self, inst: Instance, budget: float | None, result: InstanceResult) -> None:
        rec = result.record
        rec.max_cost = budget
        self.store.save(result)
        self.results[inst.instance_id] = rec
        self.spent_now += rec.cost or 0.0
        if rec.cost is None and self.opts.max_total_cost is not None and not self.unpriced_warned:
            self.unpriced_warned = True
            self.emit(RunWarning(f"{self.opts.model} has no price: --max-total-cost cannot limit it"))
        self.emit(InstanceFinished(rec))

    def collect(self, timeout: float) -> None:
        done, _ = wait(list(self.inflight), timeout=timeout, return_when=FIRST_COMPLETED) if self.inflight \
            else (set(), set())
        for event in self.executor.events():
            self.emit(event)
        for fut in done:
            inst, budget = self.inflight.pop(fut)
            exc = fut.exception() if not fut.cancelled() else None
            if fut.cancelled() or exc is not None:  # the worker died or was cancelled: the instance did not finish
                result = _error_result(inst, self.opts, f"worker failed: {_line(exc) if exc else 'cancelled'}")
            else:
                result = fut.result()
            self.finish(inst, budget, result)

    def loop(self, pending: list[Instance], stop: _Stop) -> None:
        while True:
            if stop.count and self.stopped != "interrupted":
                self.stopped = "interrupted"
                if self.inflight:
                    self.emit(Stopping("interrupted", len(self.inflight)))
            if stop.count >= 2 and self.inflight:
                self.emit(Cancelling(len(self.inflight)))
                self.executor.cancel()
                self.inflight.clear()
            self.fill(pending)
            if not self.inflight:
                return
            self.collect(POLL)

    def drive(self, pending: list[Instance]) -> None:
        """The loop. Ctrl-C or SIGTERM once: no new instance starts, the ones in flight finish;
        twice: the ones in flight are cancelled. The signals only set a flag (when this runs in the
        main thread), so no result in the middle of being written is cut off."""
        stop = _Stop()
        main = threading.current_thread() is threading.main_thread()
        saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
        try:
            self.loop(pending, stop)
        except KeyboardInterrupt:  # not the main thread: Python's own Ctrl-C
            self.stopped = "interrupted"
            self.emit(Cancelling(len(self.inflight)))
            self.executor.cancel()
            self.inflight.clear()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


class _Stop:
    """A signal handler that counts the signals it got."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum, frame) -> None:
        self.count += 1


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:300]}" if text else type(exc).__name__


def _error_result(inst: Instance, opts: RunOptions, error: str) -> InstanceResult:
    return InstanceResult(InstanceRecord(instance_id=inst.instance_id, status="error", error=error, model=opts.model,
                                         model_name_or_path=model_name(opts.model)))


def _note(spec: str) -> str | None:
    """What plays the model when it is a stand-in (`human`, `relay:DIR`), else None."""
    s = stand_in(spec)
    return s.note if s else None


def check_model(spec: str, instances: list[Instance], workers: int = 1, executor: str = "local") -> None:
    """Fail before any work when the model cannot run: an unknown provider, a missing key, a
    missing cassette (with `replay:DIR`, any chosen instance's); the oracle on instances without a
    gold patch; `human` with more than one worker or off this machine (a person answers one
    instance at a time, at this terminal)."""
    if is_oracle(spec):
        if spec.strip() != "oracle":
            raise UserError(f"model spec {spec!r} is malformed: the oracle takes no model name, write oracle")
        missing = [i.instance_id for i in instances if not i.patch.strip()]
        if missing:
            raise UserError(f"the oracle model replays gold patches, and {len(missing)} instance(s) have none "
                            f"(e.g. {missing[0]}); choose instances with a `patch` field")
        return
    provider, target = parse_spec(spec)
    if provider == "human" and (workers != 1 or parse_executor(executor)[0] != "local"):
        raise UserError("--model human plays one instance at a time at this terminal: run it with --workers 1 "
                        "and the local executor")
    if provider == "replay" and Path(target).expanduser().is_dir():  # replay:DIR, one cassette per instance
        for inst in instances:
            make_model(spec, instance=inst.instance_id).close()
        return
    make_model(spec).close()


def run_batch(opts: RunOptions, on_event: OnEvent | None = None) -> BatchSummary:
    """Run the agent over the chosen instances; returns the summary (also OUT/summary.json).
    Raises UserError (one line) for bad input before any instance runs."""
    emit = on_event or (lambda event: None)
    start = time.monotonic()
    if opts.workers < 1:
        raise UserError(f"--workers must be at least 1 (got {opts.workers})")
    parse_executor(opts.executor)
    instances = select(load_dataset(opts.dataset), opts.ids, opts.slice, opts.filter)
    check_model(opts.model, instances, opts.workers, opts.executor)
    opts = opts.model_copy(update={
        "model": absolute_spec(opts.model),
        "mirrors": str(Path(opts.mirrors).resolve()) if opts.mirrors else None,
        "spec_files": [str(Path(f).resolve()) for f in opts.spec_files]})
    for f in opts.spec_files:
        if not Path(f).is_file():
            raise UserError(f"spec file {f} does not exist")
    if opts.mirrors and not Path(opts.mirrors).is_dir():
        raise UserError(f"--mirrors {opts.mirrors} is not a directory")
    store = RunStore(opts.out)
    store.open(opts.dataset, opts.model, model_name(opts.model))  # refused when another run holds it
    try:
        return _run_locked(opts, store, instances, emit, start)
    finally:
        store.close()


def _run_locked(opts: RunOptions, store: RunStore, instances: list[Instance], emit: OnEvent,
                start: float) -> BatchSummary:
    selected = {i.instance_id for i in instances}
    finished = store.finished()
    if opts.redo:
        store.forget(selected & set(finished))
        finished = store.finished()
    skipped = [i.instance_id for i in instances if i.instance_id in finished]
    pending = [i for i in instances if i.instance_id not in finished]
    executor = make_executor(opts.executor, opts.workers)
    run = _Run(opts, store, executor, emit)
    resolved_before = 0
    for iid in finished:  # the cap covers the whole run directory
        rec = store.record(iid)
        run.spent_before += (rec.cost or 0.0) if rec else 0.0
        resolved_before += bool(iid in selected and rec and rec.eval and rec.eval.status == "resolved")
    index = store.begin({"options": opts.model_dump(exclude={"dataset", "model"}), "selected": len(instances),
                         "to_run": len(pending)})
    emit(RunPlanned(total=len(instances), done=len(skipped), to_run=len(pending), model=opts.model,
                    model_name_or_path=model_name(opts.model), oracle=is_oracle(opts.model), note=_note(opts.model),
                    executor=executor.name, workers=executor.workers, out=str(store.out),
                    cost_before=run.spent_before, resolved_before=resolved_before, evaluate=opts.evaluate))
    try:
        run.drive(pending)
    finally:
        executor.close()
    eval_summary = None
    if opts.evaluate and run.stopped != "interrupted":
        eval_summary = _grade(opts, store, instances, emit)
    summary = _summary(opts, store, instances, run, skipped, eval_summary, time.monotonic() - start)
    store.write_summary(summary.model_dump(mode="json"))
    store.end(index, ran=len(summary.ran), stopped=run.stopped, finished=summary.finished)
    return summary


def _grade(opts: RunOptions, store: RunStore, instances: list[Instance], emit: OnEvent) -> dict:
    """Grade finished instances that have no grade yet (an earlier invocation without --eval), then
    summarize the grades of every finished instance chosen, through the harness."""
    finished = store.finished()
    records = {i.instance_id: store.record(i.instance_id) for i in instances if i.instance_id in finished}
    todo = [i for i in instances if i.instance_id in records and (records[i.instance_id] is None
                                                                  or records[i.instance_id].eval is None)]
    if todo:
        emit(Grading(len(todo)))
        preds = {i.instance_id: Prediction(instance_id=i.instance_id, model_name_or_path=model_name(opts.model),
                                           model_patch=finished[i.instance_id]) for i in todo}

        def graded(outcome) -> None:
            rec = records[outcome.instance_id]
            if rec is not None:
                rec.eval = outcome
                store.update_record(rec)
            emit(Graded(outcome.instance_id, outcome.status))

        for o in evaluate(todo, preds, EvalOptions(specs=SpecTable(opts.spec_files), mirrors=opts.mirrors,
                                                    online=opts.online, report_dir=store.out),
                          workers=opts.workers, on_result=graded):
            if records[o.instance_id] is None:
                records[o.instance_id] = InstanceRecord(instance_id=o.instance_id, status="unknown", finished=True,
                                                        eval=o)
    outcomes = [r.eval for r in records.values() if r is not None and r.eval is not None]
    summary = summarize(outcomes, dataset=opts.dataset)
    summary["report_dir"] = str(store.out)
    write_summary(store.out / "eval", summary)
    return summary


def _summary(opts: RunOptions, store: RunStore, instances: list[Instance], run: _Run, skipped: list[str],
             eval_summary: dict | None, elapsed: float) -> BatchSummary:
    finished = store.finished()
    chosen = [i.instance_id for i in instances]
    records = {i: run.results.get(i) or store.record(i) for i in chosen if i in finished}
    statuses: dict[str, int] = {}
    for r in records.values():
        key = str(r.status) if r else "unknown"
        statuses[key] = statuses.get(key, 0) + 1
    costs = [r.cost for r in records.values() if r]
    return BatchSummary(
        dataset=opts.dataset,
        model=opts.model,
        model_name_or_path=model_name(opts.model),
        oracle=is_oracle(opts.model),
        note=_note(opts.model),
        out=str(store.out),
        predictions=str(store.predictions),
        executor=opts.executor,
        workers=opts.workers,
        selected=len(chosen),
        finished=len(records),
        ran=sorted(i for i, r in run.results.items() if r.finished),
        skipped=sorted(skipped),
        not_finished=sorted(i for i in chosen if i not in finished),
        stopped=run.stopped,
        errors={i: r.error for i, r in sorted(run.results.items()) if r.error},
        statuses=statuses,
        cost=None if any(c is None for c in costs) else round(sum(costs), 6),
        cost_this_run=round(run.spent_now, 6),
        max_total_cost=opts.max_total_cost,
        elapsed=round(elapsed, 3),
        resolved=eval_summary["resolved"] if eval_summary else None,
        eval=eval_summary,
    )
