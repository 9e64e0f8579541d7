"""Provider-neutral values: messages, tool calls, usage and one model turn.

Clients translate these to and from each provider's wire format; the graph, the budget and the
trajectory only ever see these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for. `error` is set when the call is malformed (arguments that are not
    JSON, an unknown tool, arguments that do not fit the schema): the loop sends it back to the
    model as the observation instead of running the tool. `raw_arguments` keeps the model's text
    when it was not a JSON object, so the conversation can be echoed back faithfully."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    raw_arguments: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(id=d["id"], name=d["name"], arguments=dict(d.get("arguments") or {}), error=d.get("error"),
                   raw_arguments=d.get("raw_arguments"))

    def arguments_json(self) -> str:
        """The arguments as the wire carries them: the model's own text when it was malformed."""
        return self.raw_arguments if self.raw_arguments is not None else json.dumps(self.arguments)


@dataclass(frozen=True)
class Message:
    """One message of a conversation. Build them with the constructors below.

    `cache` marks a prompt-cache breakpoint after this message (used by Anthropic; OpenAI caches
    prefixes by itself): set it on the stable repository-context message. System prompts always
    get a breakpoint. `native` holds a provider's own rendering of an assistant message, keyed by
    provider, sent back verbatim to that provider (Anthropic's thinking blocks must be)."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""
    is_error: bool = False
    cache: bool = False
    native: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tool_calls, tuple):  # serializers (langgraph's msgpack) hand back lists
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", text)

    @classmethod
    def user(cls, text: str, *, cache: bool = False) -> Message:
        return cls("user", text, cache=cache)

    @classmethod
    def assistant(cls, text: str = "", tool_calls: Iterable[ToolCall] = (),
                  native: dict[str, Any] | None = None) -> Message:
        return cls("assistant", text, tool_calls=tuple(tool_calls), native=native)

    @classmethod
    def tool(cls, call: ToolCall, output: str, *, is_error: bool = False) -> Message:
        """The observation for `call`: the tool's output, or its error (is_error=True)."""
        return cls("tool", output, tool_call_id=call.id, name=call.name, is_error=is_error)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        for key in ("tool_call_id", "name", "is_error", "cache", "native"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(role=d["role"], content=d.get("content", ""),
                   tool_calls=tuple(ToolCall.from_dict(c) for c in d.get("tool_calls", [])),
                   tool_call_id=d.get("tool_call_id", ""), name=d.get("name", ""),
                   is_error=bool(d.get("is_error")), cache=bool(d.get("cache")), native=d.get("native"))


@dataclass(frozen=True)
class Usage:
    """Tokens of one call (or a sum of calls). `input_tokens` counts every prompt token, cached or
    not; `cache_read_tokens` and `cache_write_tokens` are the parts of it read from and written to
    the provider's prompt cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
                     self.cache_read_tokens + other.cache_read_tokens,
                     self.cache_write_tokens + other.cache_write_tokens)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class ModelTurn:
    """What one `complete` call returned. `cost` is in US dollars, None when the model's price is
    unknown. `attempts` counts the requests made (retries included); `duration` is in seconds.
    `native` is the provider's own form of the answer when it holds more than text and tool calls
    (Anthropic thinking blocks), to be sent back verbatim. `warnings` say what was corrected in the
    server's answer (usage that cannot be right, an answer over the size limit; agent.models.sanity)."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    model: str = ""
    stop_reason: str = ""
    attempts: int = 1
    duration: float = 0.0
    native: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def message(self) -> Message:
        """The assistant message to append to the conversation."""
        return Message.assistant(self.text, self.tool_calls, self.native)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "tool_calls": [c.to_dict() for c in self.tool_calls],
                "usage": self.usage.to_dict(), "cost": self.cost, "model": self.model,
                "stop_reason": self.stop_reason, "attempts": self.attempts, "duration": round(self.duration, 3),
                **({"native": self.native} if self.native else {}),
                **({"warnings": list(self.warnings)} if self.warnings else {})}
