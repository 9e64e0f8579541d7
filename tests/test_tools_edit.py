"""Editing tools: whole definitions by name in every language of the symbol index, exact text
replacement, new files, undo, and the file's style (CRLF, tabs, final newline) kept."""

from __future__ import annotations

import pytest
from tool_helpers import disk, ok, refused, tool_context

PY = '''import os


@decorator
class Outer(Base):
    """Outer's doc."""

    def method(self, a):
        return a

    @staticmethod
    def helper(x):
        return x


def top(x):
    return x
'''


def test_python_replace_method_reindents_and_keeps_decorators(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        out = ok(ctx, "replace_symbol", name="Outer.helper",
                 new_source="@staticmethod\ndef helper(x, y=1):\n    return x + y\n")
        assert "Replaced pkg/mod.py:Outer.helper (was lines 11-13, now 11-13)" in out
        assert disk(ctx, "pkg/mod.py").decode() == PY.replace(
            "    def helper(x):\n        return x\n", "    def helper(x, y=1):\n        return x + y\n")


def test_python_replace_whole_class_and_function(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        ok(ctx, "replace_symbol", name="pkg/mod.py:Outer", new_source="class Outer:\n    pass\n")
        ok(ctx, "replace_symbol", name="top", new_source="    def top(x):\n        return -x")  # over-indented
        assert disk(ctx, "pkg/mod.py").decode() == "import os\n\n\nclass Outer:\n    pass\n\n\ndef top(x):\n    return -x\n"


def test_python_insert_after_before_into_and_end_of_file(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        ok(ctx, "insert_symbol", source="def extra(self):\n    return 1\n", after="Outer.method")
        ok(ctx, "insert_symbol", source="def last(self):\n    return 2\n", into="Outer")
        ok(ctx, "insert_symbol", source="def first():\n    pass\n", before="pkg/mod.py:Outer")
        out = ok(ctx, "insert_symbol", source="def tail():\n    pass\n", path="pkg/mod.py")
        assert "Inserted tail at the end of pkg/mod.py (pkg/mod.py, lines 30-31)" in out
        assert disk(ctx, "pkg/mod.py").decode() == '''import os


def first():
    pass


@decorator
class Outer(Base):
    """Outer's doc."""

    def method(self, a):
        return a

    def extra(self):
        return 1

    @staticmethod
    def helper(x):
        return x

    def last(self):
        return 2


def top(x):
    return x


def tail():
    pass
'''


def test_python_delete_takes_the_separating_blank_lines(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        ok(ctx, "delete_symbol", name="Outer.method")
        ok(ctx, "delete_symbol", name="top")
        assert disk(ctx, "pkg/mod.py").decode() == '''import os


@decorator
class Outer(Base):
    """Outer's doc."""

    @staticmethod
    def helper(x):
        return x
'''


JS = '''import x from "x";

export function alpha(a) {
  return a + 1;
}

class Box {
  constructor(v) {
    this.v = v;
  }

  get() {
    return this.v;
  }
}

const arrow = (n) => n * 2;
'''

TS = '''interface Shape {
  area(): number;
}

export class Circle implements Shape {
  constructor(private r: number) {}

  area(): number {
    return Math.PI * this.r ** 2;
  }
}

function helper(x: number): string {
  return String(x);
}
'''

GO = '''package main

import "fmt"

type Greeter struct {
\tname string
}

func (g *Greeter) Greet() string {
\treturn "hi " + g.name
}

func main() {
\tfmt.Println((&Greeter{"x"}).Greet())
}
'''

JAVA = '''package demo;

public class D {
    private int x;

    @Override
    public String toString() {
        return "D";
    }

    public int get() {
        return x;
    }
}
'''

RUST = '''use std::fmt;

#[derive(Debug)]
pub struct P {
    x: i32,
}

impl P {
    pub fn new(x: i32) -> Self {
        P { x }
    }

    #[inline]
    pub fn x(&self) -> i32 {
        self.x
    }
}

fn free() -> i32 {
    1
}
'''

LANGS = {
    "javascript": ("web/a.js", JS, [
        ("replace_symbol", {"name": "Box.get", "new_source": "get() {\n  return this.v * 2;\n}"},
         ("  get() {\n    return this.v;\n  }\n", "  get() {\n    return this.v * 2;\n  }\n")),
        ("insert_symbol", {"source": "function beta(b) {\n  return b;\n}", "after": "alpha"},
         ("  return a + 1;\n}\n\nclass", "  return a + 1;\n}\n\nfunction beta(b) {\n  return b;\n}\n\nclass")),
        ("delete_symbol", {"name": "arrow"}, ("  }\n}\n\nconst arrow = (n) => n * 2;\n", "  }\n}\n")),
    ]),
    "typescript": ("web/b.ts", TS, [
        ("replace_symbol", {"name": "Circle.area", "new_source": "area(): number {\n  return 3 * this.r ** 2;\n}"},
         ("    return Math.PI * this.r ** 2;\n", "    return 3 * this.r ** 2;\n")),
        ("insert_symbol", {"source": "perimeter(): number {\n  return 2 * this.r;\n}", "into": "Circle"},
         ("    return Math.PI * this.r ** 2;\n  }\n}\n",
          "    return Math.PI * this.r ** 2;\n  }\n\n  perimeter(): number {\n    return 2 * this.r;\n  }\n}\n")),
        ("delete_symbol", {"name": "helper"}, ("}\n\nfunction helper(x: number): string {\n  return String(x);\n}\n", "}\n")),
    ]),
    "go": ("cmd/c.go", GO, [
        # given with spaces: the file's tabs win
        ("replace_symbol", {"name": "Greeter.Greet",
                            "new_source": "func (g *Greeter) Greet() string {\n    return \"hello \" + g.name\n}\n"},
         ('\treturn "hi " + g.name\n', '\treturn "hello " + g.name\n')),
        ("insert_symbol", {"source": "func helper() int {\n\treturn 1\n}", "before": "main"},
         ("}\n\nfunc main() {", "}\n\nfunc helper() int {\n\treturn 1\n}\n\nfunc main() {")),
        ("delete_symbol", {"name": "Greeter.Greet"},
         ('func (g *Greeter) Greet() string {\n\treturn "hi " + g.name\n}\n\n', "")),
    ]),
    "java": ("src/D.java", JAVA, [
        ("replace_symbol", {"name": "D.toString",
                            "new_source": "@Override\npublic String toString() {\n    return \"D!\";\n}"},
         ('        return "D";\n', '        return "D!";\n')),
        ("insert_symbol", {"source": "public void set(int v) {\n    x = v;\n}", "after": "D.get"},
         ("        return x;\n    }\n}\n", "        return x;\n    }\n\n    public void set(int v) {\n        x = v;\n    }\n}\n")),
        ("delete_symbol", {"name": "D.get"}, ("    }\n\n    public int get() {\n        return x;\n    }\n}\n", "    }\n}\n")),
    ]),
    "rust": ("src/e.rs", RUST, [
        ("replace_symbol", {"name": "P.x", "new_source": "#[inline]\npub fn x(&self) -> i32 {\n    self.x + 1\n}"},
         ("        self.x\n", "        self.x + 1\n")),
        ("insert_symbol", {"source": "pub fn y(&self) -> i32 {\n    0\n}", "into": "src/e.rs:impl P"},
         ("        self.x\n    }\n}\n", "        self.x\n    }\n\n    pub fn y(&self) -> i32 {\n        0\n    }\n}\n")),
        ("delete_symbol", {"name": "free"}, ("}\n\nfn free() -> i32 {\n    1\n}\n", "}\n")),
    ]),
}


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_replace_insert_delete_in_every_language(tmp_path, lang):
    path, source, steps = LANGS[lang]
    for k, (tool, args, (before, after)) in enumerate(steps):
        assert source.count(before) == 1, (lang, tool)
        with tool_context(tmp_path / str(k), {path: source}) as ctx:
            ok(ctx, tool, **args)
            assert disk(ctx, path).decode() == source.replace(before, after), (lang, tool)


def test_javascript_guard_refuses_a_broken_method(tmp_path):
    with tool_context(tmp_path, {"web/a.js": JS}) as ctx:
        text = refused(ctx, "replace_symbol", name="Box.get", new_source="get() {\n  return this.v;\n")
        assert "Edit refused" in text and "(the file is unchanged)" in text
        assert disk(ctx, "web/a.js").decode() == JS


def test_str_replace_unique_match(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        out = ok(ctx, "str_replace", path="pkg/mod.py", old="import os\n", new="import os\nimport sys\n")
        assert out.startswith("Edited pkg/mod.py (lines 1-2).")
        assert disk(ctx, "pkg/mod.py").decode() == PY.replace("import os\n", "import os\nimport sys\n")


def test_str_replace_no_match_shows_the_closest_lines(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        text = refused(ctx, "str_replace", path="pkg/mod.py", old="def method(self, a):\n    return a\n",
                       new="def method(self, a):\n    return 2\n")
        assert "old was not found in pkg/mod.py" in text
        assert "    8     def method(self, a):" in text and "    9         return a" in text
        assert "different indentation" in text
        text = refused(ctx, "str_replace", path="pkg/mod.py", old="completely unrelated", new="x")
        assert "no line resembles it" in text
        assert disk(ctx, "pkg/mod.py").decode() == PY


def test_str_replace_several_matches_are_listed(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        text = refused(ctx, "str_replace", path="pkg/mod.py", old="return", new="yield")
        assert "old occurs 3 times" in text
        assert "line 9: return a" in text and "line 13: return x" in text and "line 17: return x" in text
        refused(ctx, "str_replace", path="pkg/mod.py", old="", new="x")
        refused(ctx, "str_replace", path="pkg/mod.py", old="import os", new="import os")


def test_create_file_and_undo(tmp_path):
    with tool_context(tmp_path, {"pkg/mod.py": PY}) as ctx:
        ok(ctx, "create_file", path="pkg/new/util.py", content="def f():\n    return 1\n")
        assert disk(ctx, "pkg/new/util.py") == b"def f():\n    return 1\n"
        assert "exists already" in refused(ctx, "create_file", path="pkg/mod.py", content="x = 1\n")
        ok(ctx, "create_file", path="pkg/mod.py", content="x = 1\n", overwrite=True)
        ok(ctx, "str_replace", path="pkg/mod.py", old="x = 1", new="x = 2")
        assert "1 earlier edit left" in ok(ctx, "undo_edit", path="pkg/mod.py")
        assert disk(ctx, "pkg/mod.py") == b"x = 1\n"
        ok(ctx, "undo_edit", path="pkg/mod.py")
        assert disk(ctx, "pkg/mod.py").decode() == PY
        assert "no edit of pkg/mod.py to undo" in refused(ctx, "undo_edit", path="pkg/mod.py")
        assert "Removed pkg/new/util.py" in ok(ctx, "undo_edit", path="pkg/new/util.py")
        assert not ctx.workspace.exists("pkg/new/util.py")


def test_undo_refuses_when_a_command_changed_the_file_since(tmp_path):
    with tool_context(tmp_path, {"m.py": "a = 1\n"}) as ctx:
        ok(ctx, "str_replace", path="m.py", old="a = 1", new="a = 2")
        ok(ctx, "bash", command="echo 'b = 3' >> m.py")
        assert "changed after the last edit" in refused(ctx, "undo_edit", path="m.py")
        assert disk(ctx, "m.py") == b"a = 2\nb = 3\n"


def test_replace_with_a_new_name_says_so(tmp_path):
    with tool_context(tmp_path, {"m.py": "def a():\n    return 1\n"}) as ctx:
        out = ok(ctx, "replace_symbol", name="a", new_source="def b():\n    return 1\n")
        assert "Note: the lines now define b" in out
        assert "find_symbol" not in out
        assert "1 definition of 'b'" in ok(ctx, "find_symbol", name="b")


def test_insert_symbol_needs_exactly_one_place(tmp_path):
    with tool_context(tmp_path, {"m.py": "def a():\n    return 1\n"}) as ctx:
        assert "exactly one of" in refused(ctx, "insert_symbol", source="def b():\n    pass\n")
        assert "exactly one of" in refused(ctx, "insert_symbol", source="def b():\n    pass\n", after="a", path="m.py")
        assert "into takes a class" in refused(ctx, "insert_symbol", source="def b():\n    pass\n", into="a")
        assert "use create_file" in refused(ctx, "insert_symbol", source="x = 1\n", path="other.py")
