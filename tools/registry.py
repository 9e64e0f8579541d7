"""Tool schemas: one neutral description of a tool, rendered for OpenAI and for Anthropic.

`ToolSpec` is what model clients receive. The registry derives a ToolSpec from each tool's
signature (parameter types -> JSON Schema) and docstring (the description, and each parameter's
description from its `Args:` section), and runs a model's tool call by name with JSON arguments.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import ToolError
from .effects import Effect
from .text import cap_text


@dataclass(frozen=True)
class ToolSpec:
    """A tool as a model sees it: a name, what it does, and a JSON Schema of its arguments."""

    name: str
    description: str
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})

    def openai_schema(self) -> dict:
        """The tool in OpenAI's chat-completions `tools` format."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    def anthropic_schema(self) -> dict:
        """The tool in Anthropic's messages `tools` format."""
        return {"name": self.name, "description": self.description, "input_schema": self.parameters}


# ---------------------------------------------------------------------------------------------
# the registry: a tool is a function `f(ctx, arg: type = default, ...) -> str` with a docstring


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned: the text for the model, and whether the call went wrong."""

    text: str
    is_error: bool = False


@dataclass(frozen=True)
class Tool:
    """A registered tool: its spec (what the model sees) and the function that runs it."""

    spec: ToolSpec
    func: Callable[..., str]
    types: dict[str, Any]
    """Each parameter's annotated type (the context parameter left out)."""
    effect: Effect | None = None
    """What a call may change (tools.effects), as the function declares it; None: not declared."""

    @property
    def name(self) -> str:
        return self.spec.name


_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Returns|Raises|Example|Examples):\s*$")
MAX_RESULT_CHARS = 30_000


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a Google-style docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    desc: list[str] = []
    params: dict[str, str] = {}
    section = None
    current = None
    params_indent = 0
    for line in lines:
        m = _SECTION.match(line)
        if m:
            section = m.group(1)
            current = None
            continue
        if section is None:
            desc.append(line)
        elif section in ("Args", "Arguments", "Parameters"):
            pm = re.match(r"^\s{2,}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$", line)
            if pm and (current is None or len(line) - len(line.lstrip()) <= params_indent):
                current = pm.group(1)
                params_indent = len(line) - len(line.lstrip())
                params[current] = pm.group(2).strip()
            elif current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
    text = "\n".join(desc).strip()
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text), params  # lines unwrapped, paragraph breaks kept


def json_type(tp: Any, where: str) -> tuple[dict, bool]:
    """(JSON Schema of a Python annotation, whether None is allowed)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"{where}: only `X | None` unions are supported")
        return json_type(rest[0], where)[0], True
    if origin is typing.Literal:
        kinds = {type(a) for a in args}
        base = json_type(kinds.pop(), where)[0] if len(kinds) == 1 else {}
        return {**base, "enum": list(args)}, False
    if origin in (list, tuple) or tp in (list, tuple):
        item = args[0] if args else str
        return {"type": "array", "items": json_type(item, where)[0]}, False
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    if tp in simple:
        return {"type": simple[tp]}, False
    raise TypeError(f"{where}: unsupported parameter type {tp!r}")


def make_tool(func: Callable[..., str], name: str | None = None) -> Tool:
    """A Tool from a function whose first parameter is the context: the other parameters become the
    schema's properties (those without a default are required), the docstring the descriptions."""
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func)
    description, param_docs = parse_docstring(func.__doc__)
    props: dict[str, dict] = {}
    required: list[str] = []
    kinds: dict[str, Any] = {}
    for pname, param in list(sig.parameters.items())[1:]:
        where = f"{func.__name__}({pname})"
        if pname not in hints:
            raise TypeError(f"{where}: parameter has no type annotation")
        schema, _ = json_type(hints[pname], where)
        if not param_docs.get(pname):
            raise TypeError(f"{where}: parameter is not described in the docstring's Args section")
        schema["description"] = param_docs[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        elif param.default is not None:
            schema["default"] = param.default
        props[pname] = schema
        kinds[pname] = hints[pname]
    params = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    return Tool(ToolSpec(name or func.__name__, description, params), func, kinds,
                getattr(func, "__tool_effect__", None))


class Registry:
    """Tools by name: their specs for the model, and `call` to run one from a model's tool call."""

    def __init__(self, funcs: list[Callable[..., str]] = ()):
        self._tools: dict[str, Tool] = {}
        for f in funcs:
            self.add(f)

    def add(self, func: Callable[..., str], name: str | None = None) -> Tool:
        tool = make_tool(func, name)
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name} is registered already")
        self._tools[tool.name] = tool
        return tool

    def names(self) -> list[str]:
        return list(self._tools)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def may_change(self, name: str, is_error: bool) -> bool:
        """Whether a call of tool `name` that ended so may have changed files: as the tool declares
        (tools.effects); an unknown or undeclared tool is taken to change anything."""
        tool = self._tools.get(name)
        if tool is None:
            return False  # not run: there is no such tool
        return tool.effect.may_change(is_error) if tool.effect is not None else True

    def specs(self, names: list[str] | None = None) -> list[ToolSpec]:
        """The ToolSpecs of the named tools (all by default), in registration order."""
        if names is None:
            return [t.spec for t in self._tools.values()]
        unknown = [n for n in names if n not in self._tools]
        if unknown:
            raise KeyError(f"unknown tools: {', '.join(unknown)}")
        return [self._tools[n].spec for n in names]

    def call(self, ctx: Any, name: str, arguments: dict | str | None = None) -> ToolResult:
        """Run tool `name` with `arguments` (a dict or JSON text). Wrong calls (unknown tool, bad
        arguments, a ToolError from the tool) come back as a ToolResult with is_error=True whose
        text says what to do; they never raise."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(f"there is no tool named '{name}'; the tools are: {', '.join(self._tools)}", True)
        if arguments is None or (isinstance(arguments, str) and not arguments.strip()):
            arguments = {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except ValueError as exc:
                return ToolResult(f"the arguments of {name} are not valid JSON ({exc}); send one JSON object", True)
        if not isinstance(arguments, dict):
            return ToolResult(f"the arguments of {name} must be a JSON object", True)
        problem, kwargs = _bind(tool, arguments)
        if problem:
            return ToolResult(f"Wrong call to {name}: {problem}.", True)
        try:
            text = tool.func(ctx, **kwargs)
        except ToolError as exc:
            return ToolResult(_cap(f"{name}: {exc}"), True)
        except Exception as exc:  # a tool's own bug must reach the model as text, not end the run
            return ToolResult(f"{name} failed with an internal error ({type(exc).__name__}: {exc}); "
                              "try another way", True)
        return ToolResult(_cap(text))


def _cap(text: str) -> str:
    return cap_text(text, MAX_RESULT_CHARS)


def _bind(tool: Tool, arguments: dict) -> tuple[str | None, dict]:
    props = tool.spec.parameters["properties"]
    unknown = [k for k in arguments if k not in props]
    if unknown:
        return f"unexpected argument{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} " \
               f"(accepted: {', '.join(props) or 'none'})", {}
    missing = [k for k in tool.spec.parameters["required"] if k not in arguments]
    if missing:
        return f"missing required argument{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}", {}
    out = {}
    for key, value in arguments.items():
        ok, converted = _convert(value, props[key])
        if not ok:
            return f"'{key}' must be {_describe(props[key])}, got {type(value).__name__} {json.dumps(value)[:60]}", {}
        out[key] = converted
    return None, out


def _convert(value: Any, schema: dict) -> tuple[bool, Any]:
    if value is None:
        return True, None
    t = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False, value
    if t == "string":
        return isinstance(value, str), value
    if t == "integer":
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return True, int(value)
        return False, value
    if t == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, value
        try:
            return (True, float(value)) if isinstance(value, str) else (False, value)
        except ValueError:
            return False, value
    if t == "boolean":
        if isinstance(value, bool):
            return True, value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return True, value.lower() == "true"
        return False, value
    if t == "array":
        if isinstance(value, str):  # a lone item where a list is expected
            value = [value]
        if not isinstance(value, list):
            return False, value
        items = [_convert(v, schema.get("items", {})) for v in value]
        return all(ok for ok, _ in items), [v for _, v in items]
    if t == "object":
        return isinstance(value, dict), value
    return True, value


def _describe(schema: dict) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    t = schema.get("type")
    if t == "array":
        return f"a list of {_describe(schema.get('items', {}))}s"
    return {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
            "object": "an object"}.get(t, "a value")
