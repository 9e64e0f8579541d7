"""The agent's tools, registered: `TOOLS.specs()` for the model, `TOOLS.call(ctx, name, args)` to run one.

    from tools.context import ToolContext
    from tools.toolset import TOOLS

    ctx = ToolContext(workspace)
    result = TOOLS.call(ctx, "view_symbol", '{"name": "Parser.parse"}')
    result.text, result.is_error
"""

from __future__ import annotations

from .edit import create_file, delete_symbol, insert_symbol, replace_symbol, str_replace, undo_edit
from .navigate import find_symbol, list_dir, search, skeleton, view_file, view_symbol
from .registry import Registry
from .shell import bash, run_tests

NAVIGATION = ["view_file", "view_symbol", "skeleton", "list_dir", "search", "find_symbol"]
EDITING = ["replace_symbol", "insert_symbol", "delete_symbol", "str_replace", "create_file", "undo_edit"]
SHELL = ["bash", "run_tests"]

TOOLS = Registry([view_file, view_symbol, skeleton, list_dir, search, find_symbol,
                  replace_symbol, insert_symbol, delete_symbol, str_replace, create_file, undo_edit,
                  bash, run_tests])
