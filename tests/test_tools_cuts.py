"""Every tool answer that leaves lines out says how many: the shown lines and the counted ones add
up to the whole (edit previews, create_file, view_file, view_symbol and skeleton cuts, search,
bash output, the registry's cap on any answer, repeated str_replace matches, undefined names)."""

from __future__ import annotations

import re

from tool_helpers import ok, refused, tool_context

from tools import registry
from tools.text import cap_text

NUMBERED = re.compile(r"^\s*(\d+) ", re.M)


def numbers(answer: str) -> list[int]:
    """The line numbers an answer shows (rows of `numbered`)."""
    return [int(n) for n in NUMBERED.findall(answer)]


def not_shown(answer: str) -> int:
    """The count in the answer's one cut marker."""
    found = re.findall(r"([\d,]+) lines? (?:\([\d,]+ characters?\) )?not shown", answer)
    assert len(found) == 1, answer
    return int(found[0].replace(",", ""))


def lines_of(n: int, width: int = 0) -> str:
    return "".join(f"x{i} = {i}{' ' * width}\n" for i in range(1, n + 1))


def test_create_file_shows_a_short_file_whole(tmp_path):
    content = lines_of(17)
    with tool_context(tmp_path, {"a.py": "A = 1\n"}) as ctx:
        out = ok(ctx, "create_file", path="pkg/seventeen.py", content=content)
        assert out.splitlines()[0] == "Created pkg/seventeen.py (17 lines)."
        assert numbers(out) == list(range(1, 18)) and "not shown" not in out


def test_create_file_marks_the_lines_it_leaves_out(tmp_path):
    with tool_context(tmp_path, {"a.py": "A = 1\n"}) as ctx:
        out = ok(ctx, "create_file", path="big.py", content=lines_of(100))
        shown = numbers(out)
        assert shown == list(range(1, 31)) + list(range(93, 101))
        assert len(shown) + not_shown(out) == 100
        assert "view_file('big.py', start=31, end=92) shows them" in out


def test_an_edit_preview_counts_what_it_cuts(tmp_path):
    with tool_context(tmp_path, {"m.py": "def f():\n    return 1\n\n\nEND = 1\n"}) as ctx:
        body = "def g():\n" + "".join(f"    x{i} = {i}\n" for i in range(60)) + "    return 1\n"
        out = ok(ctx, "insert_symbol", source=body, after="f")
        shown = numbers(out)
        # lines 5-66 inserted, 2 lines of context around them: 66 lines in the window
        assert shown[0] == 3 and shown[-1] == 68 and len(shown) + not_shown(out) == 66
        assert f"view_file('m.py', start={shown[29] + 1}, end={shown[30] - 1})" in out


def test_replace_symbol_shows_what_changed_as_a_diff(tmp_path):
    """The echo of the new definition hid which lines changed: the answer is a unified diff of the
    definition (the file's line numbers in its @@ lines), cut when long."""
    src = "import os\n\n\ndef f(a):\n    x = 1\n    y = 2\n    z = 3\n    return a + x\n\n\nEND = 1\n"
    with tool_context(tmp_path, {"m.py": src}) as ctx:
        out = ok(ctx, "replace_symbol", name="f", new_source="def f(a):\n    x = 1\n    y = 2\n    z = 3\n"
                                                             "    return a - x\n")
        assert out == ("Replaced m.py:f (was lines 4-8, now 4-8). What changed (unified diff, 2 lines of context; "
                       "@@ numbers are the file's lines):\n@@ -6,3 +6,3 @@\n     y = 2\n     z = 3\n"
                       "-    return a + x\n+    return a - x")
        body = "def f(a):\n" + "".join(f"    x{i} = {i}\n" for i in range(80)) + "    return a - x0\n"
        out = ok(ctx, "replace_symbol", name="f", new_source=body)
        rows = out.splitlines()
        assert rows[0].startswith("Replaced m.py:f (was lines 4-8, now 4-85).") and rows[1].startswith("@@ -4,5 +4,82 @@")
        assert len(rows) == 1 + 60 - 20 + 1 + 10
        assert re.fullmatch(r"\.\.\. \(\d+ diff lines not shown; view_file\('m.py', start=4, end=85\) shows the new "
                            r"definition\) \.\.\.", rows[41])


def test_skeleton_cuts_say_how_many_lines_are_left(tmp_path):
    funcs = "".join(f"def f{i}(a):\n    return a\n\n\n" for i in range(400))  # 4 skeleton rows each
    methods = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(300))
    with tool_context(tmp_path, {"many.py": funcs, "big.py": "class Big:\n" + methods}) as ctx:
        out = ok(ctx, "skeleton", path="many.py")
        body = ctx.symbols("many.py").skeleton(ctx.read_bytes("many.py").decode()).split("\n")
        assert len(out.splitlines()) - 3 + not_shown(out) == len(body)  # the head and the two note lines
        assert "skeleton cut after 600 lines" in out
        # every top-level name stays visible: f150..f399 start after the cut
        note = out.splitlines()[-1]
        assert note.startswith("(not shown above, 250 top-level definition(s) of many.py, with their lines: "
                               "f150 (601), f151 (605),") and "f399 (1597)" in note
        out = ok(ctx, "skeleton", path="big.py")  # a long class: its hidden methods are named, up to 40
        assert out.splitlines()[-1].startswith("(methods not shown above, ") and "Big: m" in out.splitlines()[-1]
        out = ok(ctx, "view_symbol", name="Big")
        body = ctx.symbols("big.py").skeleton(ctx.read_bytes("big.py").decode(), 1, 900).split("\n")
        assert len(out.splitlines()) - 2 + not_shown(out) == len(body)
        assert "skeleton cut after 400 lines" in out


def test_search_counts_the_matching_lines_it_leaves_out(tmp_path):
    with tool_context(tmp_path, {"m.py": lines_of(80)}) as ctx:
        out = ok(ctx, "search", pattern=r"^x\d")
        assert len(out.splitlines()) - 2 + int(re.search(r"\((\d+) more matching lines not shown", out)[1]) == 80


def test_bash_output_is_cut_at_lines_and_counted(tmp_path):
    with tool_context(tmp_path, {"a.py": "A = 1\n"}) as ctx:
        out = ok(ctx, "bash", command="seq 1 20000")
        rows = [ln for ln in out.splitlines()[1:] if ln.isdigit()]
        assert rows[0] == "1" and rows[-1] == "20000"
        assert len(rows) + not_shown(out) == 20000
        k = next(i for i, r in enumerate(rows) if int(r) != i + 1)  # the first row after the cut
        assert rows == [str(i) for i in range(1, k + 1)] + [str(i) for i in range(20001 - (len(rows) - k), 20001)]


def test_the_registry_cap_counts_the_lines_of_any_answer(tmp_path):
    with tool_context(tmp_path, {"wide.txt": lines_of(1000, width=80)}) as ctx:
        out = ok(ctx, "view_file", path="wide.txt", end=1000)
        assert len(out) <= registry.MAX_RESULT_CHARS + 100
        shown = numbers(out)
        assert shown == list(range(1, len(shown) + 1))
        assert len(shown) + 1 + not_shown(out) == 1000 + 1  # the answer's head line is kept too


def test_cap_text_keeps_whole_lines_and_marks_a_cut_inside_one():
    text = "".join(f"row {i}\n" for i in range(100))
    out = cap_text(text, 30, 20)
    assert out.startswith("row 0\n") and "[... " in out and out.endswith("row 99\n")
    assert len([ln for ln in out.splitlines() if ln.startswith("row")]) + not_shown(out) == 100
    assert cap_text(text, 10_000) == text
    assert cap_text("y" * 100, 20, 10) == "y" * 20 + "\n[... 70 characters of one line not shown ...]\n" + "y" * 10


def test_repeated_matches_and_undefined_names_are_counted(tmp_path):
    with tool_context(tmp_path, {"m.py": "".join(f"v{i} = 0\n" for i in range(14))}) as ctx:
        text = refused(ctx, "str_replace", path="m.py", old=" = 0", new=" = 1")
        assert "old occurs 14 times" in text and "  ... and 4 more, not shown" in text
        assert text.count("  line ") == 10
        new = "".join(f"w{i} = undefined_{i}\n" for i in range(13))
        out = ok(ctx, "create_file", path="n.py", content=new)
        assert out.count("undefined name 'undefined_") == 10 and "... and 3 more undefined names, not shown" in out
