"""The registry: ToolSpecs from signatures and docstrings (OpenAI and Anthropic forms), calls by name
with JSON arguments that never raise; and the shell tools (timeout, capped output, fresh caches)."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from tool_helpers import call, ok, refused, tool_context

from tools.context import ToolError
from tools.registry import Registry, ToolSpec, make_tool
from tools.toolset import EDITING, NAVIGATION, SHELL, TOOLS


def sample(ctx, path: str, count: int = 3, mode: Literal["a", "b"] = "a", tags: list[str] | None = None,
           strict: bool = False) -> str:
    """Do a sample thing.

    Second paragraph
    wrapped over lines.

    Args:
        path: The file.
        count: How many,
            continued here.
        mode: Which mode.
        tags: Labels.
        strict: Be strict.
    """
    if path == "bad":
        raise ToolError("bad path: use a good one")
    if path == "boom":
        raise RuntimeError("kaput")
    return f"{path} {count} {mode} {tags} {strict}"


def test_spec_from_signature_and_docstring():
    spec = make_tool(sample).spec
    assert spec.name == "sample"
    assert spec.description == "Do a sample thing.\n\nSecond paragraph wrapped over lines."
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file."},
            "count": {"type": "integer", "description": "How many, continued here.", "default": 3},
            "mode": {"type": "string", "enum": ["a", "b"], "description": "Which mode.", "default": "a"},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels."},
            "strict": {"type": "boolean", "description": "Be strict.", "default": False},
        },
        "required": ["path"],
        "additionalProperties": False,
    }
    assert spec.openai_schema() == {"type": "function", "function": {
        "name": "sample", "description": spec.description, "parameters": spec.parameters}}
    assert spec.anthropic_schema() == {"name": "sample", "description": spec.description,
                                       "input_schema": spec.parameters}


def test_undocumented_or_untyped_parameters_are_refused_at_registration():
    def untyped(ctx, x) -> str:
        """Doc.

        Args:
            x: X.
        """
        return ""

    def undocumented(ctx, x: int) -> str:
        """Doc."""
        return ""

    with pytest.raises(TypeError, match="no type annotation"):
        make_tool(untyped)
    with pytest.raises(TypeError, match="not described"):
        make_tool(undocumented)


def test_call_by_name_with_json_arguments():
    reg = Registry([sample])
    assert reg.call(None, "sample", '{"path": "p", "count": 2.0, "tags": ["x"]}').text == "p 2 a ['x'] False"
    assert reg.call(None, "sample", {"path": "p", "count": "7", "strict": "true"}).text == "p 7 a None True"
    res = reg.call(None, "sample", {"path": "bad"})
    assert res.is_error and res.text == "sample: bad path: use a good one"
    res = reg.call(None, "sample", {"path": "boom"})
    assert res.is_error and "internal error (RuntimeError: kaput)" in res.text
    for args, needle in [("{not json", "not valid JSON"), ("[1]", "must be a JSON object"),
                         ({}, "missing required argument 'path'"),
                         ({"path": "p", "colour": 1}, "unexpected argument 'colour' (accepted: path, count"),
                         ({"path": "p", "count": "many"}, "'count' must be an integer"),
                         ({"path": "p", "mode": "c"}, "'mode' must be one of \"a\", \"b\""),
                         ({"path": 3}, "'path' must be a string")]:
        res = reg.call(None, "sample", args)
        assert res.is_error and needle in res.text, (args, res.text)
    res = reg.call(None, "nope", {})
    assert res.is_error and "there is no tool named 'nope'; the tools are: sample" in res.text


def test_the_agent_tool_set():
    assert TOOLS.names() == NAVIGATION + EDITING + SHELL
    for spec in TOOLS.specs():
        assert isinstance(spec, ToolSpec) and spec.description
        json.dumps(spec.openai_schema())
        for name, prop in spec.parameters["properties"].items():
            assert prop.get("description"), (spec.name, name)
    assert [s.name for s in TOOLS.specs(["view_file", "bash"])] == ["view_file", "bash"]
    with pytest.raises(KeyError):
        TOOLS.specs(["nope"])


def test_bash_exit_code_output_cap_timeout_and_fresh_caches(tmp_path):
    with tool_context(tmp_path, {"m.py": "def f():\n    return 1\n"}) as ctx:
        assert ok(ctx, "view_symbol", name="f")  # index built, file cached
        out = ok(ctx, "bash", command="printf 'def g():\\n    return 2\\n' >> m.py; echo done; exit 3")
        assert out == "exit code 3\ndone"
        assert "m.py:g (function, lines 3-4)" in ok(ctx, "view_symbol", name="g")  # the index saw the change
        assert "return 2" in ok(ctx, "view_file", path="m.py")
        out = ok(ctx, "bash", command="python3 -c \"print('x' * 50000)\"")
        assert "[... 40,000 characters of one line not shown ...]" in out and len(out) < 12_000
        out = ok(ctx, "bash", command="sleep 5", timeout=1)
        assert out.startswith("exit code") and "timed out after 1s" in out
        assert "command is empty" in refused(ctx, "bash", command="  ")


def test_run_tests_is_a_hook(tmp_path):
    seen = []

    def runner(ctx, tests):
        seen.append(tests)
        return "2 passed"

    with tool_context(tmp_path, {"m.py": "x = 1\n"}) as ctx:
        assert "no test command" in refused(ctx, "run_tests")
    with tool_context(tmp_path / "again", {"m.py": "x = 1\n"}, test_runner=runner) as ctx:
        assert call(ctx, "run_tests", tests=["t.py::a"]).text == "2 passed"
        assert call(ctx, "run_tests").text == "2 passed"
    assert seen == [["t.py::a"], None]


def test_every_registered_tool_declares_what_it_may_change():
    from tools.effects import Effect
    from tools.toolset import TOOLS

    undeclared = [n for n in TOOLS.names() if TOOLS.get(n).effect is None]
    assert undeclared == [], f"declare @effect(...) on: {undeclared}"
    # what the agent derives "did the patch change?" from: a refused edit changes nothing, a failing
    # shell command or test run may have changed anything, a read never does
    assert TOOLS.get("str_replace").effect is Effect.EDITS
    assert TOOLS.may_change("str_replace", False) and not TOOLS.may_change("str_replace", True)
    assert TOOLS.may_change("bash", True) and TOOLS.may_change("run_tests", True)
    assert not TOOLS.may_change("view_file", False) and not TOOLS.may_change("no_such_tool", False)
