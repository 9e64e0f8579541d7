"""The ModelClient interface and the options every client takes.

A client does one attempt in `_complete`; `complete` wraps it with the retry policy, checks the
tool calls against the tools' schemas and prices the usage.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from tools.registry import ToolSpec

from .prices import PriceTable, default_prices
from .retry import RetryPolicy, call_with_retries
from .toolcalls import validate_tool_calls
from .types import Message, ModelTurn


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
    """Seconds one request may take before it is abandoned (and retried)."""
    retry: RetryPolicy = RetryPolicy()
    """Retries after 429, 5xx, timeouts and connection errors."""
    api_key: str | None = None
    """The API key; None reads the provider's environment variable."""
    base_url: str | None = None
    """The API's base URL; None uses the provider's (or the one in the spec after '@')."""
    prompt_cache: bool = True
    """Anthropic: put cache breakpoints on the system prompt, the messages marked `cache`, and the
    last message, so that later turns read the shared prefix from the cache."""


class ModelClient(ABC):
    """A model behind `complete(messages, tools) -> ModelTurn`. Subclasses implement `_complete`,
    one attempt that raises TransientError for what is worth retrying and ModelError otherwise."""

    provider: ClassVar[str]

    def __init__(self, model: str, options: ModelOptions | None = None, prices: PriceTable | None = None):
        self.model = model
        self.options = options or ModelOptions()
        self.prices = prices if prices is not None else default_prices()
        self.sleep: Callable[[float], None] = time.sleep
        """How retries wait (tests may replace it to record the waits)."""

    @property
    def spec(self) -> str:
        return f"{self.provider}:{self.model}"

    def complete(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ModelTurn:
        """One model turn: retried under the policy, tool calls validated, usage priced."""
        start = time.monotonic()
        msgs, specs = list(messages), list(tools)
        turn, attempts = call_with_retries(lambda: self._complete(msgs, specs), self.options.retry,
                                           label=self.spec, sleep=self.sleep)
        cost = turn.cost if turn.cost is not None else self.prices.cost(self.model, turn.usage)
        return replace(turn, tool_calls=validate_tool_calls(turn.tool_calls, specs), cost=cost,
                       model=turn.model or self.model, attempts=attempts, duration=time.monotonic() - start)

    @abstractmethod
    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        """One request to the model."""

    def close(self) -> None:  # noqa: B027 - most clients hold nothing to release
        """Release connections."""

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"
