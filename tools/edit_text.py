"""The editing tools' text operations as pure functions of a file's text.

The tools (tools/edit.py) resolve names, read, guard and write; these functions only compute the
new text, so that the gold-patch derivation (swebench_runner/derive.py) can predict exactly what a call will
do. Whole lines are the unit: a definition is the lines `view_symbol` shows (decorators,
attributes and annotations included).
"""

from __future__ import annotations

import difflib
from collections import Counter

from .context import ToolError
from .symbols import Definition
from .text import (
    adapt_to_file,
    indent_of,
    indent_unit,
    is_blank,
    leading_blank_lines,
    newline_of,
    numbered,
    reindent,
    split_lines,
    strip_blank_edges,
    trailing_blank_lines,
    with_ending,
)

CONTAINER_KINDS = {"class", "interface", "struct", "enum", "trait", "impl", "module"}


def default_gap(lang: str | None, indent: str) -> int:
    """Blank lines between neighbouring definitions: 2 around top-level Python ones, else 1."""
    return 2 if lang == "python" and indent == "" else 1


def _prepare(source: str, text: str, what: str) -> str:
    body = strip_blank_edges(adapt_to_file(source, text))
    if not body.strip():
        raise ToolError(f"{what} is empty")
    return body


def replace_span(text: str, start: int, end: int, new_source: str) -> str:
    """`text` with lines start..end (1-based, inclusive) replaced by `new_source`, re-indented to
    the first line's indentation, in the file's line-ending and indentation style. A last line
    without a line ending keeps having none."""
    lines = split_lines(text)
    body = _prepare(new_source, text, "new_source")
    body = reindent(body, indent_of(lines[start - 1]))
    body = with_ending(body, newline_of(text), final=lines[end - 1].endswith("\n"))
    return "".join(lines[:start - 1]) + body + "".join(lines[end:])


def _placed(new_text: str, first: int, body: str) -> tuple[str, int, int]:
    """(new text, first line, last line) of an insertion."""
    return new_text, first, first + len(split_lines(body)) - 1


def _blank(nl: str, n: int) -> str:
    return nl * max(0, n)


def insert_after(text: str, lang: str | None, anchor: Definition, source: str) -> tuple[str, int, int]:
    """`text` with `source` inserted after `anchor`'s last line, at its indentation; (text, first
    and last line of the inserted definition). Leading blank lines of `source` are kept as the separation;
    without them, the usual gap for the language is used."""
    return _insert_at(text, lang, anchor.end_line, indent_of(split_lines(text)[anchor.start_line - 1]), source,
                      sibling_below=True)


def insert_before(text: str, lang: str | None, anchor: Definition, source: str) -> tuple[str, int, int]:
    """`text` with `source` inserted before `anchor`'s first line, at its indentation. Trailing blank
    lines of `source` are kept as the separation; without them, the usual gap is used."""
    lines = split_lines(text)
    nl = newline_of(text)
    indent = indent_of(lines[anchor.start_line - 1])
    body = reindent(_prepare(source, text, "source"), indent)
    body = with_ending(body, nl, True)
    src_lines = split_lines(adapt_to_file(source, text))
    tail = trailing_blank_lines(source)
    gap_after = "".join(src_lines[len(src_lines) - tail:]) if tail else _blank(nl, default_gap(lang, indent))
    at = anchor.start_line - 1
    gap_before = ""
    if at > 0 and not is_blank(lines[at - 1]) and indent_of(lines[at - 1]) == indent and \
            not lines[at - 1].lstrip().startswith(("@", "#", "//", "/*", "*", "#[")):
        gap_before = _blank(nl, default_gap(lang, indent))
    new = "".join(lines[:at]) + gap_before + body + gap_after + "".join(lines[at:])
    return _placed(new, at + 1 + gap_before.count("\n"), body)


def _insert_at(text: str, lang: str | None, at: int, indent: str, source: str, *,
               sibling_below: bool) -> tuple[str, int, int]:
    """Insert `source` after line `at` (1-based; 0: at the top) at `indent`."""
    lines = split_lines(text)
    nl = newline_of(text)
    adapted = adapt_to_file(source, text)
    body = reindent(_prepare(source, text, "source"), indent)
    lead = leading_blank_lines(adapted)
    gap = "".join(split_lines(adapted)[:lead]) if lead else _blank(nl, default_gap(lang, indent))
    before, after = lines[:at], lines[at:]
    final = True
    if before and not before[-1].endswith("\n"):  # the file ends here without a line ending
        before[-1] += nl
        final = False
    body = with_ending(body, nl, final)
    gap_after = ""
    if sibling_below and after and not is_blank(after[0]) and indent_of(after[0]) == indent:
        gap_after = _blank(nl, default_gap(lang, indent))
    new = "".join(before) + gap + body + gap_after + "".join(after)
    return _placed(new, at + 1 + gap.count("\n"), body)


def insert_into(text: str, lang: str | None, container: Definition, members: list[Definition],
                source: str) -> tuple[str, int, int]:
    """`source` appended to the body of `container` (a class), at its members' indentation."""
    lines = split_lines(text)
    cls_indent = indent_of(lines[container.start_line - 1])
    direct = [d for d in members if d.parent == container.qualname]
    if direct:
        indent = indent_of(lines[direct[0].start_line - 1])
    else:
        indent = _first_deeper_indent(lines, container, cls_indent) or cls_indent + indent_unit(lines)
    if lang == "python":
        return _insert_at(text, lang, container.end_line, indent, source, sibling_below=False)
    closing = lines[container.end_line - 1]
    if container.start_line == container.end_line or not closing.lstrip().startswith("}"):
        raise ToolError(f"the body of {container.qualname} does not end with a line of its own holding '}}'; "
                        "use str_replace to add to it")
    inner = lines[container.name_line:container.end_line - 1]
    has_members = any(not is_blank(ln) and indent_of(ln).startswith(indent) and len(indent_of(ln)) >= len(indent)
                      for ln in inner)
    nl = newline_of(text)
    adapted = adapt_to_file(source, text)
    lead = leading_blank_lines(adapted)
    gap = "".join(split_lines(adapted)[:lead]) if lead else (_blank(nl, 1) if has_members else "")
    body = with_ending(reindent(_prepare(source, text, "source"), indent), nl, True)
    at = container.end_line - 1
    new = "".join(lines[:at]) + gap + body + "".join(lines[at:])
    return _placed(new, at + 1 + gap.count("\n"), body)


def _first_deeper_indent(lines: list[str], container: Definition, cls_indent: str) -> str | None:
    for ln in lines[container.name_line:container.end_line]:
        ind = indent_of(ln)
        if not is_blank(ln) and len(ind) > len(cls_indent) and ind.startswith(cls_indent):
            return ind
    return None


def append_to_file(text: str, lang: str | None, source: str) -> tuple[str, int, int]:
    """`source` at the end of the file (top level), after the usual gap."""
    if not text:
        body = strip_blank_edges(source)
        if not body.strip():
            raise ToolError("source is empty")
        body = with_ending(body, newline_of(source), True)
        return _placed(body, 1, body)
    lines = split_lines(text)
    nl = newline_of(text)
    adapted = adapt_to_file(source, text)
    lead = leading_blank_lines(adapted)
    have = trailing_blank_lines(text)
    gap = "".join(split_lines(adapted)[:lead]) if lead else _blank(nl, default_gap(lang, "") - have)
    body = reindent(_prepare(source, text, "source"), "")
    final = text.endswith("\n")
    if not final:
        lines[-1] += nl
    body = with_ending(body, nl, final)
    return _placed("".join(lines) + gap + body, len(lines) + 1 + gap.count("\n"), body)


def delete_span(text: str, start: int, end: int) -> str:
    """`text` without lines start..end and one side's blank lines: those after the definition when
    a sibling follows, else those before it. A missing final line ending stays missing."""
    lines = split_lines(text)
    s, e = start - 1, end
    e2 = e
    while e2 < len(lines) and is_blank(lines[e2]):
        e2 += 1
    indent = indent_of(lines[s])
    if e2 < len(lines) and len(indent_of(lines[e2])) >= len(indent) and not lines[e2].lstrip().startswith("}"):
        kept = lines[:s] + lines[e2:]
    else:
        s2 = s
        while s2 > 0 and is_blank(lines[s2 - 1]):
            s2 -= 1
        kept = lines[:s2] + lines[e:]
    new = "".join(kept)
    if not text.endswith("\n") and new.endswith("\n"):
        new = with_ending(new, "\n", False)
    return new


def find_all(text: str, old: str, limit: int = 50) -> list[int]:
    """Start offsets of `old` in `text`, overlapping ones included (at most `limit`)."""
    out = []
    i = text.find(old)
    while i != -1 and len(out) < limit:
        out.append(i)
        i = text.find(old, i + 1)
    return out


def replace_unique(path: str, text: str, old: str, new: str) -> tuple[str, int, int]:
    """`text` with the one occurrence of `old` replaced by `new`; (text, first line, last line of the
    new text). ToolError when `old` occurs nowhere (with the closest lines) or several times."""
    if not old:
        raise ToolError("old is empty: give the exact text to replace (include a line around it to make it unique)")
    if old == new:
        raise ToolError("old and new are the same: nothing to change")
    hits = find_all(text, old)
    if not hits and "\r\n" in text and "\r" not in old:
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        hits = find_all(text, old)
    if not hits:
        raise ToolError(no_match_message(path, text, old))
    if len(hits) > 1:
        shown = [f"  line {text.count(chr(10), 0, h) + 1}: {split_lines(text[h:])[0].strip()[:80]}" for h in hits[:10]]
        more = "" if len(hits) < 50 else " (at least)"
        raise ToolError(f"old occurs {len(hits)} times{more} in {path}:\n" + "\n".join(shown)
                        + "\nInclude more of the surrounding lines in old (and new) so that it occurs once.")
    at = hits[0]
    first = text.count("\n", 0, at) + 1
    last = first + new.count("\n") - (1 if new.endswith("\n") else 0)
    return text[:at] + new + text[at + len(old):], first, max(first, last)


def no_match_message(path: str, text: str, old: str) -> str:
    """Why `old` was not found, with the file's lines that resemble it most."""
    lines = split_lines(text)
    want = [ln.strip() for ln in split_lines(old)]
    votes: Counter = Counter()
    index: dict[str, list[int]] = {}
    for i, ln in enumerate(lines):
        index.setdefault(ln.strip(), []).append(i)
    for k, w in enumerate(want):
        if w:
            for i in index.get(w, [])[:200]:
                votes[i - k] += 1
    if votes:
        start = max(0, votes.most_common(1)[0][0])
    else:
        first = next((w for w in want if w), "")
        stripped = [ln.strip() for ln in lines]
        close = difflib.get_close_matches(first, stripped, n=1, cutoff=0.4) if first else []
        if not close:
            return (f"old was not found in {path}, and no line resembles it. View the file (view_file) "
                    "and copy the text exactly.")
        start = stripped.index(close[0])
    n = max(1, len(want))
    lo, hi = max(0, start - 1), min(len(lines), start + n + 1)
    window = lines[start:start + n]
    hint = ""
    if [w.strip() for w in window] == want:
        hint = "\nThe text is there with different indentation or spacing; copy it exactly as shown."
    return (f"old was not found in {path}. The closest lines:\n" + numbered(lines[lo:hi], lo + 1) + hint
            + "\nCall again with old copied exactly from the file (whitespace included).")
