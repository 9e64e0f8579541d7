"""`replay:PATH`: plays a recorded cassette, one JSONL line per model turn.

    {"text": "Let me look.", "tool_calls": [{"name": "view_file", "arguments": {"path": "a.py"}}]}
    {"text": "Done.", "usage": {"input_tokens": 1200, "output_tokens": 40}, "cost": 0.02}

`arguments` is an object (or a string, taken as the raw JSON text the model wrote, so a cassette
can hold a malformed call); `id` is optional. `usage` and `cost` are optional: a replayed turn
costs what its line says, else nothing. Blank lines are skipped. Asking for more turns than the
cassette holds is a ReplayExhausted error that says so.

`replay:DIR` (a directory) serves batch runs: each instance plays DIR/INSTANCE_ID.jsonl. A relay
directory becomes such cassettes with `patchwright cassette` (relay.cassette_lines).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.errors import UserError
from tools.registry import ToolSpec

from .base import ModelClient, ModelOptions
from .errors import ReplayExhausted
from .prices import PriceTable
from .toolcalls import from_object, parse_arguments
from .types import Message, ModelTurn, ToolCall, Usage


class CassetteCall(BaseModel):
    """One recorded tool call."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The tool's name."""
    arguments: Any = Field(default_factory=dict)
    """An object, or a string of raw JSON text (possibly malformed)."""
    id: str | None = None
    """The call's id; None makes one up from the turn and position."""


class CassetteTurn(BaseModel):
    """One recorded model turn: a line of the cassette."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    """What the model said."""
    tool_calls: list[CassetteCall] = Field(default_factory=list)
    """The tools it called, in order."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Optional tokens: input_tokens, output_tokens, cache_read_tokens, cache_write_tokens."""
    cost: float | None = None
    """Optional dollars the turn costs (default 0: a replay is free)."""
    stop_reason: str = ""
    """Optional stop reason to report."""


def read_cassette(path: Path) -> list[CassetteTurn]:
    """The turns of a cassette; a UserError naming the line when one is malformed."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read replay cassette {path}: {exc.strerror or exc}") from None
    turns = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            turns.append(CassetteTurn.model_validate(json.loads(line)))
        except ValueError as exc:  # JSON and validation errors alike
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise UserError(f"replay cassette {path} line {n} is malformed: {detail}") from None
    return turns


def cassette_for(target: str, instance: str | None = None) -> Path:
    """The cassette `replay:TARGET` plays: TARGET itself, or DIR/INSTANCE_ID.jsonl when TARGET is a
    directory (batch runs pass the instance); a UserError when that cassette is missing."""
    path = Path(target).expanduser()
    if not path.is_dir():
        return path
    if instance is None:
        raise UserError(f"replay:{target} is a directory of cassettes, one per instance of `patchwright run`; "
                        "name one cassette file here: replay:FILE.jsonl")
    cassette = path / f"{instance}.jsonl"
    if "/" in instance or instance in (".", "..") or not cassette.is_file():
        raise UserError(f"replay:{target} has no cassette for instance {instance} (looked for {cassette})")
    return cassette


class ReplayModel(ModelClient):
    provider = "replay"

    def __init__(self, path: str | Path, options: ModelOptions | None = None, prices: PriceTable | None = None):
        super().__init__(str(path), options, prices if prices is not None else PriceTable({}))
        self.path = Path(path)
        self.turns = read_cassette(self.path)
        self.played = 0

    def resume_at(self, turns: int) -> None:
        self.played = turns

    @property
    def remaining(self) -> int:
        return len(self.turns) - self.played

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        if self.played >= len(self.turns):
            raise ReplayExhausted(f"{self.spec}: the cassette's {len(self.turns)} turn(s) are all played and "
                                  f"the run asked for turn {self.played + 1}; record more turns or lower the "
                                  "step budget")
        t = self.turns[self.played]
        self.played += 1
        calls: list[ToolCall] = []
        for i, c in enumerate(t.tool_calls):
            call_id = c.id or f"replay-{self.played}-{i}"
            calls.append(parse_arguments(call_id, c.name, c.arguments) if isinstance(c.arguments, str)
                         else from_object(call_id, c.name, c.arguments))
        try:
            usage = Usage(**t.usage)
        except TypeError:
            raise UserError(f"replay cassette {self.path} turn {self.played}: usage keys are input_tokens, "
                            "output_tokens, cache_read_tokens, cache_write_tokens") from None
        return ModelTurn(text=t.text, tool_calls=calls, usage=usage, cost=t.cost if t.cost is not None else 0.0,
                         model="replay", stop_reason=t.stop_reason or ("tool_use" if calls else "end_turn"))
