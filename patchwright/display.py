"""How `patchwright fix` and `patchwright demo` show a run: progress lines on stderr as the agent
works (a spinner on a terminal), and the short human summary at the end."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from agent.events import (
    AttemptEnded,
    AttemptStarted,
    Event,
    Localized,
    NodeStarted,
    SentBack,
    Setup,
    StepTaken,
    TestsRan,
    TestsStarted,
    ToolCalled,
)
from agent.fix import FixOutcome
from agent.models import stand_in

ORDER = ["PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL"]


def counts_of(tally: dict[str, int]) -> str:
    """`3 passed, 2 failed` from tests per status."""
    keys = sorted(tally, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))
    return ", ".join(f"{tally[s]} {s.lower()}" for s in keys) or "no results"


def counts(statuses: dict[str, str] | None) -> str:
    """`3 passed, 2 failed` from statuses per test."""
    if statuses is None:
        return "not run"
    tally: dict[str, int] = {}
    for s in statuses.values():
        tally[s] = tally.get(s, 0) + 1
    return counts_of(tally)


def _args(arguments: dict[str, Any]) -> str:
    for key in ("name", "path", "pattern", "command", "tests"):
        if key in arguments:
            value = arguments[key]
            text = " ".join(value) if isinstance(value, list) else str(value)
            return text if len(text) <= 60 else text[:57] + "..."
    return ""


class Progress:
    """The progress callback of a run (agent.events.Progress): one line per event worth keeping."""

    def __init__(self, console: Console | None = None, live: bool = True):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        live = live and self.console.is_terminal
        self.status = self.console.status("starting", spinner="dots") if live else None
        self.step = 0

    def __enter__(self) -> Progress:
        if self.status:
            self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.status:
            self.status.stop()

    def line(self, text: str) -> None:
        self.console.print(f"  {text}")

    def _spin(self, event: Event) -> None:
        match event:
            case NodeStarted(node=node):
                self.status.update(escape(node))
            case ToolCalled(name=name, arguments=arguments):
                self.status.update(f"{escape(name)} {escape(_args(arguments))}")
            case TestsStarted():
                self.status.update("tests")

    def __call__(self, event: Event) -> None:
        if self.status:
            self._spin(event)
        match event:
            case Setup(text=text):
                self.line(escape(text))
            case AttemptStarted(attempt=attempt, of=of) if of > 1:
                self.console.print(f"[bold]attempt {attempt} of {of}[/]")
            case Localized(files=files, definitions=definitions):
                self.line(f"localized: {escape(', '.join(definitions or files) or '(nothing)')}")
            case ToolCalled(name=name, arguments=arguments):
                self.step += 1
                self.line(f"{name} {escape(_args(arguments))}")
            case StepTaken(calls=[], text=text):
                text = " ".join((text or "").split())
                self.line(f"model: {escape(text[:100])}{'...' if len(text) > 100 else ''}")
            case TestsRan(phase=phase, counts=tally, repro=repro):
                label = {"before": "tests before", "change": "tests on the change", "after": "tests after"}[phase]
                note = f"; reproduction test {repro.lower()}" if repro else ""
                self.line(f"{label}: {counts_of(tally)}{note}")
            case SentBack(round=n):
                self.line(f"review: tests still fail, back to editing (round {n})")
            case AttemptEnded(attempt=attempt, status=status):
                self.line(f"attempt {attempt}: {status}")


def summary(outcome: FixOutcome, console: Console, show_run_dir: bool = True) -> None:
    """The short human summary of a finished run."""
    colour = {"verified": "green", "submitted": "yellow"}.get(outcome.status, "red")
    chosen = f" (attempt {outcome.attempt} of {len(outcome.attempts)})" if len(outcome.attempts) > 1 else ""
    console.print(f"status: [bold {colour}]{outcome.status}[/]{chosen}")
    if outcome.message:
        console.print(f"  {escape(outcome.message)}")
    console.print(f"files changed: {escape(', '.join(outcome.files_changed)) or '(none)'}")
    if outcome.left_out:
        console.print(f"left out of the patch: {escape(', '.join(outcome.left_out))}")
    if outcome.test_command:
        console.print(f"tests: {escape(outcome.test_command)}")
        console.print(f"  before: {counts(outcome.tests_before)}")
        console.print(f"  after:  {counts(outcome.tests_after)}")
    else:
        console.print("tests: no test command found (pass --test-cmd)")
    if outcome.environment:
        console.print(f"[yellow]{escape(outcome.environment)}[/] (patchwright env --check says more)")
    cost = "unknown" if outcome.cost is None else f"${outcome.cost:.4f}"
    if (played := stand_in(outcome.model)) is not None:
        cost += f" ({played.label}: not a priced model)"
    console.print(f"steps: {outcome.steps}, tokens: {outcome.tokens}, cost: {cost}, model: {escape(outcome.model)}")
    if outcome.applied:
        console.print("applied to your working tree")
    elif outcome.apply_note:
        console.print(f"[red]not applied:[/] {escape(outcome.apply_note)}")
    if show_run_dir:
        console.print(f"run directory: {escape(outcome.run_dir)} (patch.diff, trajectory.jsonl, summary.json)")
