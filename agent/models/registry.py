"""Model spec strings (`PROVIDER:TARGET`) and the registry of providers that make clients from them.

    anthropic:claude-sonnet-5-5
    openai:gpt-5
    openai:qwen2.5-coder@http://127.0.0.1:8000/v1
    replay:path/to/cassette.jsonl
    replay:DIR                   (batch runs: DIR/INSTANCE_ID.jsonl for each instance)
    human                        (a person at the terminal plays the model)
    relay:DIR[,wait=SECONDS]     (another program answers turn files in DIR)
    oracle                       (replays an instance's gold patch; batch runs only)

A provider is a factory `factory(target, **options) -> ModelClient`, registered under its name
with `register_provider` (the `oracle` is one, registered by `swebench_runner.oracle`: it takes
`gold_patch=` and `read_files=` options; `relay` and `replay` take `instance=`). A stand-in for a
model (`human`, `relay`) registers the name its runs' records carry and a note saying what it is,
so that it is never taken for a hosted model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.errors import UserError

from . import human, relay, replay
from .base import ModelClient, ModelOptions
from .prices import PriceTable

ProviderFactory = Callable[..., ModelClient]
PROVIDERS: dict[str, ProviderFactory] = {}


@dataclass(frozen=True)
class StandIn:
    """A provider that is no hosted model: its turns cost 0 and its runs are labelled."""

    label: str
    """The name trajectories, summaries and predictions carry (`model_name_or_path`)."""
    note: str
    """One sentence saying what plays the model."""


STAND_INS: dict[str, StandIn] = {}

_TARGET = re.compile(r"^(?P<model>[^@\s]+)(?:@(?P<url>.*))?$")


def register_provider(name: str, factory: ProviderFactory, stand_in: StandIn | None = None) -> None:
    """Make `name:TARGET` specs build clients with `factory(target, **options)`; `stand_in` labels a
    provider that is no hosted model."""
    PROVIDERS[name] = factory
    if stand_in is not None:
        STAND_INS[name] = stand_in


def stand_in(spec: str) -> StandIn | None:
    """The label and note of a spec whose provider is a stand-in (`human`, `relay:DIR`), else None."""
    return STAND_INS.get(spec.strip().partition(":")[0])


def model_label(spec: str) -> str:
    """The name a run with `spec` carries in its records: a stand-in's label, else the spec."""
    s = stand_in(spec)
    return s.label if s else spec


def absolute_spec(spec: str) -> str:
    """The spec with a relay directory made absolute, so that workers and resumed runs that start in
    another directory find it; other specs as they are."""
    provider, sep, target = spec.strip().partition(":")
    if provider != "relay" or not sep:
        return spec
    return f"relay:{relay.absolute_target(target)}"


def parse_spec(spec: str) -> tuple[str, str]:
    """(provider, target) of a spec; a UserError for a malformed spec or an unknown provider."""
    known = ", ".join(sorted(PROVIDERS))
    provider, sep, target = spec.strip().partition(":")
    if not sep and provider not in PROVIDERS:
        raise UserError(f"model spec {spec!r} is malformed: write PROVIDER:MODEL, e.g. openai:gpt-5 "
                        f"(providers: {known})")
    if provider not in PROVIDERS:
        raise UserError(f"unknown model provider {provider!r} in {spec!r}; known providers: {known}")
    return provider, target


def split_model_url(provider: str, target: str) -> tuple[str, str | None]:
    """MODEL[@BASE_URL] -> (model, base_url or None); a UserError when either part is malformed."""
    m = _TARGET.match(target)
    if not m:
        raise UserError(f"model spec '{provider}:{target}' is malformed: write {provider}:MODEL or "
                        f"{provider}:MODEL@http://HOST:PORT/PATH")
    url = m["url"]
    if url is not None and not re.match(r"^https?://\S+$", url):
        raise UserError(f"model spec '{provider}:{target}' has a malformed base URL {url!r}: it must start "
                        "with http:// or https://")
    return m["model"], url


def _options(provider: str, target: str, options: dict[str, Any]) -> tuple[str, ModelOptions]:
    model, url = split_model_url(provider, target)
    opts = ModelOptions(**options)
    return model, (opts.model_copy(update={"base_url": url}) if url else opts)


# the SDKs are imported only when a client is made: they take a while to load
def _openai(target: str, *, prices: PriceTable | None = None, **options: Any) -> ModelClient:
    # the SDKs load slowly: imported when a client is made
    from .openai_client import OpenAIModel

    return OpenAIModel(*_options("openai", target, options), prices)


def _anthropic(target: str, *, prices: PriceTable | None = None, **options: Any) -> ModelClient:
    # the SDKs load slowly: imported when a client is made
    from .anthropic_client import AnthropicModel

    return AnthropicModel(*_options("anthropic", target, options), prices)


def _replay(target: str, *, instance: str | None = None, prices: PriceTable | None = None,
            **options: Any) -> ModelClient:
    if not target:
        raise UserError("model spec 'replay:' needs a cassette path: replay:PATH.jsonl (or replay:DIR, one "
                        "DIR/INSTANCE_ID.jsonl per instance of a batch run)")
    return replay.ReplayModel(replay.cassette_for(target, instance), ModelOptions(**options), prices)


register_provider("openai", _openai)
register_provider("anthropic", _anthropic)
register_provider("replay", _replay)
register_provider("human", human.make_human, StandIn(human.LABEL, human.NOTE))
register_provider("relay", relay.make_relay, StandIn(relay.LABEL, relay.NOTE))


def make_model(spec: str, **options: Any) -> ModelClient:
    """The client a spec names. `options` are ModelOptions fields (temperature, max_tokens, timeout,
    retry, api_key, base_url, prompt_cache) plus `prices` (a PriceTable); a provider registered
    later may take others."""
    provider, target = parse_spec(spec)
    return PROVIDERS[provider](target, **options)
