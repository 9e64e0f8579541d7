"""Editing tools: whole definitions by name, exact text replacement, new files, undo.

Every edit goes through the guard (tools/guard.py) before it is written: an edit that would bring a
syntax error is refused and the file stays byte-for-byte as it was.
"""

from __future__ import annotations

import difflib
import re

from .context import ToolContext, ToolError
from .edit_text import (
    CONTAINER_KINDS,
    append_to_file,
    delete_span,
    insert_after,
    insert_before,
    insert_into,
    replace_span,
    replace_unique,
)
from .effects import Effect, effect
from .guard import undefined_in
from .symbols import language_of
from .text import cut_note, numbered, split_lines

SHOW_LINES = 40
DIFF_LINES = 60
"""A replace_symbol diff longer than this keeps its first and last lines around a marker."""


def _show(path: str, text: str, first: int, last: int, context: int = 2) -> str:
    """The changed lines (first..last) with a little context, numbered; a span over SHOW_LINES
    lines keeps its beginning and end around a marker saying how many lines are not shown."""
    lines = split_lines(text)
    lo, hi = max(1, first - context), min(len(lines), last + context)
    if hi - lo + 1 <= SHOW_LINES:
        return numbered(lines[lo - 1:hi], lo)
    head_hi = lo + SHOW_LINES - 10 - 1
    tail_lo = hi - 7
    gap = f"  ... ({cut_note(tail_lo - head_hi - 1)}; view_file('{path}', start={head_hi + 1}, end={tail_lo - 1}) " \
          "shows them) ..."
    return "\n".join([numbered(lines[lo - 1:head_hi], lo), gap, numbered(lines[tail_lo - 1:hi], tail_lo)])


def _report(headline: str, path: str, text: str, first: int, last: int, warnings: list[str]) -> str:
    return _warned(f"{headline}\n{_show(path, text, first, last)}", warnings)


def _warned(out: str, warnings: list[str]) -> str:
    if warnings:
        out += f"\n{WARNINGS_HEAD}\n" + "\n".join(f"  {w}" for w in warnings)
    return out


WARNINGS_HEAD = "Warnings (the edit was applied):"


def clear_warnings(text: str, path: str, defined: set[str]) -> str:
    """An edit's answer (`_warned`: each warning indented two spaces, as `guard` words it) with the
    undefined-name warnings of `defined` taken out (later
    calls of the same turn defined them), and a line saying so; the header goes when no warning is left."""
    lines = text.split("\n")
    kept = [line for line in lines if not (line.startswith("  ") and set(undefined_in([line[2:]])) & defined)]
    if len(kept) == len(lines):
        return text
    if kept and kept[-1] == WARNINGS_HEAD:
        kept.pop()
    names = ", ".join(f"'{n}'" for n in sorted(defined))
    return "\n".join(kept) + (f"\nNo longer undefined after the later calls of this turn: {names} "
                               f"(defined in {path} now).")


def _span_diff(path: str, old: list[str], new: list[str], first: int, last: int, context: int = 2) -> str:
    """A unified diff of one span of `path` (`old` lines -> `new` lines, both starting at line
    `first`; the new span ends at `last`), its @@ numbers the file's; over DIFF_LINES lines it keeps
    its beginning and end around a marker saying how many lines are not shown."""
    shift = first - 1

    def renumber(m: re.Match) -> str:
        a, b = (f"{int(m.group(i)) + shift}" + (m.group(i + 1) or "") for i in (1, 3))
        return f"@@ -{a} +{b} @@"

    rows = [re.sub(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", renumber, r) if r.startswith("@@") else r
            for r in difflib.unified_diff([x.rstrip("\r\n") for x in old], [x.rstrip("\r\n") for x in new],
                                          f"a/{path}", f"b/{path}", n=context, lineterm="")][2:]
    if not rows:
        return "(the new source is the same as the old: nothing changed)"
    if len(rows) > DIFF_LINES:
        gap = f"... ({len(rows) - DIFF_LINES + 10} diff lines not shown; view_file('{path}', start={first}, " \
              f"end={last}) shows the new definition) ..."
        rows = rows[:DIFF_LINES - 20] + [gap] + rows[-10:]
    return "\n".join(rows)


def _defined_at(ctx: ToolContext, path: str, first: int, last: int) -> list[str]:
    fs = ctx.symbols(path)
    if fs is None:
        return []
    return [d.qualname for d in fs.definitions if first <= d.start_line <= last and
            not any(o is not d and o.start_line <= d.start_line and d.end_line <= o.end_line and
                    first <= o.start_line for o in fs.definitions)]


@effect(Effect.EDITS)
def replace_symbol(ctx: ToolContext, name: str, new_source: str) -> str:
    """Replace a whole function, method or class (its decorators included) with new source code.

    new_source is the complete new definition, decorators included. It is re-indented to the
    original's level, so it may be given at any indentation. The edit is refused, and the file left
    unchanged, if it would introduce a syntax error.

    Args:
        name: The definition: `function`, `Class.method`, or `path/to/file.py:Class.method` when the
            name alone is ambiguous.
        new_source: The full new source of the definition.
    """
    d = ctx.resolve(name)
    text = ctx.text_for_edit(d.path)
    new_text = replace_span(text, d.start_line, d.end_line, new_source)
    result = ctx.commit(d.path, new_text, text.encode("utf-8"))
    last = d.end_line + len(split_lines(new_text)) - len(split_lines(text))
    headline = f"Replaced {d.id} (was lines {d.start_line}-{d.end_line}, now {d.start_line}-{last})."
    now = _defined_at(ctx, d.path, d.start_line, last)
    if now and d.name not in [q.rsplit(".", 1)[-1] for q in now]:
        headline += f" Note: the lines now define {', '.join(now)}."
    diff = _span_diff(d.path, split_lines(text)[d.start_line - 1:d.end_line],
                      split_lines(new_text)[d.start_line - 1:last], d.start_line, last)
    return _warned(f"{headline} What changed (unified diff, 2 lines of context; @@ numbers are the file's "
                   f"lines):\n{diff}", result.warnings)


@effect(Effect.EDITS)
def insert_symbol(ctx: ToolContext, source: str, after: str | None = None, before: str | None = None,
                  into: str | None = None, path: str | None = None) -> str:
    """Insert a new definition (function, method, class, ...) next to an existing one, into a class,
    or at the end of a file. Give exactly one of after, before, into or path.

    The source is re-indented to where it goes and separated from its neighbours by the usual blank
    lines (leading blank lines in source replace that separation for `after`, trailing ones for
    `before`). The edit is refused if it would introduce a syntax error.

    Args:
        source: The new definition's source code.
        after: Insert right after this definition (same name forms as replace_symbol).
        before: Insert right before this definition.
        into: Append to the body of this class (or struct, impl, interface).
        path: Append at the end of this file.
    """
    given = [k for k, v in (("after", after), ("before", before), ("into", into), ("path", path)) if v]
    if len(given) != 1:
        raise ToolError("give exactly one of after, before, into (a class) or path (end of that file); "
                        f"got {', '.join(given) if given else 'none'}")
    if path:
        p = ctx.rel_for_edit(path)
        if not ctx.exists(p):
            raise ToolError(f"{p} does not exist; use create_file to make a new file")
        text = ctx.text_for_edit(p)
        new_text, first, last = append_to_file(text, language_of(p), source)
        where = f"at the end of {p}"
    else:
        anchor = ctx.resolve(after or before or into)
        p = anchor.path
        text = ctx.text_for_edit(p)
        lang = language_of(p)
        if after:
            new_text, first, last = insert_after(text, lang, anchor, source)
            where = f"after {anchor.id}"
        elif before:
            new_text, first, last = insert_before(text, lang, anchor, source)
            where = f"before {anchor.id}"
        else:
            if anchor.kind not in CONTAINER_KINDS:
                raise ToolError(f"into takes a class (or struct, impl, interface); {anchor.id} is a {anchor.kind}. "
                                "Use after= to put the new definition next to it")
            fs = ctx.symbols(p)
            new_text, first, last = insert_into(text, lang, anchor, fs.definitions if fs else [], source)
            where = f"into {anchor.id}"
    result = ctx.commit(p, new_text, text.encode("utf-8"))
    names = _defined_at(ctx, p, first, last)
    what = ", ".join(names) if names else "the source"
    return _report(f"Inserted {what} {where} ({p}, lines {first}-{last}).", p, new_text, first, last,
                   result.warnings)


@effect(Effect.EDITS)
def delete_symbol(ctx: ToolContext, name: str) -> str:
    """Delete a whole function, method or class (decorators included) and the blank lines that
    separated it. Refused if the file would no longer parse (e.g. a class left with an empty body).

    Args:
        name: The definition: `function`, `Class.method` or `path/to/file.py:Class.method`.
    """
    d = ctx.resolve(name)
    text = ctx.text_for_edit(d.path)
    new_text = delete_span(text, d.start_line, d.end_line)
    result = ctx.commit(d.path, new_text, text.encode("utf-8"))
    at = min(d.start_line, len(split_lines(new_text)))
    return _report(f"Deleted {d.id} (was lines {d.start_line}-{d.end_line}).", d.path, new_text, at, at - 1,
                   result.warnings)


@effect(Effect.EDITS)
def str_replace(ctx: ToolContext, path: str, old: str, new: str) -> str:
    """Replace one exact piece of text in a file, for changes that are not whole definitions
    (imports, a line inside a long function, module-level code).

    old must occur exactly once in the file, whitespace included; include neighbouring lines to make
    it unique. When it is not found, the answer shows the closest lines. Refused if the result would
    not parse.

    Args:
        path: The file, relative to the repository root.
        old: The exact text to replace (one or more whole or partial lines).
        new: The text to put in its place (may be empty to delete old).
    """
    p = ctx.rel_for_edit(path)
    text = ctx.text_for_edit(p)
    new_text, first, last = replace_unique(p, text, old, new)
    result = ctx.commit(p, new_text, text.encode("utf-8"))
    return _report(f"Edited {p} (lines {first}-{last}).", p, new_text, first, last, result.warnings)


@effect(Effect.EDITS)
def create_file(ctx: ToolContext, path: str, content: str, overwrite: bool = False) -> str:
    """Create a new file with the given content (parent directories are made). Refused if the
    file exists (unless overwrite is true) or if the content would not parse.

    Args:
        path: The new file's path, relative to the repository root.
        content: The whole content of the file.
        overwrite: Replace the file if it exists already.
    """
    p = ctx.rel_for_edit(path)
    old = None
    if ctx.exists(p):
        if not overwrite:
            raise ToolError(f"{p} exists already; change it with replace_symbol or str_replace, "
                            "or pass overwrite=true to replace it whole")
        old = ctx.read_bytes(p)
    result = ctx.commit(p, content, old)
    n = len(split_lines(content))
    headline = f"{'Overwrote' if old is not None else 'Created'} {p} ({n} lines)."
    return _report(headline, p, content, 1, n, result.warnings)


@effect(Effect.EDITS)
def undo_edit(ctx: ToolContext, path: str) -> str:
    """Undo the last edit the tools made to a file (repeat to go further back).

    Args:
        path: The file, relative to the repository root.
    """
    p = ctx.rel_for_edit(path)
    restored, left = ctx.undo(p)
    if restored is None:
        return f"Removed {p} (the undone edit had created it)."
    return f"Restored {p} as it was before its last edit ({left} earlier edit{'s' if left != 1 else ''} left to undo)."
