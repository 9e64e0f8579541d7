"""What a server says is checked before it is counted or kept: token usage, cost and size.

A server may report usage that is negative, not a number, or absurd (more tokens than any model
takes in one call); counted as given, it would shrink or blow up what the budgets see. Each such
field is replaced by an estimate from the request's or the answer's size (about 4 characters a
token), and the turn carries a warning saying so (it is written to the trajectory).

An answer may also be huge (a 50 MB text or tool call). Text past `max_chars` is cut with a note
the model reads; tool calls whose arguments do not fit in what is left become malformed calls whose
error says why (they are not run); a provider's native rendering that large is dropped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .types import ModelTurn, ToolCall, Usage

MAX_CALL_TOKENS = 10_000_000
"""More tokens than this in one call (any field) is absurd: no model reads or writes that many."""
CHARS_PER_TOKEN = 4


def _valid(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    return int(value) if 0 <= value <= MAX_CALL_TOKENS else None


def _estimate(chars: int) -> int:
    return min(chars // CHARS_PER_TOKEN + 1, MAX_CALL_TOKENS)


def checked_usage(usage: Usage, request_chars: int, answer_chars: int) -> tuple[Usage, list[str]]:
    """`usage` with every invalid field replaced (input and output by an estimate from the sizes, the
    cache fields by 0, cache tokens never more than the input), and a warning per replacement."""
    warnings = []
    fields: dict[str, int] = {}
    for name, estimate in (("input_tokens", _estimate(request_chars)), ("output_tokens", _estimate(answer_chars)),
                           ("cache_read_tokens", 0), ("cache_write_tokens", 0)):
        raw = getattr(usage, name)
        value = _valid(raw)
        if value is None:
            value = estimate
            warnings.append(f"the server reported {name}={raw!r}, which cannot be right; counted {value} instead"
                            + (" (estimated from the size)" if estimate else ""))
        fields[name] = value
    cached = fields["cache_read_tokens"] + fields["cache_write_tokens"]
    if cached > fields["input_tokens"]:
        warnings.append(f"the server reported {cached} cached tokens out of {fields['input_tokens']} input "
                        "tokens; counted the input as the larger")
        fields["input_tokens"] = cached
    return Usage(**fields), warnings


def checked_cost(cost: float | None, priced: Callable[[], float | None]) -> tuple[float | None, list[str]]:
    """The call's cost: `priced()` (the price table's) when the answer gave none; a given cost that is
    negative or not a finite number is replaced by `priced()` (0 when that is unknown), with a warning."""
    if cost is None:
        return priced(), []
    if isinstance(cost, int | float) and not isinstance(cost, bool) and math.isfinite(cost) and cost >= 0:
        return cost, []
    value = priced() or 0.0
    return value, [f"the cost reported for the call ({cost!r}) cannot be right; counted ${value:.4f} instead"]


def turn_chars(turn: ModelTurn) -> int:
    """The size of an answer in characters: text and tool-call arguments."""
    return len(turn.text) + sum(len(c.arguments_json()) for c in turn.tool_calls)


def capped_turn(turn: ModelTurn, max_chars: int) -> tuple[ModelTurn, list[str]]:
    """The turn within `max_chars` characters (text, then tool-call arguments in order)."""
    warnings = []
    text = turn.text
    if len(text) > max_chars:
        warnings.append(f"the answer's text was {len(text)} characters; kept the first {max_chars}")
        text = (text[:max_chars] + f"\n[... patchwright: the answer was cut here: {len(turn.text) - max_chars} "
                "more characters, over the limit for one answer ...]")
    left = max(max_chars - len(text), 0)
    calls: list[ToolCall] = []
    for call in turn.tool_calls:
        size = len(call.arguments_json())
        if size <= left:
            left -= size
            calls.append(call)
            continue
        warnings.append(f"the call to {call.name} had {size} characters of arguments; not run")
        calls.append(ToolCall(call.id, call.name, {}, error=(
            f"the arguments are {size} characters, more than the {max_chars} an answer may hold; the call was "
            "not run. Make smaller calls (edit one definition at a time)"), raw_arguments="{}"))
    native = turn.native
    if native is not None and len(json.dumps(native)) > max_chars:
        warnings.append("the provider's own rendering of the answer was too large to keep; dropped")
        native = None
    if not warnings:
        return turn, []
    return replace(turn, text=text, tool_calls=calls, native=native), warnings
