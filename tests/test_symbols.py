"""The symbol index: definitions, spans and qualified names per language; skeletons; the cache; bad files."""

from __future__ import annotations

import os

import pytest

from conftest import make_repo
from tools.symbols import SymbolCache, build_index, extract, language_of

PY = b'''import os


@decorator
@other(1)
class Outer(Base):
    """Outer's doc."""

    def method(self, a):
        return a

    @staticmethod
    async def fetch(url):
        def helper():
            return url
        return helper

    class Inner:
        def method(self):
            return 2


class Other:
    def method(self):
        return 3


async def top_level(x: int) -> int:
    """One line."""
    return x
'''


def defs(lang, src, path="f"):
    fs = extract(lang, path, src)
    return {d.qualname: d for d in fs.definitions}, fs


def test_python_definitions_qualnames_and_spans():
    d, fs = defs("python", PY, "pkg/mod.py")
    assert list(d) == ["Outer", "Outer.method", "Outer.fetch", "Outer.fetch.helper", "Outer.Inner",
                       "Outer.Inner.method", "Other", "Other.method", "top_level"]
    outer = d["Outer"]
    assert (outer.start_line, outer.name_line, outer.end_line) == (4, 6, 20)  # decorators included
    assert outer.kind == "class" and outer.docstring == "Outer's doc." and outer.signature == "class Outer(Base)"
    fetch = d["Outer.fetch"]
    assert fetch.kind == "method" and fetch.is_async and (fetch.start_line, fetch.end_line) == (12, 16)
    assert d["Outer.fetch.helper"].kind == "function"
    assert d["Outer.Inner.method"].kind == "method" and d["Outer.Inner.method"].start_line == 19
    assert d["top_level"].is_async and d["top_level"].kind == "function"
    assert d["Outer.method"].id == "pkg/mod.py:Outer.method"
    assert not fs.has_error
    # byte spans cover exactly the lines
    text = PY.decode()
    assert text[outer.start_byte:outer.end_byte].startswith("@decorator")
    assert text[outer.start_byte:outer.end_byte].rstrip().endswith("return 2")


def test_find_by_name_qualified_name_and_path(tmp_path):
    repo = make_repo(tmp_path / "r", {"pkg/mod.py": PY.decode(), "pkg/other.py": "def method():\n    pass\n"})
    idx = build_index(repo, cache=False)
    assert {x.id for x in idx.find("method")} == {"pkg/mod.py:Outer.method", "pkg/mod.py:Outer.Inner.method",
                                                  "pkg/mod.py:Other.method", "pkg/other.py:method"}
    assert [x.id for x in idx.find("Other.method")] == ["pkg/mod.py:Other.method"]
    assert [x.id for x in idx.find("Inner.method")] == ["pkg/mod.py:Outer.Inner.method"]
    assert [x.id for x in idx.find("pkg/other.py:method")] == ["pkg/other.py:method"]
    assert [x.id for x in idx.find("other.py:method")] == ["pkg/other.py:method"]
    assert idx.find("nothing_like_this") == []
    assert idx.enclosing("pkg/mod.py", 15).qualname == "Outer.fetch.helper"
    assert idx.enclosing("pkg/mod.py", 13, kinds={"method"}).qualname == "Outer.fetch"
    assert idx.enclosing("pkg/mod.py", 1) is None


def test_javascript_and_typescript():
    js = b"""export function a(x) {
  return x;
}
class K extends B {
  constructor() { super(); }
  m() { return 1; }
  static async s() {}
}
const arrow = (y) => y * 2;
export default class D { m() {} }
"""
    d, _ = defs("javascript", js)
    assert set(d) >= {"a", "K", "K.constructor", "K.m", "K.s", "arrow", "D", "D.m"}
    assert d["a"].start_line == 1 and d["a"].end_line == 3
    assert d["K.s"].is_async and d["K.m"].kind == "method" and d["arrow"].kind == "function"
    ts = b"""export function over(a: string): string;
export function over(a: number): number;
export function over(a: any): any {
  return a;
}
@Component({})
export class Svc<T> implements I {
  run(): void;
  run(x?: number): void {}
}
interface I { run(): void }
type Alias = { a: number };
enum Color { Red }
"""
    fs = extract("typescript", "x.ts", ts)
    overloads = [x for x in fs.definitions if x.qualname == "over"]
    assert [(x.start_line, x.end_line) for x in overloads] == [(1, 1), (2, 2), (3, 5)]
    d = {x.qualname: x for x in fs.definitions}
    assert d["Svc"].start_line == 6 and d["Svc"].name_line == 7  # the decorator is in the span
    assert [x.kind for x in fs.definitions if x.qualname == "Svc.run"] == ["method", "method"]
    assert d["I"].kind == "interface" and d["Alias"].kind == "type" and d["Color"].kind == "enum"
    assert language_of("a/b.tsx") == "tsx"
    assert extract("tsx", "c.tsx", b"export const C = () => <div/>;\n").definitions[0].qualname == "C"


def test_go_java_rust():
    go = b"""package p

// New makes one.
func New() *T { return &T{} }

func (t *T) Run(x int) int {
	return x
}

func (t T) Stop() {}

type T struct{ a int }
type Runner interface{ Run(int) int }
"""
    d, _ = defs("go", go)
    assert set(d) == {"New", "T.Run", "T.Stop", "T", "Runner"}
    assert d["T.Run"].kind == "method" and (d["T.Run"].start_line, d["T.Run"].end_line) == (6, 8)
    assert d["T"].kind == "struct" and d["Runner"].kind == "interface" and d["New"].docstring == "// New makes one."

    java = b"""package p;

@Entity
public class Shop {
    public Shop() {}
    @Override
    public String toString() { return ""; }
    void add(int a) {}
    void add(String s) {}
    static class Item {
        void add(int a) {}
    }
    enum Kind { A; void k() {} }
}
interface Api { void call(); }
"""
    fs = extract("java", "Shop.java", java)
    d = {x.qualname: x for x in fs.definitions}
    assert d["Shop"].start_line == 3  # the annotation is in the span
    assert d["Shop.toString"].start_line == 6 and d["Shop.toString"].end_line == 7
    assert [x.start_line for x in fs.definitions if x.qualname == "Shop.add"] == [8, 9]  # overloads
    assert {"Shop.Shop", "Shop.Item", "Shop.Item.add", "Shop.Kind", "Shop.Kind.k", "Api", "Api.call"} <= set(d)

    rust = b"""#[derive(Debug)]
pub struct Point { x: i32 }

impl Point {
    #[inline]
    pub fn new(x: i32) -> Self {
        Point { x }
    }
    pub async fn fetch(&self) {}
}

impl Display for Point {
    fn fmt(&self) {}
}

pub trait Shape { fn area(&self) -> f64; }

mod inner { pub fn helper() {} }
"""
    d, _ = defs("rust", rust)
    assert d["Point"].start_line == 1 and d["Point"].kind == "struct"
    assert (d["Point.new"].start_line, d["Point.new"].end_line) == (5, 8) and d["Point.new"].kind == "method"
    assert d["Point.fetch"].is_async and d["Point.fmt"].kind == "method"
    assert d["impl Point"].kind == "impl" and d["impl Display for Point"].kind == "impl"
    assert d["Shape.area"].kind == "method" and d["inner.helper"].kind == "function"


def test_skeleton_elides_bodies_and_keeps_signatures():
    body = "".join(f"    x{i} = compute({i})\n" for i in range(30))
    src = (f'class Shape:\n    """Shapes."""\n\n    def area(self, scale):\n        """Area.\n\n        Long.\n        More.\n        """\n'
           f'{body.replace("    ", "        ")}        return x0\n\n    def tiny(self): return 1\n\n\n'
           f'def helper():\n{body}    return 1\n')
    _, fs = defs("python", src.encode())
    sk = fs.skeleton(src)
    lines = sk.splitlines()
    assert lines[0].split() == ["1", "class", "Shape:"]
    assert any(ln.split()[1:] == ["def", "area(self,", "scale):"] for ln in lines)
    assert '"""Area.' in sk and "More." not in sk  # a long docstring keeps its first lines
    assert "def tiny(self): return 1" in sk and "def helper():" in sk
    assert "compute" not in sk and "... (lines 8-40)" in sk and "... (lines 46-76)" in sk
    assert len(sk) < len(src) / 4
    # brace languages keep the braces around the elided body
    go = b"package p\n\nfunc F() {\n\ta := 1\n\tb := 2\n\treturn\n}\n"
    gofs = extract("go", "f.go", go)
    assert gofs.skeleton(go.decode()).splitlines()[2:5] == ["    3 func F() {", "      \t... (lines 4-6)", "    7 }"]


def test_cache_reparses_only_changed_files(tmp_path):
    repo = make_repo(tmp_path / "r", {f"m{i}.py": f"def f{i}():\n    return {i}\n" for i in range(5)})
    cache = SymbolCache(tmp_path / "cache.sqlite")
    first = build_index(repo, cache=cache)
    assert (first.stats.parsed, first.stats.cached) == (5, 0)
    second = build_index(repo, cache=cache)
    assert (second.stats.parsed, second.stats.cached) == (0, 5)
    (repo / "m3.py").write_text("def changed():\n    return 3\n")
    third = build_index(repo, cache=cache)
    assert (third.stats.parsed, third.stats.cached) == (1, 4)
    assert [d.qualname for d in third.files["m3.py"].definitions] == ["changed"]
    # a different path with the same content shares the entry, under its own path
    (repo / "copy.py").write_text("def changed():\n    return 3\n")
    fourth = build_index(repo, cache=cache)
    assert fourth.stats.parsed == 0 and fourth.files["copy.py"].definitions[0].path == "copy.py"


def test_bad_files_are_counted_not_fatal(tmp_path):
    files = {
        "ok.py": "def fine():\n    return 1\n",
        "broken.py": "def broken(:\n    return\n\ndef after():\n    return 2\n",
        "binary.py": b"\x00\x01\x02" * 100,
        "latin1.py": "s = 'caf\xe9'\n".encode("latin-1"),
        "huge.py": "x = 1\n" * 200_000,
        "notes.txt": "not source",
    }
    repo = make_repo(tmp_path / "r", files)
    os.symlink("loop_b.py", repo / "loop_a.py")
    os.symlink("loop_a.py", repo / "loop_b.py")
    idx = build_index(repo, cache=False)
    s = idx.stats
    assert s.skipped_binary == 1 and s.skipped_non_utf8 == 1 and s.skipped_huge == 1
    assert s.skipped_unreadable == 2  # the symlink loop
    assert s.partial == 1 and "after" in [d.qualname for d in idx.files["broken.py"].definitions]
    assert "ok.py" in idx.files and "notes.txt" not in idx.files


def test_empty_repo_and_workspace_source(tmp_path, small_repo):
    empty = make_repo(tmp_path / "empty", {})
    idx = build_index(empty, cache=False)
    assert idx.stats.files == 0 and list(idx.definitions()) == []
    from sandbox.workspace import LocalWorkspace

    with LocalWorkspace(small_repo) as ws:
        idx = build_index(ws, cache=False)
    assert [d.id for d in idx.find("add")] == ["pkg/core.py:add"]


@pytest.mark.parametrize("lang,src", [("python", b"def f(:\n"), ("javascript", b"function (){"),
                                      ("go", b"func {"), ("java", b"class {"), ("rust", b"fn {")])
def test_garbage_never_raises(lang, src):
    fs = extract(lang, "x", src)
    assert fs.has_error
