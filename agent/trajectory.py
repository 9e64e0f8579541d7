"""The trajectory of a run: one JSON line per step, appended, flushed and fsynced as it happens.

A crash loses at most the step being written. A torn last line (a crash mid-write) is skipped by
the reader and cut off when a writer reopens the file, so a resumed run appends cleanly and keeps
numbering steps where the file stopped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from sandbox.errors import UserError
from tools.registry import ToolSpec

from .models.types import Message, ModelTurn
from .secrets import NO_SECRETS, Redactor

PREVIEW = 500


class Observation(BaseModel):
    """What a tool call returned."""

    tool_call_id: str
    """The call it answers."""
    name: str
    """The tool."""
    output: str
    """The text sent back to the model."""
    is_error: bool = False
    """True when the call failed or was malformed."""

    @classmethod
    def of(cls, message: Message) -> Observation:
        """The observation a tool-result message carries."""
        return cls(tool_call_id=message.tool_call_id, name=message.name, output=message.content,
                   is_error=message.is_error)


class Step(BaseModel):
    """One line of the trajectory."""

    step: int
    """0-based index of the step in the run."""
    node: str
    """The graph node that made it (index, localize, edit, test, review, submit, ...)."""
    time: str
    """When it was written (ISO 8601, UTC)."""
    elapsed: float
    """Seconds since the run started."""
    duration: float | None = None
    """Seconds the step took, when measured."""
    request: dict[str, Any] | None = None
    """Summary of the model request: message count, characters, tools, the last message's preview."""
    response: dict[str, Any] | None = None
    """The model's turn: text, tool calls (with errors), stop reason, model, attempts."""
    observations: list[Observation] = Field(default_factory=list)
    """What the tool calls returned."""
    usage: dict[str, int] | None = None
    """Tokens of the model call."""
    cost: float | None = None
    """Dollars of the model call; None when unknown or when no model was called."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Anything else the node records (files found, test results, status)."""


def summarize_request(messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> dict[str, Any]:
    """A compact description of a model request (the full prompt is not repeated every step)."""
    last = messages[-1] if messages else None
    return {"messages": len(messages), "chars": sum(len(m.content) for m in messages),
            "tools": [t.name for t in tools],
            "last": {"role": last.role, "content": last.content[:PREVIEW]} if last else None}


class TrajectoryWriter:
    """Appends steps to a JSONL file; each write is flushed and fsynced before it returns. Every
    string of a step is scrubbed of the redactor's secrets before it is written."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.monotonic,
                 redactor: Redactor = NO_SECRETS):
        self.path = Path(path)
        self.redactor = redactor
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(self.path)
        previous = read_trajectory(self.path) if self.path.exists() else []
        self.next_step = previous[-1].step + 1 if previous else 0
        self._clock = clock
        self._start = clock() - (previous[-1].elapsed if previous else 0.0)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, node: str, *, messages: Sequence[Message] | None = None, tools: Sequence[ToolSpec] = (),
              turn: ModelTurn | None = None, observations: Sequence[Observation] = (),
              duration: float | None = None, **data: Any) -> Step:
        """Record one step: the request (summarized from `messages`), the model's `turn`, the tool
        observations, and any other `data`."""
        step = Step(step=self.next_step, node=node, time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                    elapsed=round(self._clock() - self._start, 3), duration=duration,
                    request=summarize_request(messages, tools) if messages is not None else None,
                    response=turn.to_dict() if turn else None, observations=list(observations),
                    usage=turn.usage.to_dict() if turn else None, cost=turn.cost if turn else None, data=data)
        line = step.model_dump_json() if not self.redactor else json.dumps(
            self.redactor.scrub_obj(step.model_dump(mode="json")), ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.next_step += 1
        return step

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line without its newline (a write interrupted by a crash)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def read_trajectory(path: str | Path) -> list[Step]:
    """The steps of a trajectory file. A torn last line is skipped; any other malformed line is a
    UserError naming it."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise UserError(f"cannot read trajectory {p}: {exc.strerror or exc}") from None
    steps = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            steps.append(Step.model_validate(json.loads(line)))
        except ValueError as exc:
            if n == len(lines):  # the last line, without its newline: torn by a crash
                break
            raise UserError(f"trajectory {p} line {n} is malformed: {' '.join(str(exc).split())[:200]}") from None
    return steps
