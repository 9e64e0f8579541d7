"""The edit guard: an edit is parsed before it is written, and refused when it brings a syntax error
the file did not already have.

Every language of the symbol index is parsed with tree-sitter; Python is also compiled with the
running interpreter (`compile()` is the authority for Python: when it accepts the new text,
errors that only tree-sitter's grammar sees do not block the edit). Errors are compared by
content (the kind of error and the text of its line), not by line number, so a file that was
already broken stays editable as long as the edit adds no error of its own. For Python, names
that the edit leaves undefined (pyflakes) come back as warnings; the edit is applied.

The guard is bounded: a file over CHECK_MAX_BYTES (before or after the edit) is not parsed (parsing
costs seconds and hundreds of MB per MB of Python); the edit is applied with a warning that says
so. Undefined names are looked for up to LINT_MAX_BYTES.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field

from pyflakes import checker, messages

from .symbols import language_of, parse_tree
from .text import numbered, split_lines

CHECK_MAX_BYTES = 1_000_000
"""Files larger than this (before or after an edit) are edited without a syntax check, with a warning."""
LINT_MAX_BYTES = 256_000
"""Python files larger than this are not searched for undefined names."""
MAX_WARNINGS = 10
"""Undefined names reported per edit; a last line counts the others."""


@dataclass(frozen=True)
class SyntaxIssue:
    """One syntax error: where it is and what it is."""

    line: int
    """1-based line in the text that was checked."""
    message: str
    key: tuple = ()
    """The error's identity across edits: its kind and its line's text (no line number)."""


@dataclass
class Verdict:
    """What the guard says about an edit."""

    ok: bool
    errors: list[SyntaxIssue] = field(default_factory=list)
    """The errors the edit would bring (empty when ok)."""
    warnings: list[str] = field(default_factory=list)
    """Undefined names the edit brings (Python), one line each; the edit is still applied."""


@functools.lru_cache(maxsize=64)
def _analyze(lang: str, data: bytes) -> tuple[tuple[SyntaxIssue, ...], SyntaxIssue | None, tuple]:
    """(tree-sitter errors, the compile() error or None, undefined names as (line, name))."""
    ts_issues = tuple(_tree_sitter_issues(lang, data))
    compile_issue = None
    undefined: tuple = ()
    if lang == "python":
        compile_issue, tree = _compile(data)
        if tree is not None and len(data) <= LINT_MAX_BYTES:
            undefined = tuple(_undefined_names(tree))
    return ts_issues, compile_issue, undefined


def _line_text(lines: list[bytes], row: int) -> str:
    return lines[row].decode("utf-8", "replace").strip() if 0 <= row < len(lines) else ""


def _tree_sitter_issues(lang: str, data: bytes) -> list[SyntaxIssue]:
    root = parse_tree(lang, data).root_node
    if not root.has_error:
        return []
    lines = data.split(b"\n")
    out = []
    stack = [root]
    while stack:
        node = stack.pop()
        row = node.start_point.row
        if node.is_missing:
            what = f"missing `{node.type}`"
        elif node.type == "ERROR":
            snippet = node.text.decode("utf-8", "replace").strip().split("\n")[0][:40]
            what = f"unexpected `{snippet}`" if snippet else "syntax error"
        else:
            if node.has_error:
                stack.extend(reversed(node.children))
            continue
        out.append(SyntaxIssue(row + 1, what, ("tree-sitter", what, _line_text(lines, row))))
    return out


def _compile(data: bytes) -> tuple[SyntaxIssue | None, ast.AST | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = compile(data, "<edit>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
            compile(tree, "<edit>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 1
            msg = getattr(exc, "msg", None) or str(exc)
            text = (getattr(exc, "text", None) or "").strip()
            return SyntaxIssue(line, msg, ("compile", msg, text)), None
        except (MemoryError, RecursionError):
            return None, None
    return None, tree


def _undefined_names(tree: ast.AST) -> list[tuple[int, str]]:
    kinds = (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport)
    try:
        found = checker.Checker(tree, filename="<edit>").messages
    except Exception:  # pyflakes is a linter; its failure must not block an edit
        return []
    return sorted((m.lineno, str(m.message_args[0])) for m in found if isinstance(m, kinds))


def check(path: str, old: bytes | None, new: bytes) -> Verdict:
    """Judge replacing `old` (None: a new file) by `new` in `path`."""
    lang = language_of(path)
    if lang is None:
        return Verdict(True)
    size = max(len(new), len(old or b""))
    if size > CHECK_MAX_BYTES:
        note = (f"syntax check skipped: {path} is {size / 1e6:.1f} MB, over the {CHECK_MAX_BYTES / 1e6:.0f} MB "
                "the guard parses; check the file yourself")
        return Verdict(True, [], [note + (f" (python -m py_compile {path})" if lang == "python" else "")])
    new_ts, new_compile, new_undef = _analyze(lang, new)
    old_ts, old_compile, old_undef = _analyze(lang, old) if old is not None else ((), None, ())
    if lang == "python" and new_compile is None:
        errors: list[SyntaxIssue] = []
    elif lang == "python" and old_compile is None:
        errors = [new_compile]
    else:
        before = Counter(i.key for i in old_ts)
        errors = []
        for issue in new_ts:
            if before[issue.key] > 0:
                before[issue.key] -= 1
            else:
                errors.append(issue)
    if errors:
        return Verdict(False, errors)
    fresh = Counter(name for _, name in new_undef) - Counter(name for _, name in old_undef)
    warns = [f"line {line}: undefined name '{name}'" for line, name in new_undef if fresh[name] > 0]
    if len(warns) > MAX_WARNINGS:
        warns = warns[:MAX_WARNINGS] + [f"... and {len(warns) - MAX_WARNINGS} more undefined names, not shown"]
    return Verdict(True, [], warns)


_WARNED = re.compile(r"^line \d+: undefined name '([^']+)'$")


def undefined_in(warnings: list[str]) -> list[str]:
    """The names the warnings of a `Verdict` say are undefined."""
    return list(dict.fromkeys(m.group(1) for w in warnings if (m := _WARNED.match(w))))


def undefined_names(path: str, data: bytes) -> set[str] | None:
    """The names a Python file leaves undefined (None: not Python, too large to look, or it does
    not compile)."""
    if language_of(path) != "python" or len(data) > LINT_MAX_BYTES:
        return None
    _, compile_issue, undefined = _analyze("python", data)
    if compile_issue is not None:
        return None
    return {name for _, name in undefined}


def describe_errors(path: str, new_text: str, errors: list[SyntaxIssue], limit: int = 3) -> str:
    """The errors with their lines in context (in the text the edit would have made)."""
    lines = split_lines(new_text)
    parts = []
    for issue in errors[:limit]:
        lo, hi = max(1, issue.line - 2), min(len(lines), issue.line + 2)
        parts.append(f"line {issue.line}: {issue.message}\n" + numbered(lines[lo - 1:hi], lo, {issue.line}))
    if len(errors) > limit:
        parts.append(f"... and {len(errors) - limit} more")
    return "\n".join(parts)
