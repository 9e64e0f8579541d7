"""Tool schemas: one neutral description of a tool, rendered for OpenAI and for Anthropic.

`ToolSpec` is what model clients receive; the registry that derives specs from the tools'
signatures and docstrings builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
