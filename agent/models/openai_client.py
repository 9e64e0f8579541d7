"""`openai:MODEL[@BASE_URL]`: chat completions with tool calling through the `openai` SDK.

With a base URL it speaks to any OpenAI-compatible server (vLLM, Ollama, llama.cpp server); such
servers often need no key, so OPENAI_API_KEY is only required without one. OpenAI caches prompt
prefixes by itself; cached tokens are reported as cache reads.
"""

from __future__ import annotations

import os
from typing import Any

import openai

from tools.registry import ToolSpec

from .base import ATTEMPT_TEMPERATURE, ModelClient, ModelOptions
from .errors import MissingAPIKey, ModelError
from .prices import PriceTable
from .retry import sdk_error
from .toolcalls import parse_arguments
from .types import Message, ModelTurn, Usage

KEY_ENV = "OPENAI_API_KEY"


def to_openai(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": m.content or None}
            if m.tool_calls:
                msg["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments_json()}}
                                     for c in m.tool_calls]
            out.append(msg)
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class OpenAIModel(ModelClient):
    remote = True
    provider = "openai"

    def __init__(self, model: str, options: ModelOptions | None = None, prices: PriceTable | None = None):
        super().__init__(model, options, prices)
        key = self.options.api_key or os.environ.get(KEY_ENV)
        if not key:
            if not self.options.base_url:
                raise MissingAPIKey(f"{self.spec} needs an API key: set {KEY_ENV} (a server named by "
                                    "openai:MODEL@URL needs none)")
            key = "none"  # OpenAI-compatible servers usually ignore it, the SDK insists on one
        self._key = key
        self._client = self._new_client()

    def for_attempt(self, attempt: int) -> ModelClient:
        if attempt == 1:
            return self
        return OpenAIModel(self.model, self.options.model_copy(update={"temperature": ATTEMPT_TEMPERATURE}),
                           self.prices)

    def _new_client(self) -> openai.OpenAI:
        return openai.OpenAI(api_key=self._key, base_url=self.options.base_url, timeout=self.options.timeout,
                             max_retries=0)

    @property
    def spec(self) -> str:
        url = f"@{self.options.base_url}" if self.options.base_url else ""
        return f"openai:{self.model}{url}"

    def _complete(self, messages: list[Message], tools: list[ToolSpec]) -> ModelTurn:
        kwargs: dict[str, Any] = {"model": self.model, "messages": to_openai(messages)}
        if tools:
            kwargs["tools"] = [t.openai_schema() for t in tools]
        if self.options.temperature is not None:
            kwargs["temperature"] = self.options.temperature
        if self.options.max_tokens is not None:
            # OpenAI's own API wants the newer name; compatible servers know the older one
            kwargs["max_tokens" if self.options.base_url else "max_completion_tokens"] = self.options.max_tokens
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            raise sdk_error(exc, openai, self.spec, KEY_ENV, self.options.timeout) from exc
        if not resp.choices:
            raise ModelError(f"{self.spec}: the answer held no choices")
        choice = resp.choices[0]
        calls = [parse_arguments(tc.id, tc.function.name, tc.function.arguments)
                 for tc in choice.message.tool_calls or [] if getattr(tc, "function", None) is not None]
        return ModelTurn(text=choice.message.content or "", tool_calls=calls, usage=_usage(resp.usage),
                         model=resp.model or self.model, stop_reason=choice.finish_reason or "")

    def close(self) -> None:
        self._client.close()


def _usage(u: Any) -> Usage:
    if u is None:
        return Usage()
    details = u.prompt_tokens_details
    return Usage(input_tokens=u.prompt_tokens or 0, output_tokens=u.completion_tokens or 0,
                 cache_read_tokens=(details.cached_tokens or 0) if details else 0,
                 cache_write_tokens=(getattr(details, "cache_write_tokens", None) or 0) if details else 0)
