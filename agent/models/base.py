"""The ModelClient interface and the options every client takes.

A client does one attempt in `_complete`; `complete` wraps it with the retry policy and a wall-clock
limit per request, checks the answer (its size, its usage: agent.models.sanity), checks the tool
calls against the tools' schemas and prices the usage.

The limit is wall-clock time, not a socket timeout: a server that trickles one byte every few
seconds never trips a read timeout, so a client that talks to a server (`remote`) runs each request
in a worker thread and abandons it at the limit (its connections are closed, the SDK client made
anew). The limit is `timeout`, or the caller's `deadline` when that comes first.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from tools.registry import ToolSpec

from .errors import DeadlineExceeded, TransientError
from .prices import PriceTable, default_prices
from .retry import RetryPolicy, call_with_retries
from .sanity import capped_turn, checked_cost, checked_usage, turn_chars
from .toolcalls import validate_tool_calls
from .types import Message, ModelTurn

T = TypeVar("T")


class ModelOptions(BaseModel):
    """Options for any model client (`make_model(spec, **options)`); providers ignore what they do
    not use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = None
    """Sampling temperature, OpenAI-style servers only; None leaves the default (OpenAI reasoning
    models accept no other). Anthropic ignores it: its current models refuse non-default sampling."""
    max_tokens: int | None = None
    """Cap of generated tokens per call. None: Anthropic gets 8192 (it needs a value), OpenAI none."""
    timeout: float = 300.0
    """Seconds of wall time one request may take before it is abandoned (and retried)."""
    max_response_chars: int = 500_000
    """Characters an answer may hold (text and tool-call arguments); more is cut, with a note to the
    model and a warning in the trajectory (agent.models.sanity)."""
    retry: RetryPolicy = RetryPolicy()
    """Retries after 429, 5xx, timeouts and connection errors."""
    api_key: str | None = None
    """The API key; None reads the provider's environment variable."""
    base_url: str | None = None
    """The API's base URL; None uses the provider's (or the one in the spec after '@')."""
    prompt_cache: bool = True
    """Anthropic: put cache breakpoints on the system prompt, the messages marked `cache`, and the
    last message, so that later turns read the shared prefix from the cache."""


ATTEMPT_TEMPERATURE = 0.8
"""Temperature of attempts after the first, where the provider takes one (OpenAI-style servers)."""


class ModelClient(ABC):
    """A model behind `complete(messages, tools) -> ModelTurn`. Subclasses implement `_complete`,
    one attempt that raises TransientError for what is worth retrying and ModelError otherwise."""

    provider: ClassVar[str]
    remote: ClassVar[bool] = False
    """Whether requests go to a server (and so run in a worker thread, abandoned at the limit)."""

    def __init__(self, model: str, options: ModelOptions | None = None, prices: PriceTable | None = None):
        self.model = model
        self.options = options or ModelOptions()
        self.prices = prices if prices is not None else default_prices()
        self.sleep: Callable[[float], None] = time.sleep
        """How retries wait (tests may replace it to record the waits)."""

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"

    def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), *,
                 deadline: float | None = None) -> ModelTurn:
        """One model turn: retried under the policy, each request within `timeout` seconds of wall
        time, all of it before `deadline` (a time.monotonic() value, e.g. the end of a time budget:
        DeadlineExceeded when it passes); the answer's size and usage checked, tool calls validated,
        usage priced."""
        start = time.monotonic()
        msgs, specs = list(messages), list(tools)
        turn, attempts = call_with_retries(lambda: self._attempt(msgs, specs, deadline), self.options.retry,
                                           label=self.spec, sleep=self.sleep, deadline=deadline)
        request = sum(len(m.content) + sum(len(c.arguments_json()) for c in m.tool_calls) for m in msgs)
        usage, warnings = checked_usage(turn.usage, request, turn_chars(turn))
        turn, capped = capped_turn(turn, self.options.max_response_chars)
        cost, costed = checked_cost(turn.cost, lambda: self.prices.cost(self.model, usage))
        return replace(turn, tool_calls=validate_tool_calls(turn.tool_calls, specs), usage=usage, cost=cost,
                       model=turn.model or self.model, attempts=attempts, duration=time.monotonic() - start,
                       warnings=[*turn.warnings, *warnings, *capped, *costed])

    def _attempt(self, messages: list[Message], tools: list[ToolSpec], deadline: float | None) -> ModelTurn:
        """One request, abandoned at the timeout (TransientError: retried) or at the deadline."""
        limit = self.options.timeout
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded(f"{self.spec}: the deadline passed before the call could be made")
            limit = min(limit, left)
        if not self.remote:
            return self._complete(messages, tools)
        try:
            return _within(limit, lambda: self._complete(messages, tools))
        except _Abandoned:
            self._abandon()
        if deadline is not None and time.monotonic() >= deadline - 0.05:
            raise DeadlineExceeded(f"{self.spec}: no answer before the deadline ({limit:.1f} s); the call was abandoned")
        raise TransientError(f"no answer within the {self.options.timeout:g} s timeout (wall clock); abandoned")

    def _new_client(self) -> Any:
        """A remote client's SDK client (kept in `_client`)."""
        raise NotImplementedError

    def _abandon(self) -> None:
        """Drop the connections of a request given up on: the SDK client is made anew and the old one
        closed, which ends the abandoned request's connection."""
        old, self._client = self._client, self._new_client()
        old.close()

    @abstractmethod
    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        """One request to the model."""

    def for_attempt(self, attempt: int) -> ModelClient:
        """The client for a run's attempt `attempt` (1-based): this one, unless the provider varies
        later attempts (OpenAI-style servers sample them at ATTEMPT_TEMPERATURE)."""
        return self

    def resume_at(self, turns: int) -> None:  # noqa: B027 - most clients answer anew, whatever came before
        """A resumed run made `turns` model calls before: a client that plays recorded turns goes on
        after them; the others have nothing to do."""

    def close(self) -> None:  # noqa: B027 - most clients hold nothing to release
        """Release connections."""

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"


class _Abandoned(Exception):
    pass


def _within(seconds: float, fn: Callable[[], T]) -> T:
    """fn() run in a daemon thread; _Abandoned if it has not returned after `seconds` (the thread is
    left to end on its own once its connection is closed)."""
    box: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="model-request", daemon=True).start()
    if not done.wait(max(seconds, 0.0)):
        raise _Abandoned
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
