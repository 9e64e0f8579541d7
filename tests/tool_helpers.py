"""Helpers for the tools' tests: a ToolContext on a LocalWorkspace of a small repository."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from conftest import make_repo
from sandbox.workspace import LocalWorkspace
from tools.context import ToolContext
from tools.registry import ToolResult
from tools.toolset import TOOLS


@contextmanager
def tool_context(tmp_path: Path, files: dict[str, str | bytes], **kwargs):
    """A ToolContext over a private copy of a repository holding `files` (committed)."""
    repo = make_repo(tmp_path / "repo", files)
    with LocalWorkspace(repo) as ws:
        yield ToolContext(ws, index_cache=False, **kwargs)


def call(ctx: ToolContext, tool: str, /, **arguments) -> ToolResult:
    """Run a tool through the registry, as the agent does."""
    return TOOLS.call(ctx, tool, arguments)


def ok(ctx: ToolContext, tool: str, /, **arguments) -> str:
    """Run a tool that must succeed; its answer."""
    res = call(ctx, tool, **arguments)
    assert not res.is_error, res.text
    return res.text


def refused(ctx: ToolContext, tool: str, /, **arguments) -> str:
    """Run a tool that must refuse the call; its answer."""
    res = call(ctx, tool, **arguments)
    assert res.is_error, res.text
    assert "internal error" not in res.text, res.text
    return res.text


def disk(ctx: ToolContext, path: str) -> bytes:
    """The file's bytes as the workspace holds them (not the context's cache)."""
    return ctx.workspace.read_bytes(path)
