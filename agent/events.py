"""What a run reports as it goes: small frozen values a display matches on by type.

    def show(event: Event) -> None:
        match event:
            case ToolCalled(name=name): ...
            case TestsRan(phase="after", counts=counts): ...

The model's text and tool arguments are scrubbed of secrets before an event is made (agent.secrets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Phase = Literal["before", "change", "after"]
"""Which test run: the suite before any change, the tests covering the change, the suite on the patch."""


@dataclass(frozen=True)
class Setup:
    """Preparing the workspace (an image pulled or built, a copy made): one line of text."""

    text: str


@dataclass(frozen=True)
class AttemptStarted:
    attempt: int
    of: int


@dataclass(frozen=True)
class NodeStarted:
    """A node of the graph (index, localize, edit, test, review, submit) starts."""

    node: str
    attempt: int | None


@dataclass(frozen=True)
class Localized:
    files: list[str]
    definitions: list[str]


@dataclass(frozen=True)
class ToolCalled:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class StepTaken:
    """A model turn of the edit loop and its tool calls are done; the run's spending so far."""

    calls: list[str]
    """The tools it called (none: the model is done)."""
    text: str
    steps: int
    cost: float


@dataclass(frozen=True)
class TestsStarted:
    phase: Phase
    command: str
    targets: list[str] | None = None


@dataclass(frozen=True)
class TestsRan:
    phase: Phase
    counts: dict[str, int] = field(default_factory=dict)
    """Tests per status, the reproduction test left out."""
    repro: str | None = None
    """The reproduction test's status, when there is one."""


@dataclass(frozen=True)
class SentBack:
    """The review sent a failing change back to the edit loop."""

    round: int
    failing: int


@dataclass(frozen=True)
class AttemptEnded:
    attempt: int
    status: str
    files: list[str]


Event = Setup | AttemptStarted | NodeStarted | Localized | ToolCalled | StepTaken | TestsStarted | TestsRan | \
    SentBack | AttemptEnded
Progress = Callable[[Event], None]
"""Called with each event as the run goes."""


def quiet(event: Event) -> None:
    pass
