"""What a call costs: a price table in US dollars per million tokens, extensible by the user.

The built-in table below holds the providers' published list prices (standard tier, 5-minute
cache writes; long-context surcharges are not modelled). A user file adds or overrides entries: the file named by `PATCHWRIGHT_PRICES`, or
else `$XDG_CONFIG_HOME/patchwright/prices.yaml` (default `~/.config/patchwright/prices.yaml`) when
it exists. It is YAML or JSON, a mapping from model name to prices:

    my-local-model: {input: 0, output: 0}
    gpt-5: {input: 1.25, output: 10.0, cache_read: 0.125}

A model is found by its exact name, else by the longest entry that is a prefix of it followed by
"-" (so `claude-sonnet-4-5-20250929` uses `claude-sonnet-4-5`, while `gpt-5.4` is not `gpt-5`). A model that is not found has cost
None ("unknown"), logged once per table and model; the run goes on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from sandbox.errors import UserError

from .types import Usage

log = logging.getLogger("agent.models")

PRICES_ENV = "PATCHWRIGHT_PRICES"


class Price(BaseModel):
    """Prices of one model in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float
    """Uncached prompt tokens."""
    output: float
    """Generated tokens (reasoning tokens included)."""
    cache_read: float | None = None
    """Prompt tokens read from the cache; None means the input price."""
    cache_write: float | None = None
    """Prompt tokens written to the cache; None means the input price."""


def _claude(inp: float, out: float, read: float | None = None) -> Price:
    """Anthropic: 5-minute cache writes at 1.25x input; reads at 0.1x unless given."""
    return Price(input=inp, output=out, cache_read=inp / 10 if read is None else read, cache_write=inp * 1.25)


def _gpt(inp: float, out: float, cached: float) -> Price:
    """OpenAI: cached input at its own price; caching writes nothing extra."""
    return Price(input=inp, output=out, cache_read=cached)


# Published list prices (USD per million tokens, standard tier), as of 2026-11. Check the providers'
# pricing pages before relying on them; override or extend them in a price file.
DEFAULT_PRICES: dict[str, Price] = {
    "claude-fable-5-1": _claude(10.0, 50.0, read=0.25),
    "claude-fable-5": _claude(10.0, 50.0, read=1.0),
    "claude-opus-5-5": _claude(4.0, 20.0, read=0.20),
    "claude-opus-5": _claude(5.0, 25.0),
    "claude-opus-4-8": _claude(5.0, 25.0),
    "claude-opus-4-7": _claude(5.0, 25.0),
    "claude-opus-4-6": _claude(5.0, 25.0),
    "claude-opus-4-5": _claude(5.0, 25.0),
    "claude-opus-4-1": _claude(15.0, 75.0),
    "claude-opus-4": _claude(15.0, 75.0),
    "claude-sonnet-5-5": _claude(2.0, 10.0, read=0.10),
    "claude-sonnet-5": _claude(2.0, 10.0),
    "claude-sonnet-4-6": _claude(3.0, 15.0),
    "claude-sonnet-4-5": _claude(3.0, 15.0),
    "claude-sonnet-4": _claude(3.0, 15.0),
    # Haiku 5.5 costs $0.10/$0.50 up to 100k prompt tokens and more above: priced at the upper band,
    # so that budgets over-estimate rather than under-estimate
    "claude-haiku-5-5": _claude(0.50, 2.50, read=0.05),
    "claude-haiku-4-5": _claude(1.0, 5.0),
    "gpt-5.5": _gpt(5.0, 30.0, 0.50),
    "gpt-5.4": _gpt(2.50, 15.0, 0.25),
    "gpt-5.4-mini": _gpt(0.75, 4.50, 0.075),
    "gpt-5.4-nano": _gpt(0.20, 1.25, 0.02),
    "gpt-5": _gpt(1.25, 10.0, 0.125),
    "gpt-5-mini": _gpt(0.25, 2.0, 0.025),
    "gpt-5-nano": _gpt(0.05, 0.40, 0.005),
    "gpt-4.1": _gpt(2.0, 8.0, 0.50),
    "gpt-4.1-mini": _gpt(0.40, 1.60, 0.10),
    "gpt-4o": _gpt(2.50, 10.0, 1.25),
    "gpt-4o-mini": _gpt(0.15, 0.60, 0.075),
}


class PriceTable:
    """Model name -> Price, with cost computation and a once-per-model warning for unknown ones."""

    def __init__(self, prices: Mapping[str, Price]):
        self.prices = dict(prices)
        self._warned: set[str] = set()

    def lookup(self, model: str) -> Price | None:
        if model in self.prices:
            return self.prices[model]
        best = max((k for k in self.prices if model.startswith(k + "-")), key=len, default=None)
        return self.prices[best] if best else None

    def cost(self, model: str, usage: Usage) -> float | None:
        """Dollars for `usage` on `model`, None (and a warning the first time) when it is not priced."""
        price = self.lookup(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                log.warning("no price known for model %r: its cost is reported as unknown and dollar "
                            "budgets cannot limit it; add it to a price file (%s)", model, PRICES_ENV)
            return None
        read, write = usage.cache_read_tokens, usage.cache_write_tokens
        uncached = max(usage.input_tokens - read - write, 0)
        dollars = (uncached * price.input + usage.output_tokens * price.output
                   + read * (price.input if price.cache_read is None else price.cache_read)
                   + write * (price.input if price.cache_write is None else price.cache_write))
        return dollars / 1_000_000

    def extended(self, prices: Mapping[str, Price]) -> PriceTable:
        return PriceTable({**self.prices, **prices})


def read_price_file(path: str | Path) -> dict[str, Price]:
    """Entries of a user price file (YAML or JSON). A malformed file is a UserError naming it."""
    p = Path(path).expanduser()
    try:
        text = p.read_text()
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise UserError(f"cannot read price file {p}: {exc.strerror or exc}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise UserError(f"price file {p} is not valid {'JSON' if p.suffix == '.json' else 'YAML'}: "
                        f"{' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise UserError(f"price file {p} must map model names to prices, e.g. 'my-model: {{input: 1, output: 2}}'")
    entries = {}
    for name, entry in data.items():
        try:
            entries[str(name)] = Price.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join([str(name), *(str(x) for x in err["loc"])])
            raise UserError(f"price file {p}: {where}: {err['msg']} (fields: input, output, cache_read, "
                            f"cache_write in USD per million tokens)") from None
    return entries


def user_price_file() -> Path | None:
    """The user's price file: $PATCHWRIGHT_PRICES, else the config-directory file when it exists."""
    named = os.environ.get(PRICES_ENV)
    if named:
        return Path(named)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = base / "patchwright" / "prices.yaml"
    return default if default.is_file() else None


def default_prices() -> PriceTable:
    """The built-in table extended by the user's price file (read once per file path)."""
    path = user_price_file()
    return _table(str(path) if path else None)


@cache
def _table(path: str | None) -> PriceTable:
    table = PriceTable(DEFAULT_PRICES)
    return table.extended(read_price_file(path)) if path else table
