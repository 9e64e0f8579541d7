"""The edit guard and the file's style: refused edits leave the file byte-for-byte unchanged and show
the error line; already-broken files stay editable; undefined names are warnings; CRLF, tabs and a
missing final newline survive every edit; binary and non-UTF-8 files are refused with a reason.
Includes the property test: whatever the guard accepts parses, whatever it refuses changes nothing."""

from __future__ import annotations

import string

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from tool_helpers import call, disk, ok, refused, tool_context

from tools import guard
from tools.symbols import parse_tree

PY = "import os\n\n\ndef f(a):\n    return a\n\n\ndef g(b):\n    return b\n"


def test_refusal_shows_the_error_line_and_keeps_the_file(tmp_path):
    with tool_context(tmp_path, {"m.py": PY}) as ctx:
        text = refused(ctx, "replace_symbol", name="g", new_source="def g(b):\n    return [b\n")
        assert "Edit refused: it would bring a syntax error into m.py (the file is unchanged)" in text
        assert ">    9     return [b" in text and "'[' was never closed" in text
        assert disk(ctx, "m.py") == PY.encode()
        text = refused(ctx, "str_replace", path="m.py", old="    return a\n", new="return a\n")
        assert "line 5" in text and disk(ctx, "m.py") == PY.encode()


def test_compile_catches_what_tree_sitter_accepts(tmp_path):
    with tool_context(tmp_path, {"m.py": PY}) as ctx:
        text = refused(ctx, "insert_symbol", source="class C:\n    return 1\n", path="m.py")
        assert "'return' outside function" in text and disk(ctx, "m.py") == PY.encode()


def test_undefined_names_are_warnings_and_the_edit_is_applied(tmp_path):
    with tool_context(tmp_path, {"m.py": PY}) as ctx:
        out = ok(ctx, "replace_symbol", name="f", new_source="def f(a):\n    return helper(a) + os.sep\n")
        assert "Warnings (the edit was applied):\n  line 5: undefined name 'helper'" in out
        assert b"helper(a)" in disk(ctx, "m.py")
        out = ok(ctx, "replace_symbol", name="g", new_source="def g(b):\n    return b + 1\n")
        assert "Warnings" not in out  # 'helper' was undefined before this edit already


def test_an_already_broken_file_stays_editable(tmp_path):
    broken = "def ok():\n    return 1\n\n\ndef bad(:\n    pass\n\n\nx = [1, 2\n"
    with tool_context(tmp_path, {"m.py": broken, "w.js": "function a() {\n  return 1;\n}\nlet x = (;\n"}) as ctx:
        ok(ctx, "replace_symbol", name="ok", new_source="def ok():\n    return 2\n")
        assert disk(ctx, "m.py") == broken.replace("return 1", "return 2").encode()
        refused(ctx, "replace_symbol", name="ok", new_source="def ok():\n    return (2\n")
        ok(ctx, "replace_symbol", name="a", new_source="function a() {\n  return 2;\n}")
        text = refused(ctx, "replace_symbol", name="a", new_source="function a() {\n  return 2;\n")
        assert "Edit refused" in text


def test_crlf_files_keep_crlf(tmp_path):
    crlf = PY.replace("\n", "\r\n").encode()
    with tool_context(tmp_path, {"m.py": crlf}) as ctx:
        ok(ctx, "replace_symbol", name="f", new_source="def f(a):\n    return a * 2\n")
        ok(ctx, "str_replace", path="m.py", old="def g(b):\n    return b\n", new="def g(b):\n    return -b\n")
        ok(ctx, "insert_symbol", source="def h():\n    pass\n", after="g")
        expected = PY.replace("a\n\n\ndef g", "a * 2\n\n\ndef g").replace("return b\n", "return -b\n\n\ndef h():\n    pass\n")
        assert disk(ctx, "m.py") == expected.replace("\n", "\r\n").encode()


def test_tab_indented_files_keep_tabs(tmp_path):
    tabbed = "class A:\n\tdef m(self):\n\t\treturn 1\n\n\tdef n(self):\n\t\treturn 2\n"
    with tool_context(tmp_path, {"t.py": tabbed}) as ctx:
        ok(ctx, "replace_symbol", name="A.m", new_source="def m(self):\n    x = 1\n    return x\n")
        ok(ctx, "insert_symbol", source="def o(self):\n    return 3\n", into="A")
        assert disk(ctx, "t.py").decode() == ("class A:\n\tdef m(self):\n\t\tx = 1\n\t\treturn x\n\n\tdef n(self):\n"
                                              "\t\treturn 2\n\n\tdef o(self):\n\t\treturn 3\n")


def test_a_missing_final_newline_stays_missing(tmp_path):
    src = "def f():\n    return 1\n\n\ndef g():\n    return 2"
    with tool_context(tmp_path, {"m.py": src}) as ctx:
        ok(ctx, "replace_symbol", name="g", new_source="def g():\n    return 3\n")
        assert disk(ctx, "m.py").decode() == src.replace("return 2", "return 3")
        ok(ctx, "insert_symbol", source="def h():\n    return 4\n", path="m.py")
        assert disk(ctx, "m.py").decode() == src.replace("return 2", "return 3") + "\n\n\ndef h():\n    return 4"
        ok(ctx, "delete_symbol", name="h")
        assert disk(ctx, "m.py").decode() == src.replace("return 2", "return 3")
        ok(ctx, "insert_symbol", source="def i():\n    return 5\n", after="g")
        assert disk(ctx, "m.py").decode().endswith("return 3\n\n\ndef i():\n    return 5")


def test_binary_and_non_utf8_files_are_refused_for_editing(tmp_path):
    latin = "def f():\n    return 'caf\xe9'\n".encode("latin-1")
    with tool_context(tmp_path, {"l.py": latin, "b.py": b"\x00\x01def f(): pass\n"}) as ctx:
        text = refused(ctx, "str_replace", path="l.py", old="return", new="yield")
        assert "not valid UTF-8 (byte 0xe9 on line 2)" in text
        text = refused(ctx, "replace_symbol", name="l.py:f", new_source="def f():\n    pass\n")
        assert "not valid UTF-8" in text
        assert "binary file" in refused(ctx, "str_replace", path="b.py", old="def", new="xdef")
        assert disk(ctx, "l.py") == latin
        assert "caf\ufffd" in ok(ctx, "view_file", path="l.py")  # viewing is fine


# -- the property test -------------------------------------------------------------------------

TOKENS = ["def", "return", "class", "if", "else:", "lambda", "(", ")", "[", "]", ":", ",", "=", "+", "x", "y",
          "1", "'", '"', '"""', "#", "\\", " ", "    ", "\t", "\n", "pass", "yield", "async", "await", "@",
          "return x", "x = (1, 2)", "\n    y = 2", "# note", "\n"]
snippet = st.lists(st.sampled_from(TOKENS) | st.text(string.ascii_letters + " ()", max_size=3), max_size=12).map("".join)
JS = "function f(a) {\n  return a;\n}\n\nclass K {\n  m() {\n    return 1;\n  }\n}\n"
JS_TOKENS = ["function", "return", "{", "}", "(", ")", ";", "=>", "const", "x", "1", "'", "`", "/*", "\n", " ",
             "return 1;", "x;", "// c\n"]
js_snippet = st.lists(st.sampled_from(JS_TOKENS), max_size=10).map("".join)


def _parses_python(data: bytes) -> bool:
    try:
        compile(data, "<t>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError):
        return False


@pytest.fixture(scope="module")
def prop_ctx(tmp_path_factory):
    """One workspace for all the property test's examples (each example restores the file first)."""
    with tool_context(tmp_path_factory.mktemp("prop"), {"m.py": PY, "w.js": JS}) as ctx:
        yield ctx


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_property_accepted_edits_parse_and_refused_ones_change_nothing(prop_ctx, data):
    ctx = prop_ctx
    path, original, tool = data.draw(st.sampled_from([
        ("m.py", PY, "replace_symbol"), ("m.py", PY, "str_replace"), ("m.py", PY, "insert_symbol"),
        ("w.js", JS, "replace_symbol"), ("w.js", JS, "str_replace")]))
    ctx.workspace.write_bytes(path, original.encode())
    ctx.invalidate()
    piece = data.draw(snippet if path.endswith(".py") else js_snippet)
    if tool == "replace_symbol":
        name = data.draw(st.sampled_from(["f", "g"] if path.endswith(".py") else ["f", "K.m", "K"]))
        head = "def f(a):\n    " if path.endswith(".py") else "function f(a) {\n  "
        args = {"name": f"{path}:{name}", "new_source": head + piece}
    elif tool == "insert_symbol":
        args = {"source": "def h():\n    " + piece, "after": f"{path}:f"}
    else:
        old = data.draw(st.sampled_from(["return a", "(a)", "\n\n", "def g", "    return b\n"]
                                        if path.endswith(".py") else ["return a;", "{", "m() {", "}\n"]))
        args = {"path": path, "old": old, "new": piece}
    res = call(ctx, tool, **args)
    after = ctx.workspace.read_bytes(path)
    assert "internal error" not in res.text
    event(f"{tool} {'refused' if res.is_error else 'accepted'}")
    if res.is_error:
        assert after == original.encode(), res.text
    elif path.endswith(".py"):
        assert _parses_python(after), (args, after)
    else:
        assert not parse_tree("javascript", after).root_node.has_error, (args, after)


def test_guard_compares_errors_by_content_not_position():
    old = b"def f(:\n    pass\n"
    shifted = b"import os\n\n\ndef f(:\n    pass\n"
    assert guard.check("m.go", b"package m\nfunc f( {\n}\n", b"package m\n\nfunc f( {\n}\n").ok
    assert not guard.check("m.go", b"package m\n", b"package m\nfunc f( {\n}\n").ok
    assert guard.check("m.py", old, shifted).ok
    assert not guard.check("m.py", old, shifted + b"x = (\n").ok


def run_turn(ctx, calls: list[tuple[str, dict]]) -> list[str]:
    """One `edit` step whose model turn asks for `calls`: the tool answers the model reads."""
    from types import SimpleNamespace

    from agent.models.types import Message, ModelTurn, ToolCall
    from agent.nodes.edit import edit
    from agent.runtime import AgentConfig
    from agent.secrets import NO_SECRETS

    turn = ModelTurn("", [ToolCall(f"c{i}", name, args) for i, (name, args) in enumerate(calls)])
    sent: list[Message] = []
    conversation = SimpleNamespace(messages=lambda n: [], extend=lambda n, new: sent.extend(new) or n + len(new))
    rt = SimpleNamespace(complete=lambda messages, specs: turn, ctx=ctx, conversation=conversation,
                         config=AgentConfig(), check_time=lambda: None, say=lambda e: None, redactor=NO_SECRETS,
                         diff_after=lambda touched: "", spent=lambda: {},
                         trajectory=SimpleNamespace(write=lambda *a, **k: None),
                         run_budget=SimpleNamespace(spent=SimpleNamespace(steps=1, cost=0.0)))
    edit(rt, {"conversation": 0})
    return [m.content for m in sent if m.role == "tool"]


def test_a_name_a_later_call_of_the_turn_defines_is_no_longer_warned_of(tmp_path):
    """The model's turn used `helper` in one call and defined it in the next: the first answer kept
    warning of an undefined `helper` that was defined by the end of the turn."""
    with tool_context(tmp_path, {"m.py": PY}) as ctx:
        first, second = run_turn(ctx, [
            ("replace_symbol", {"name": "f", "new_source": "def f(a):\n    return helper(a) + other(a)\n"}),
            ("insert_symbol", {"path": "m.py", "source": "def helper(a):\n    return a\n"})])
        assert "undefined name 'helper'" not in first
        assert "  line 5: undefined name 'other'" in first  # still undefined: still warned of
        assert first.endswith("No longer undefined after the later calls of this turn: 'helper' (defined in m.py now).")
        assert "Warnings" not in second
    with tool_context(tmp_path / "b", {"m.py": PY}) as ctx:
        first, _ = run_turn(ctx, [
            ("replace_symbol", {"name": "f", "new_source": "def f(a):\n    return helper(a)\n"}),
            ("str_replace", {"path": "m.py", "old": "import os\n", "new": "import os\nfrom os.path import join as helper\n"})])
        assert "Warnings" not in first and "'helper' (defined in m.py now)" in first
    with tool_context(tmp_path / "c", {"m.py": PY}) as ctx:
        first, = run_turn(ctx, [("replace_symbol", {"name": "f", "new_source": "def f(a):\n    return helper(a)\n"})])
        assert "Warnings (the edit was applied):\n  line 5: undefined name 'helper'" in first  # never defined
