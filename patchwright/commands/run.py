"""`patchwright run`: the agent over a dataset, with workers, resume, a cost cap and live progress."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from agent import limits
from sandbox.errors import UserError
from swebench_runner.events import (
    BatchEvent,
    Cancelling,
    Graded,
    Grading,
    InstanceFinished,
    InstancePhase,
    InstanceStarted,
    InstanceStep,
    RunPlanned,
    RunWarning,
    Stopping,
)

from .eval import _split_ids

if TYPE_CHECKING:  # the runner is imported when the command runs (start-up speed)
    from swebench_runner.runner import BatchSummary
from .report import write_and_say

ORACLE_NOTE = ("the oracle replays each instance's gold patch through the real tools: it proves the pipeline, "
               "its results are not a model's")


def default_out(dataset: str, model: str) -> Path:
    """runs/DATASET__MODEL (names made safe for a path)."""
    name = dataset[3:] if dataset.startswith("hf:") else Path(dataset).stem if dataset.endswith(".jsonl") else dataset

    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"

    return Path("runs") / f"{safe(name)}__{safe(model)}"


class RunDisplay:
    """Shows a batch as it goes: a bar with done/total, resolved so far (with --eval), dollars so far
    and the ETA, the instances in flight and what each is doing, and one line per finished instance."""

    def __init__(self, console: Console, live: bool = True):
        self.console = console
        self.live = live and console.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[resolved]}"), TextColumn("{task.fields[cost]}"),
                                 TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[flight]}"), console=console, disable=not self.live)
        self.task = None
        self.evaluate = False
        self.cost_done = 0.0
        self.unpriced = False
        self.live_cost: dict[str, float] = {}
        self.phase: dict[str, str] = {}
        self.resolved = 0
        self.done = 0

    def __enter__(self) -> RunDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def _refresh(self) -> None:
        if self.task is None:
            return
        cost = self.cost_done + sum(self.live_cost.values())
        flight = " · ".join(f"{i}: {p}" for i, p in list(self.phase.items())[:3])
        more = len(self.phase) - 3
        self.progress.update(self.task, completed=self.done,
                             resolved=f"resolved {self.resolved}" if self.evaluate else "",
                             cost=f"${cost:.2f}{'+?' if self.unpriced else ''}",
                             flight=escape(flight + (f" (+{more})" if more > 0 else "")))

    def __call__(self, event: BatchEvent) -> None:
        match event:
            case RunPlanned():
                self._plan(event)
            case InstanceStarted(instance_id=iid):
                self.phase[iid] = "starting"
            case InstancePhase(instance_id=iid, phase=phase) if iid in self.phase:
                self.phase[iid] = phase
            case InstanceStep(instance_id=iid, cost=cost) if cost is not None:
                self.live_cost[iid] = cost
            case InstanceFinished(record=rec):
                self._finished(rec)
            case Stopping(reason=reason, in_flight=n):
                why = "the total cost cap is reached" if reason == "cost_cap" else "interrupted"
                tail = " (Ctrl-C again to abandon them)" if reason == "interrupted" else ""
                self.say(f"[yellow]stopping:[/] {why}; no new instance starts, {n} in flight finish{tail}")
            case Cancelling(in_flight=n):
                self.say(f"[yellow]abandoning {n} instance(s) in flight[/] (they run again next time)")
            case RunWarning(text=text):
                self.say(f"[yellow]warning:[/] {escape(text)}")
            case Grading(count=count):
                self.say(f"grading {count} finished instance(s) that have no grade yet")
            case Graded(instance_id=iid, status=status):
                self.resolved += status == "resolved"
                if not self.live:
                    self.say(f"  graded {iid}: {status}")
        self._refresh()

    def _plan(self, p: RunPlanned) -> None:
        self.evaluate = p.evaluate
        self.cost_done, self.done, self.resolved = p.cost_before, p.done, p.resolved_before
        label = p.model + (f" = {p.model_name_or_path}" if p.model_name_or_path != p.model else "")
        self.say(f"run: {p.to_run} of {p.total} instance(s) to run ({p.done} finished before), "
                 f"model {escape(label)}, {p.workers} worker(s) on {p.executor}, out {p.out}")
        if p.oracle or p.note:
            self.say(f"[yellow]note:[/] {escape(ORACLE_NOTE if p.oracle else p.note)}")
        self.task = self.progress.add_task("oracle run" if p.oracle else "run", total=p.total,
                                           completed=p.done, resolved="", cost="", flight="")

    def _finished(self, rec) -> None:
        self.phase.pop(rec.instance_id, None)
        self.live_cost.pop(rec.instance_id, None)
        if rec.cost is None:
            self.unpriced = True
        self.cost_done += rec.cost or 0.0
        if not rec.finished:
            self.say(f"[red]✗[/] {rec.instance_id}: could not run: {escape(rec.error)}")
            return
        self.done += 1
        graded = ""
        if rec.eval is not None:
            self.resolved += rec.eval.status == "resolved"
            colour = "green" if rec.eval.status == "resolved" else "red"
            graded = f", eval [{colour}]{rec.eval.status}[/]"
        cost = "?" if rec.cost is None else f"{rec.cost:.2f}"
        self.say(f"{'[green]✓[/]' if rec.status == 'verified' else '·'} {rec.instance_id}: agent {rec.status}{graded}, "
                 f"{rec.steps} steps, ${cost}, {rec.elapsed:.0f} s")


def print_summary(s: BatchSummary) -> None:
    click.echo(f"\n{s.finished} of {s.selected} instance(s) finished ({len(s.ran)} now, "
               f"{len(s.skipped)} before); agent: "
               + (", ".join(f"{n} {k}" for k, n in sorted(s.statuses.items())) or "nothing"))
    if s.eval:
        e = s.eval
        click.echo(f"eval: {e['resolved']} / {e['total']} resolved ({100 * e['resolved_rate']:.1f}%)"
                   + "".join(f", {n} {k}" for k, n in e["counts"].items() if n and k != "resolved"))
    cost = "unknown (the model has no price)" if s.cost is None else f"${s.cost:.4f}"
    if s.note:
        cost += f" ({s.model_name_or_path}: not a priced model)"
    click.echo(f"cost: {cost}; elapsed {s.elapsed:.0f} s")
    for iid, err in s.errors.items():
        click.echo(f"error: {iid}: {err}")
    if s.stopped == "cost_cap":
        click.echo(f"stopped at the cost cap (${s.max_total_cost}): {len(s.not_finished)} instance(s) not run; "
                   "raise --max-total-cost and run the same command again to go on")
    elif s.stopped == "interrupted" or s.not_finished:
        click.echo(f"{len(s.not_finished)} instance(s) not finished: run the same command again to go on")
    if s.oracle or s.note:
        click.echo(f"note: {ORACLE_NOTE if s.oracle else s.note}")
    click.echo(f"predictions: {s.predictions}")


@click.command("run")
@click.option("--dataset", required=True, help="`builtin`, a SWE-bench JSONL file, or hf:NAME[:SPLIT] (needs `datasets`).")
@click.option("--model", "model_spec", required=True,
              help="Model spec: anthropic:MODEL, openai:MODEL[@URL], replay:CASSETTE.jsonl (replay:DIR: "
                   "DIR/INSTANCE_ID.jsonl for each instance), oracle (gold-patch "
                   "replay), human (you answer each turn here; --workers 1) or relay:DIR[,wait=SECONDS] (another "
                   "program answers turn files in DIR/INSTANCE_ID/).")
@click.option("--instances", "instance_ids", default=None,
              help="Only these instance ids (comma or space separated, or @FILE holding them; # comments).")
@click.option("--slice", "slice_", default=None, help="A:B, a slice of the dataset (after --instances/--filter).")
@click.option("--filter", "pattern", default=None, help="Only ids in which this regular expression is found.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256), help="Instances at once.")
@click.option("--attempts", default=1, show_default=True, type=click.IntRange(min=1),
              help="Candidate patches per instance (the best by test evidence is kept).")
@click.option("--max-cost-per-instance", type=float, default=limits.MAX_COST, show_default=True,
              help="US dollars one instance may spend (0: no limit).")
@click.option("--max-total-cost", type=float, default=None,
              help="US dollars the run may spend; past it no new instance starts (default: no limit).")
@click.option("--max-steps", type=int, default=limits.MAX_STEPS, show_default=True, help="Model calls per instance (0: no limit).")
@click.option("--max-time", type=float, default=limits.MAX_TIME, show_default=True,
              help="Seconds of the agent per instance, waits for human or relay turns included (0: no limit).")
@click.option("--mirrors", type=click.Path(file_okay=False), default=None,
              help="Directory of bare git mirrors named owner__name (else repositories are cloned).")
@click.option("--specs", "spec_files", multiple=True, type=click.Path(dir_okay=False),
              help="An environment spec file (YAML/JSON) that wins over the shipped specs; repeatable.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: runs/DATASET__MODEL); run again with it to resume.")
@click.option("--redo", is_flag=True, help="Run the chosen instances again even if they are finished.")
@click.option("--eval", "evaluate", is_flag=True,
              help="Grade each patch with the harness as it finishes (ungraded finished ones at the end).")
@click.option("--executor", default="local", show_default=True,
              help="local (a process pool), ray (a local Ray instance) or ray://HOST:PORT (a Ray cluster).")
@click.option("--offline", is_flag=True, help="Never clone a repository (only --mirrors and builtin).")
@click.option("--full-tests", is_flag=True,
              help="The agent runs the whole test suite instead of the tests chosen for the change.")
@click.option("--test-timeout", type=click.FloatRange(min=1), default=None,
              help="Seconds one of the agent's test runs may take [default: the spec's agent_test_timeout, 300].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (OUT/summary.json) as JSON on stdout.")
def run(dataset, model_spec, instance_ids, slice_, pattern, workers, attempts, max_cost_per_instance, max_total_cost,
        max_steps, max_time, mirrors, spec_files, out, redo, evaluate, executor, offline, full_tests, test_timeout,
        as_json):
    """Run the agent on each chosen instance of DATASET in its own container, writing
    OUT/predictions.jsonl (SWE-bench's format) and OUT/INSTANCE_ID/ (trajectory, patch, summary).

    With --eval, the report page OUT/report.html (`patchwright report`) is written at the end and its
    path printed (on stderr with --json). Run the same command again to resume: finished instances are skipped (unless --redo). Ctrl-C
    once lets the instances in flight finish; twice abandons them. Exit status: 0 when every chosen
    instance finished, 1 when some did not (cost cap, errors), 130 when interrupted, 2 on bad input.
    """
    # imported when the command runs, so --help and usage errors stay fast
    from swebench_runner.runner import RunOptions, run_batch

    if max_total_cost is not None and max_total_cost <= 0:
        raise UserError(f"--max-total-cost must be above 0 (got {max_total_cost})")
    opts = RunOptions(dataset=dataset, model=model_spec, out=str(out or default_out(dataset, model_spec)),
                      ids=_split_ids(instance_ids), slice=slice_, filter=pattern, workers=workers, attempts=attempts,
                      max_cost_per_instance=limits.from_cli(max_cost_per_instance), max_total_cost=max_total_cost,
                      max_steps=limits.from_cli(max_steps), max_time=limits.from_cli(max_time), mirrors=mirrors,
                      spec_files=list(spec_files), online=not offline, redo=redo, evaluate=evaluate, executor=executor,
                      full_tests=full_tests, test_timeout=test_timeout)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    started = time.monotonic()
    with RunDisplay(err, live=model_spec.strip() != "human") as display:  # no bar over a person's turns
        summary = run_batch(opts, display)
    if as_json:
        sys.stdout.write(json.dumps(summary.model_dump(mode="json"), indent=2) + "\n")
    else:
        print_summary(summary)
    if evaluate and summary.stopped != "interrupted":
        write_and_say(opts.out, err=as_json)
    if summary.stopped == "interrupted":
        click.echo(f"patchwright: interrupted after {time.monotonic() - started:.0f} s; run the same command to "
                   "go on", err=True)
        return 130
    return 0 if not summary.not_finished else 1
