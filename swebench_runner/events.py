"""What a batch run reports as it goes: small frozen values the display matches on by type.

    def show(event: BatchEvent) -> None:
        match event:
            case InstancePhase(instance_id=iid, phase=phase): ...
            case InstanceFinished(record=rec): ...

The workers' events (`InstanceStarted`, `InstancePhase`, `InstanceStep`) cross process and Ray
boundaries, so every event is a plain picklable value. The agent's own events are `agent.events`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class RunPlanned:
    """What this invocation will do, before any instance starts."""

    total: int
    done: int
    """Instances of the selection finished before (skipped)."""
    to_run: int
    model: str
    model_name_or_path: str
    oracle: bool
    note: str | None
    executor: str
    workers: int
    out: str
    cost_before: float
    resolved_before: int
    evaluate: bool


@dataclass(frozen=True)
class InstanceSubmitted:
    instance_id: str
    max_cost: float | None


@dataclass(frozen=True)
class InstanceStarted:
    """A worker took the instance up."""

    instance_id: str


@dataclass(frozen=True)
class InstancePhase:
    """What an instance in flight is doing: `image`, `agent`, a node of the graph, `eval`."""

    instance_id: str
    phase: str


@dataclass(frozen=True)
class InstanceStep:
    """A model turn of an instance is done; its spending so far."""

    instance_id: str
    cost: float | None
    steps: int


@dataclass(frozen=True)
class InstanceFinished:
    record: Any
    """The instance's `swebench_runner.task.InstanceRecord` (finished or not)."""


@dataclass(frozen=True)
class Stopping:
    """No new instance starts; the ones in flight finish."""

    reason: Literal["cost_cap", "interrupted"]
    in_flight: int


@dataclass(frozen=True)
class Cancelling:
    """The instances in flight are abandoned (they run again next time)."""

    in_flight: int


@dataclass(frozen=True)
class RunWarning:
    text: str


@dataclass(frozen=True)
class Grading:
    """Finished instances without a grade are graded now."""

    count: int


@dataclass(frozen=True)
class Graded:
    instance_id: str
    status: str
    """The harness's outcome status (resolved, unresolved, ...)."""


BatchEvent = (RunPlanned | InstanceSubmitted | InstanceStarted | InstancePhase | InstanceStep | InstanceFinished
              | Stopping | Cancelling | RunWarning | Grading | Graded)
OnEvent = Callable[[BatchEvent], None]
"""How the driver (and, through the executor, a worker) reports progress."""
