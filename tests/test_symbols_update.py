"""The symbol index updated one file at a time answers exactly as one built afresh."""

from __future__ import annotations

from tool_helpers import call, ok, tool_context

from tools.symbols import SymbolIndex, build_index, extract

FILES = {
    "pkg/b.py": "def run():\n    pass\n\n\nclass Job:\n    def run(self):\n        pass\n",
    "pkg/d.py": "def run():\n    return 1\n\n\ndef only_d():\n    pass\n",
    "pkg/f.py": "class Job:\n    def run(self):\n        return 2\n",
}


def fresh(files: dict[str, str]) -> SymbolIndex:
    return build_index({p: t.encode() for p, t in files.items()}, cache=False)


def same(a: SymbolIndex, b: SymbolIndex) -> None:
    """Same files in the same order, same definitions under every name in the same order."""
    assert list(a.files) == list(b.files)
    assert list(a.definitions()) == list(b.definitions())
    assert sorted(a.names()) == sorted(b.names())
    for name in a.names():
        assert a.find(name) == b.find(name), name
    assert a.find("Job.run") == b.find("Job.run")


def test_replace_file_matches_a_fresh_build():
    files = dict(FILES)
    index = fresh(files)
    steps = [
        ("pkg/d.py", "def run():\n    return 1\n\n\nclass Job:\n    def run(self):\n        pass\n"),  # changed
        ("pkg/c.py", "def run():\n    pass\n"),  # new, inside the order
        ("pkg/z.py", "def only_z():\n    pass\n"),  # new, at the end
        ("pkg/a.py", "class Job:\n    pass\n"),  # new, first
        ("pkg/d.py", None),  # removed: only_d's name goes with it
        ("pkg/f.py", "x = 1\n"),  # no definitions left
        ("pkg/missing.py", None),  # removing what is not there changes nothing
    ]
    for path, text in steps:
        if text is None:
            files.pop(path, None)
            index.replace_file(path, None)
        else:
            files[path] = text
            index.replace_file(path, extract("python", path, text.encode()))
        same(index, fresh(files))
    assert index.find("only_d") == [] and "only_d" not in index.names()
    assert [d.path for d in index.find("run")] == ["pkg/b.py", "pkg/b.py", "pkg/c.py"]


def test_the_tools_index_follows_edits_and_commands(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        assert [d.id for d in ctx.index().find("Job.run")] == ["pkg/b.py:Job.run", "pkg/f.py:Job.run"]
        ok(ctx, "insert_symbol", path="pkg/d.py", source="class Job:\n    def run(self):\n        return 3\n")
        ok(ctx, "create_file", path="pkg/c.py", content="def only_c():\n    pass\n")
        assert call(ctx, "bash", command="rm pkg/f.py && printf 'def only_e():\\n    pass\\n' > pkg/e.py").text
        index = ctx.index()
        now = {p: ctx.workspace.read_file(p) for p in ctx.workspace.list_files()}
        same(index, fresh(now))
        assert [d.id for d in index.find("Job.run")] == ["pkg/b.py:Job.run", "pkg/d.py:Job.run"]
        assert [d.id for d in index.find("only_e")] == ["pkg/e.py:only_e"]
