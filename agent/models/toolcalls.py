"""Checking the model's tool calls against the tools' schemas.

A malformed call is not an exception: it comes back as `ToolCall.error`, a sentence the loop sends
to the model as the observation so that it can correct itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from tools.registry import ToolSpec

from .types import ToolCall

_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                       "boolean": (bool,), "array": (list,), "object": (dict,),
                                       "null": (type(None),)}
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array",
          dict: "an object", type(None): "null"}


def parse_arguments(call_id: str, name: str, text: str | None) -> ToolCall:
    """A ToolCall from arguments given as JSON text (OpenAI's form); an error when they are not a
    JSON object. An empty text means no arguments."""
    if text is None or not text.strip():
        return ToolCall(call_id, name, {})
    try:
        value = json.loads(text)
    except ValueError as exc:
        return ToolCall(call_id, name, {}, f"the arguments are not valid JSON ({exc})", raw_arguments=text)
    return from_object(call_id, name, value, raw=text)


def from_object(call_id: str, name: str, value: Any, raw: str | None = None) -> ToolCall:
    """A ToolCall from already-decoded arguments (Anthropic's form, a cassette's)."""
    if isinstance(value, dict):
        return ToolCall(call_id, name, value)
    text = raw if raw is not None else json.dumps(value)
    return ToolCall(call_id, name, {}, f"the arguments must be one JSON object, got {_kind(value)}",
                    raw_arguments=text)


def _kind(value: Any) -> str:
    return _NAMES.get(type(value), type(value).__name__)


def _type_ok(value: Any, expected: str | list) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    for t in names:
        py = _TYPES.get(t)
        if py is None:
            return True  # a type we do not check
        if isinstance(value, bool) and t in ("integer", "number"):
            continue
        if isinstance(value, py) or (t == "integer" and isinstance(value, float) and value.is_integer()):
            return True
    return False


def check_value(value: Any, schema: dict, where: str) -> list[str]:
    """Problems of `value` against a JSON Schema subset: type, enum, required, properties (unknown
    ones are problems unless additionalProperties allows them), items."""
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None and not _type_ok(value, expected):
        want = " or ".join(expected) if isinstance(expected, list) else expected
        return [f"{where} must be of type {want}, got {_kind(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where} must be one of {', '.join(json.dumps(v) for v in schema['enum'])}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"missing required argument '{key}'" if where == "arguments"
                                else f"{where} lacks '{key}'")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                problems += check_value(item, props[key], f"'{key}'" if where == "arguments" else f"{where}.{key}")
            elif isinstance(extra, dict):
                problems += check_value(item, extra, f"'{key}'")
            elif extra is not True and props:
                problems.append(f"unexpected argument '{key}' (known: {', '.join(props)})")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += check_value(item, schema["items"], f"{where}[{i}]")
    return problems


def validate_tool_calls(calls: Iterable[ToolCall], tools: Sequence[ToolSpec]) -> list[ToolCall]:
    """The calls with `error` set on each malformed one (errors already set are kept and phrased
    the same way). Integral floats given for integer arguments become ints."""
    by_name = {t.name: t for t in tools}
    out = []
    for call in calls:
        spec = by_name.get(call.name)
        if spec is None and tools:
            problem = f"there is no tool named '{call.name}'; the tools are: {', '.join(by_name)}"
        elif call.error:
            problem = call.error
        elif spec is not None:
            problems = check_value(call.arguments, spec.parameters, "arguments")
            problem = "; ".join(problems) if problems else None
            if not problem:
                call = replace(call, arguments=_ints(call.arguments, spec.parameters))
        else:
            problem = f"there is no tool named '{call.name}'; no tools are available now"
        if problem and not problem.startswith("Malformed call"):
            problem = f"Malformed call to {call.name or '(no name)'}: {problem}. Fix the call and try again."
        out.append(replace(call, error=problem) if problem else call)
    return out


def _ints(args: dict, schema: dict) -> dict:
    props = schema.get("properties", {})
    return {k: int(v) if props.get(k, {}).get("type") == "integer" and isinstance(v, float) else v
            for k, v in args.items()}
