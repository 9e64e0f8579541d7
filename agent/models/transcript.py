"""What someone playing the model reads each turn (the `human` and `relay:DIR` models): the messages
new since the last turn, the tool schemas when they change, and the answer format.

A Transcript remembers what its reader has seen: the last request and the answer given to it. The
next request usually goes on from there (the answer, the tool results, a review); when it does
not, a new conversation has begun (localization and the edit loop each start one), and the reader
is told how many of its first messages are as before (the system prompt, say) and shown the rest.
Tool results are shown in full: what the agent's tools returned, exactly as the model gets it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tools.registry import ToolSpec

from .types import Message

REPLY_FORMAT = ('{"content": "what you say (optional)", '
                '"tool_calls": [{"name": "TOOL", "arguments": {"ARG": "VALUE"}}]}')
"""The shape of a relay reply; a reply without tool_calls is the final answer."""


def _key(m: dict[str, Any]) -> dict[str, Any]:
    """A message as the reader sees it: cache marks and provider-native parts left out."""
    return {k: v for k, v in m.items() if k not in ("cache", "native")}


def tool_dicts(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]


@dataclass(frozen=True)
class View:
    """What is new in a request for its reader."""

    new: list[Message]
    """The messages to show."""
    kept: int
    """Messages at the start that the reader has seen before (not shown again)."""
    total: int
    """Messages of the request."""
    restarted: bool
    """The request begins a new conversation (it does not go on from the last answer)."""
    first: bool
    """Nothing was seen before (the first turn, or the first after a restart of the process)."""
    tools_changed: bool
    """The tools differ from those shown last (or were never shown)."""


class Transcript:
    """The reader's memory of the conversation (see the module's docstring)."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.tools: str | None = None

    def view(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> View:
        """What is new in this request; the tools count as shown from now on."""
        current = [_key(m.to_dict()) for m in messages]
        kept = 0
        while kept < min(len(current), len(self.seen)) and current[kept] == self.seen[kept]:
            kept += 1
        first = not self.seen
        restarted = not first and kept < len(self.seen)
        tools_key = json.dumps(tool_dicts(tools), sort_keys=True)
        changed = tools_key != self.tools
        self.tools = tools_key
        return View(new=list(messages[kept:]), kept=kept, total=len(messages), restarted=restarted, first=first,
                    tools_changed=changed)

    def answered(self, messages: Sequence[Message], answer: Message) -> None:
        """The reader answered `messages` with `answer`: the next request should go on from there."""
        self.seen = [_key(m.to_dict()) for m in [*messages, answer]]


def fence(text: str, lang: str = "text") -> str:
    """`text` in a markdown code fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    mark = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{mark}{lang}\n{body}{mark}"


def call_text(name: str, arguments: Any) -> str:
    """A tool call the way a person types it: `name {json arguments}`."""
    return f"{name} {json.dumps(arguments, ensure_ascii=False)}"


def render_message(m: Message) -> str:
    """One message under a heading, its text fenced."""
    if m.role == "system":
        head = "## System prompt"
    elif m.role == "user":
        head = "## User"
    elif m.role == "assistant":
        head = "## Assistant (the model: you)"
    else:
        head = f"## Tool result: {m.name} (call {m.tool_call_id}){' (an error)' if m.is_error else ''}"
    parts = [head]
    if m.content or m.role != "assistant":
        parts.append(fence(m.content))
    if m.tool_calls:
        parts.append("Tool calls:\n" + fence("\n".join(call_text(c.name, c.arguments) for c in m.tool_calls)))
    return "\n\n".join(parts)


def _type(schema: dict[str, Any]) -> str:
    """A property's type in a few words: `string`, `array of string`, `one of "a", "b"`."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    t = schema.get("type", "any")
    if t == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_type(schema['items'])}"
    return " or ".join(t) if isinstance(t, list) else str(t)


_PLAIN = {"type", "description", "default", "enum", "items"}


def render_tool(t: ToolSpec) -> str:
    """A tool for a reader: its description, then one line per argument (type, required, default,
    what it is); an argument whose schema says more than that also gets its JSON Schema."""
    params = t.parameters or {}
    required = set(params.get("required", []))
    lines = [f"### {t.name}", "", t.description.strip(), ""]
    props = params.get("properties", {})
    for name, schema in props.items():
        bits = [_type(schema)] + (["required"] if name in required else [])
        if "default" in schema:
            bits.append(f"default {json.dumps(schema['default'])}")
        line = f"- `{name}` ({', '.join(bits)})" + (f": {schema['description']}" if schema.get("description") else "")
        items = schema.get("items")
        if set(schema) - _PLAIN or (isinstance(items, dict) and set(items) - {"type"}):
            line += f" Schema: `{json.dumps(schema, ensure_ascii=False)}`"
        lines.append(line)
    if not props:
        lines.append("No arguments.")
    return "\n".join(lines)


def render_tools(tools: Sequence[ToolSpec]) -> str:
    """Every tool offered, for a reader (each call's arguments are one JSON object)."""
    if not tools:
        return "## Tools\n\nNo tools are offered this turn: answer with text only."
    return "\n\n".join([f"## Tools ({len(tools)}; each call's arguments are one JSON object)",
                         *(render_tool(t) for t in tools)])


def render_view(v: View, tools: Sequence[ToolSpec], previous: str) -> str:
    """The body of a turn: a line on where the conversation stands, the new messages, the tools.
    `previous` names the last turn for the reader ("turn 6")."""
    if v.first:
        where = f"The conversation so far ({v.total} message(s))."
    elif v.restarted:
        where = (f"A new conversation begins (the one of {previous} is over). Its first {v.kept} message(s) "
                 f"are as before and not repeated; the other {len(v.new)} follow." if v.kept else
                 f"A new conversation begins (the one of {previous} is over); all {v.total} message(s) follow.")
    else:
        where = f"{len(v.new)} new message(s) since {previous} ({v.total} in the conversation)."
    parts = [where, *(render_message(m) for m in v.new)]
    if v.tools_changed:
        parts.append(render_tools(tools))
    else:
        names = ", ".join(t.name for t in tools) or "none"
        parts.append(f"Tools: unchanged since {previous} ({names}).")
    return "\n\n".join(parts) + "\n"
