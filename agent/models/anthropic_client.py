"""`anthropic:MODEL[@BASE_URL]`: the Messages API with tool use and prompt caching, through the
`anthropic` SDK.

Caching: the cache prefix runs tools -> system -> messages. Breakpoints (`cache_control`) go on
the system prompt (covering the tools too), on the messages marked `cache` (the stable repository
context; the last two such), and on the last message, so each turn reads everything before it
from the cache and writes only what is new. That is four breakpoints at most, the API's limit.

Sampling parameters are not sent: current Claude models refuse non-default ones, and the SDK no
longer takes `temperature`. Answers holding thinking blocks keep them (`ModelTurn.native`), and
they go back verbatim, as the API requires within a tool-use loop.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic

from tools.registry import ToolSpec

from .base import ModelClient, ModelOptions
from .errors import MissingAPIKey
from .prices import PriceTable
from .retry import sdk_error
from .toolcalls import from_object
from .types import Message, ModelTurn, Usage

KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 8192
CACHE = {"type": "ephemeral"}


def _blocks(m: Message) -> list[dict[str, Any]]:
    if m.native and "anthropic" in m.native:  # thinking blocks and all, as the API returned them
        return [dict(b) for b in m.native["anthropic"]]
    if m.role == "tool":
        return [{"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content or "(no output)",
                 **({"is_error": True} if m.is_error else {})}]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": m.content}] if m.content else []
    for c in m.tool_calls:
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
    return blocks or [{"type": "text", "text": "(empty)"}]


def to_anthropic(messages: list[Message], cache: bool = True) -> tuple[list[dict], list[dict]]:
    """(system blocks, messages) in the Messages API's form, with cache breakpoints when `cache`.
    Consecutive messages of one role (tool results and the user text after them) are merged."""
    system = [{"type": "text", "text": m.content} for m in messages if m.role == "system" and m.content]
    turns: list[dict[str, Any]] = []
    marked: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        blocks = _blocks(m)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
        if m.cache:
            marked.append(blocks[-1])
    if cache:
        if system:
            system[-1]["cache_control"] = CACHE
        tail = [turns[-1]["content"][-1]] if turns else []
        for block in marked[-2:] + tail:
            block["cache_control"] = CACHE
    return system, turns


class AnthropicModel(ModelClient):
    remote = True
    provider = "anthropic"

    def __init__(self, model: str, options: ModelOptions | None = None, prices: PriceTable | None = None):
        super().__init__(model, options, prices)
        key = self.options.api_key or os.environ.get(KEY_ENV)
        if not key:
            raise MissingAPIKey(f"{self.spec} needs an API key: set {KEY_ENV}")
        self._key = key
        self._client = self._new_client()

    def _new_client(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key=self._key, base_url=self.options.base_url,
                                   timeout=self.options.timeout, max_retries=0)

    @property
    def spec(self) -> str:
        url = f"@{self.options.base_url}" if self.options.base_url else ""
        return f"anthropic:{self.model}{url}"

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        system, turns = to_anthropic(messages, self.options.prompt_cache)
        kwargs: dict[str, Any] = {"model": self.model, "messages": turns,
                                  "max_tokens": self.options.max_tokens or DEFAULT_MAX_TOKENS}
        if system:
            kwargs["system"] = system
        if tools:
            kwargs["tools"] = [t.anthropic_schema() for t in tools]
        try:
            resp = self._client.messages.create(**kwargs)
        except anthropic.AnthropicError as exc:
            raise sdk_error(exc, anthropic, self.spec, KEY_ENV, self.options.timeout) from exc
        text = "".join(b.text for b in resp.content if b.type == "text")
        native = None
        if any(b.type not in ("text", "tool_use") for b in resp.content):
            native = {"anthropic": [b.model_dump(mode="json", exclude_none=True) for b in resp.content]}
        calls = [from_object(b.id, b.name, b.input) for b in resp.content if b.type == "tool_use"]
        u = resp.usage
        read, write = u.cache_read_input_tokens or 0, u.cache_creation_input_tokens or 0
        usage = Usage(input_tokens=u.input_tokens + read + write, output_tokens=u.output_tokens,
                      cache_read_tokens=read, cache_write_tokens=write)
        return ModelTurn(text=text, tool_calls=calls, usage=usage, model=resp.model or self.model,
                         stop_reason=resp.stop_reason or "", native=native)

    def close(self) -> None:
        self._client.close()
