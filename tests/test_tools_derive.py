"""Gold patch -> tool calls: the derivation picks the natural operation for each change, and replaying
its calls through the real tools reproduces the patched files byte for byte."""

from __future__ import annotations

import subprocess

import pytest
from tool_helpers import call

from conftest import git, make_repo
from sandbox.workspace import LocalWorkspace
from swebench_runner.derive import DeriveError, apply_to_texts, derive_tool_calls
from tools.context import ToolContext

BEFORE = '''import os
import sys


class Store:
    """A store."""

    def get(self, key):
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value


def old_helper(x):
    return x


def main():
    print(Store().get("a"))
'''

AFTER = '''import os
import re
import sys


class Store:
    """A store."""

    def get(self, key, default=None):
        return self.data.get(key, default)

    @staticmethod
    def put(self, key, value):
        self.data[key] = value

    def remove(self, key):
        del self.data[key]


def main():
    print(Store().get("a"))


def added(y):
    return y * 2
'''


def roundtrip(tmp_path, before: dict[str, str | bytes], after: dict[str, str | bytes | None]) -> list[dict]:
    """Derive the calls for the diff before -> after, replay them through the tools on a workspace of
    `before`, and check the files end up as `after`. Returns the calls."""
    repo = make_repo(tmp_path / "repo", before)
    for rel, content in after.items():
        f = repo / rel
        if content is None:
            f.unlink()
            continue
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(content.encode() if isinstance(content, str) else content)
    git(repo, "add", "-A")
    patch = subprocess.run(["git", "-C", str(repo), "diff", "--cached", "HEAD"], capture_output=True,
                           check=True).stdout.decode()  # bytes: text mode would turn CRLF into LF
    git(repo, "reset", "-q", "--hard", "HEAD")
    files = {rel: (c.encode() if isinstance(c, str) else c) for rel, c in before.items()}
    assert {k: v for k, v in apply_to_texts(files, patch).items()} == \
        {k: (v.encode() if isinstance(v, str) else v) for k, v in after.items()}
    calls = derive_tool_calls(files, patch)
    with LocalWorkspace(repo) as ws:
        ctx = ToolContext(ws, index_cache=False)
        for c in calls:
            res = call(ctx, c["name"], **c["arguments"])
            assert not res.is_error, (c, res.text)
        for rel, content in after.items():
            want = content.encode() if isinstance(content, str) else content
            assert (ws.read_bytes(rel) if ws.exists(rel) else None) == want, rel
    return calls


def ops(calls: list[dict]) -> list[tuple[str, str]]:
    return [(c["name"], c["arguments"].get("name") or c["arguments"].get("after") or c["arguments"].get("path", ""))
            for c in calls]


def test_each_change_gets_its_natural_operation(tmp_path):
    calls = roundtrip(tmp_path, {"pkg/store.py": BEFORE}, {"pkg/store.py": AFTER, "pkg/new.py": "X = 1\n"})
    assert ops(calls) == [
        ("create_file", "pkg/new.py"),
        ("insert_symbol", "pkg/store.py:main"),  # `added`, after main
        ("delete_symbol", "pkg/store.py:old_helper"),
        ("insert_symbol", "pkg/store.py:Store.put"),  # `remove`, after put
        ("replace_symbol", "pkg/store.py:Store.put"),  # a decorator added
        ("replace_symbol", "pkg/store.py:Store.get"),
        ("str_replace", "pkg/store.py"),  # the import
    ]
    assert not any("note" in c for c in calls)


def test_renamed_function_and_style_cases(tmp_path):
    before = {
        "crlf.py": "def a():\r\n    return 1\r\n\r\n\r\ndef b():\r\n    return 2\r\n",
        "nonl.py": "def a():\n    return 1",
        "tabs.py": "class A:\n\tdef m(self):\n\t\treturn 1\n",
        "ren.py": "X = 1\n\n\ndef old_name(a):\n    return a\n",
    }
    after = {
        "crlf.py": "def a():\r\n    return 10\r\n\r\n\r\ndef b():\r\n    return 2\r\n",
        "nonl.py": "def a():\n    return 2",
        "tabs.py": "class A:\n\tdef m(self):\n\t\treturn 2\n\n\tdef n(self):\n\t\treturn 3\n",
        "ren.py": "X = 2\n\n\ndef new_name(a, b):\n    return a + b\n",
    }
    calls = roundtrip(tmp_path, before, after)
    assert ("replace_symbol", "crlf.py:a") in ops(calls) and ("replace_symbol", "nonl.py:a") in ops(calls)
    assert ("insert_symbol", "tabs.py:A.m") in ops(calls)


def test_other_languages(tmp_path):
    go = "package m\n\nfunc A() int {\n\treturn 1\n}\n\nfunc B() int {\n\treturn 2\n}\n"
    js = "class K {\n  m() {\n    return 1;\n  }\n}\n\nfunction f() {\n  return 2;\n}\n"
    rs = "struct S;\n\nimpl S {\n    fn a(&self) -> i32 {\n        1\n    }\n}\n"
    calls = roundtrip(tmp_path, {"m.go": go, "k.js": js, "s.rs": rs}, {
        "m.go": go.replace("return 2", "return 3"),
        "k.js": js.replace("return 1;", "return 11;"),
        "s.rs": rs.replace("        1\n    }\n", "        1\n    }\n\n    fn b(&self) -> i32 {\n        2\n    }\n"),
    })
    assert ("replace_symbol", "m.go:B") in ops(calls) and ("replace_symbol", "k.js:K.m") in ops(calls)
    assert ("insert_symbol", "s.rs:S.a") in ops(calls)


def test_a_step_that_would_not_parse_alone_is_joined_with_its_neighbour(tmp_path):
    before = "def f(x):\n    if x:\n        return 1\n    return 2\n"
    after = "def f(x):\n    try:\n        if x:\n            return 1\n    finally:\n        pass\n    return 2\n"
    calls = roundtrip(tmp_path, {"m.py": before}, {"m.py": after})
    assert [c["name"] for c in calls] == ["replace_symbol"]


def test_patches_that_do_not_fit_are_errors():
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1,1 +1,1 @@\n-x = 1\n+x = 2\n"
    with pytest.raises(DeriveError, match="does not match"):
        derive_tool_calls({"m.py": b"y = 1\n"}, patch)
    with pytest.raises(DeriveError, match="content was not given"):
        derive_tool_calls({}, patch)
    with pytest.raises(DeriveError, match="shorter than its header"):
        derive_tool_calls({"m.py": b"x = 1\n"}, "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n-x = 1\n+x = 2\n")
