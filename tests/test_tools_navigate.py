"""Navigation tools: windows with line numbers, definitions by every name form, skeletons, the
directory tree and search (both respecting .gitignore), find_symbol, and helpful wrong-call answers."""

from __future__ import annotations

from tool_helpers import ok, refused, tool_context

from tools.toolset import TOOLS

MOD = '''import os


class Outer:
    """Outer's doc."""

    def method(self, a):
        return a

    class Inner:
        def method(self):
            return 2


def parse_config(path):
    """Read the config."""
    with open(path) as fh:
        return fh.read()
'''
OTHER = '''class Other:
    def method(self):
        return 3

    @property
    def x(self):
        return 1

    @x.setter
    def x(self, v):
        pass
'''
FILES = {
    "pkg/__init__.py": "",
    "pkg/mod.py": MOD,
    "pkg/other.py": OTHER,
    "pkg/big.txt": "".join(f"line {i}\n" for i in range(1, 451)),
    "pkg/data.bin": b"\x00\x01\x02binary",
    "docs/index.md": "# parse_config docs\n",
    ".gitignore": "build/\n*.log\n",
}


def test_view_file_windows_and_remaining_lines(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        out = ok(ctx, "view_file", path="pkg/big.txt")
        lines = out.splitlines()
        assert lines[0] == "pkg/big.txt: lines 1-200 of 450"
        assert lines[1] == "    1 line 1" and lines[200] == "  200 line 200"
        assert lines[-1] == "(250 more lines; view_file(path, start=201) shows the next ones)"
        out = ok(ctx, "view_file", path="pkg/big.txt", start=440, end=460)
        assert out.splitlines()[0] == "pkg/big.txt: lines 440-450 of 450" and "more lines" not in out
        assert "past its end" in refused(ctx, "view_file", path="pkg/big.txt", start=451)
        assert "before start" in refused(ctx, "view_file", path="pkg/big.txt", start=10, end=5)
        assert "binary file" in refused(ctx, "view_file", path="pkg/data.bin")
        assert "is a directory; use list_dir" in refused(ctx, "view_file", path="pkg")


def test_view_file_missing_suggests_similar_paths(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        text = refused(ctx, "view_file", path="mod.py")
        assert "mod.py does not exist" in text and "pkg/mod.py" in text


def test_view_symbol_name_forms(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        out = ok(ctx, "view_symbol", name="parse_config")
        assert out.splitlines()[0] == "pkg/mod.py:parse_config (function, lines 15-18)"
        assert "   18         return fh.read()" in out
        assert "pkg/mod.py:Outer.Inner.method" in ok(ctx, "view_symbol", name="Inner.method")
        assert "pkg/mod.py:Outer.method (method, lines 7-8)" in ok(ctx, "view_symbol", name="pkg/mod.py:Outer.method")
        assert "pkg/mod.py:Outer.method" in ok(ctx, "view_symbol", name="mod.py:Outer.method")  # a path suffix
        assert "pkg/mod.py:Outer.method" in ok(ctx, "view_symbol", name="pkg.mod.Outer.method")  # a module path
        assert "(method, lines 9-11)" in ok(ctx, "view_symbol", name="pkg/other.py:Other.x@10")


def test_ambiguous_name_lists_candidates_with_paths_and_lines(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        text = refused(ctx, "view_symbol", name="method")
        assert "'method' matches 3 definitions" in text
        for row in ("pkg/mod.py:Outer.method  (method, lines 7-8)", "pkg/mod.py:Outer.Inner.method  (method, lines 11-12)",
                    "pkg/other.py:Other.method  (method, lines 2-3)"):
            assert row in text
        assert "Call again with one of these names" in text
        text = refused(ctx, "replace_symbol", name="Other.x", new_source="def x(self):\n    return 2\n")
        assert "pkg/other.py:Other.x@5" in text and "pkg/other.py:Other.x@9" in text


def test_unknown_name_suggests_nearest(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        text = refused(ctx, "view_symbol", name="parse_confg")
        assert "no definition named 'parse_confg'" in text and "pkg/mod.py:parse_config" in text
        text = refused(ctx, "view_symbol", name="pkg/mod.py:Outer.methd")
        assert "pkg/mod.py:Outer.method" in text
        assert "Near names" in ok(ctx, "find_symbol", name="Parse_Config")


def test_skeleton_folds_bodies(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        out = ok(ctx, "skeleton", path="pkg/mod.py")
        assert out.splitlines()[0] == "pkg/mod.py: 18 lines, 5 definitions"
        assert "   15 def parse_config(path):" in out and '   16     """Read the config."""' in out
        assert "          ... (lines 17-18)" in out and "fh.read()" not in out
        assert "view_file" in refused(ctx, "skeleton", path="docs/index.md")


def test_list_dir_respects_gitignore_and_depth(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        ctx.workspace.write_bytes("build/out.py", b"x = 1\n")
        ctx.workspace.write_bytes("run.log", b"noise\n")
        ctx.workspace.write_bytes("pkg/sub/deep/new.py", b"y = 2\n")
        out = ok(ctx, "list_dir", path=".", depth=1)
        assert "docs/ (1 file)" in out and "pkg/ (6 files)" in out
        assert "build" not in out and "run.log" not in out
        out = ok(ctx, "list_dir", path="pkg", depth=2)
        assert "  deep/ (1 file)" in out and "mod.py" in out
        assert "is a file" in refused(ctx, "list_dir", path="pkg/mod.py")
        assert "not a directory" in refused(ctx, "list_dir", path="nope")


def test_search_regex_glob_cap_and_gitignore(tmp_path):
    files = dict(FILES)
    files["pkg/many.py"] = "".join(f"value_{i} = {i}\n" for i in range(80))
    with tool_context(tmp_path, files) as ctx:
        ctx.workspace.write_bytes("build/hidden.py", b"def parse_config(): pass\n")
        out = ok(ctx, "search", pattern=r"def parse_\w+")
        assert out.splitlines() == ["1 match in 1 file (case-sensitive)", "pkg/mod.py:15: def parse_config(path):"]
        assert "docs/index.md:1: # parse_config docs" in ok(ctx, "search", pattern="parse_config", glob="*.md")
        out = ok(ctx, "search", pattern=r"value_\d+")
        assert out.splitlines()[0] == "80 matches in 1 file (case-sensitive, first 50 shown)"
        assert len(out.splitlines()) == 52 and "(30 more matching lines not shown; narrow with glob" in out
        assert "No matches" in ok(ctx, "search", pattern="zzz_nowhere")
        assert "not a valid regular expression" in refused(ctx, "search", pattern="(unclosed")


def test_a_capped_search_shows_python_files_before_translations(tmp_path):
    """sphinx: a warning's text matched 50 lines of locale/*.po before the tests that assert it."""
    files = {f"pkg/locale/{lang}/LC_MESSAGES/pkg.po": f'msgid "no number is assigned for %s"\nmsgstr "{lang}"\n'
             for lang in [f"l{i:02d}" for i in range(60)]}
    files["pkg/std.py"] = 'def resolve():\n    warn("no number is assigned for %s")\n'
    files["tests/test_build.py"] = 'def test_warns():\n    assert "no number is assigned for" in out\n'
    with tool_context(tmp_path, files) as ctx:
        out = ok(ctx, "search", pattern="no number is assigned")
    lines = out.splitlines()
    assert lines[0] == "62 matches in 62 files (case-sensitive, first 50 shown, Python files first, translations and data last)"
    assert lines[1] == "pkg/std.py:2: warn(\"no number is assigned for %s\")"
    assert lines[2].startswith("tests/test_build.py:2: ") and lines[3].startswith("pkg/locale/l00/")
    with tool_context(tmp_path / "few", {k: files[k] for k in list(files)[:3]}) as ctx:
        out = ok(ctx, "search", pattern="no number is assigned")  # all shown: git's order, no note
    assert out.splitlines()[0] == "3 matches in 3 files (case-sensitive)"


def test_search_is_case_sensitive_unless_asked_and_says_so(tmp_path):
    files = {"m.py": "Min = 1\nmin = 2\nMIN = 3\neliminate = 4\n"}
    with tool_context(tmp_path, files) as ctx:
        out = ok(ctx, "search", pattern="Min")
        assert out.splitlines() == ["1 match in 1 file (case-sensitive)", "m.py:1: Min = 1"]
        out = ok(ctx, "search", pattern="Min", ignore_case=True)
        assert out.splitlines() == ["4 matches in 1 file (case ignored)", "m.py:1: Min = 1", "m.py:2: min = 2",
                                    "m.py:3: MIN = 3", "m.py:4: eliminate = 4"]
        assert ok(ctx, "search", pattern=r"\bmin\b", ignore_case=True).splitlines()[0] == "3 matches in 1 file (case ignored)"
        assert ok(ctx, "search", pattern="(?i)^MIN").splitlines()[0] == "3 matches in 1 file (case ignored)"
        # no letter, no rule to state; a miss says which rule missed
        assert ok(ctx, "search", pattern=r"= \d").splitlines()[0] == "4 matches in 1 file"
        assert ok(ctx, "search", pattern="MINIMUM") == \
            "No matches for 'MINIMUM' (case-sensitive; ignore_case=true matches any case)."
        assert ok(ctx, "search", pattern="MINIMUM", ignore_case=True) == "No matches for 'MINIMUM'."
    search = next(t for t in TOOLS.specs() if t.name == "search").openai_schema()["function"]
    assert "case-sensitive unless ignore_case is true" in search["description"]
    assert search["parameters"]["properties"]["ignore_case"] == {
        "type": "boolean", "default": False,
        "description": "Match letters whatever their case (`min` also matches `Min` and `MIN`); default false: "
                       "case-sensitive."}


def test_find_symbol_lists_all_definitions(tmp_path):
    with tool_context(tmp_path, FILES) as ctx:
        out = ok(ctx, "find_symbol", name="method")
        assert out.splitlines()[0] == "3 definitions of 'method'"
        assert "pkg/other.py:Other.method  (method, lines 2-3)  def method(self)" in out
        out = ok(ctx, "find_symbol", name="x")
        assert "pkg/other.py:Other.x@5  (method, lines 5-7)  def x(self)" in out


def test_paths_outside_the_repository_are_refused(tmp_path):
    outside = tmp_path / "secret.py"
    outside.write_text("x = 1\n")
    with tool_context(tmp_path, FILES) as ctx:
        for bad in ("../secret.py", "/etc/passwd", "pkg/../../secret.py"):
            assert "outside the repository" in refused(ctx, "view_file", path=bad)
            assert "outside the repository" in refused(ctx, "str_replace", path=bad, old="x", new="y")
            assert "outside the repository" in refused(ctx, "create_file", path=bad, content="x = 1\n")
        (tmp_path / "repo").joinpath("link.py").symlink_to(outside)  # the source repo; copy it in
        ctx.workspace.run(f"ln -s {outside} link.py")
        ctx.invalidate()
        assert "symbolic link" in refused(ctx, "str_replace", path="link.py", old="x = 1", new="x = 2")
        assert outside.read_text() == "x = 1\n"
        abs_ok = ok(ctx, "view_file", path=f"{ctx.workspace.root}/pkg/mod.py", start=1, end=1)
        assert abs_ok.startswith("pkg/mod.py: lines 1-1")
        assert "cannot be edited" in refused(ctx, "create_file", path=".git/config", content="x", overwrite=True)


def test_a_long_class_is_shown_as_its_skeleton(tmp_path):
    methods = "".join(f"    def m{i}(self):\n" + "".join(f"        x = {k}\n" for k in range(8)) + "\n" for i in range(50))
    with tool_context(tmp_path, {"big.py": "class Big:\n" + methods}) as ctx:
        out = ok(ctx, "view_symbol", name="Big")
        assert out.startswith("big.py:Big (class, lines 1-500), shown as a skeleton")
        assert "    2     def m0(self):" in out and "              ... (lines 3-10)" in out
        assert "x = 3" not in out and len(out.splitlines()) < 160
