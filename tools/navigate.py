"""Navigation tools: view a file or a definition, a file's skeleton, the directory tree, regex
search and definitions by name. Answers are short, numbered, and say what was left out."""

from __future__ import annotations

import re
import shlex

from .context import NUL_SNIFF, ToolContext, ToolError
from .effects import Effect, effect
from .symbols import language_of
from .text import clip, cut_note, numbered, split_lines

WINDOW = 200
MAX_WINDOW = 1000
SYMBOL_LINES = 400
SKELETON_LINES = 600
LIST_ENTRIES = 400
SEARCH_MATCHES = 50
FIND_MATCHES = 50
_CLASS_KINDS = {"class", "interface", "struct", "enum", "trait", "impl", "module"}


def _text_for_view(ctx: ToolContext, path: str) -> tuple[str, str]:
    """(relative path, text) of a file to show; binary files are refused, other bytes replaced."""
    p = ctx.rel(path)
    data = ctx.read_bytes(p)
    if b"\0" in data[:NUL_SNIFF]:
        raise ToolError(f"{p} is a binary file ({len(data)} bytes); it cannot be shown as text")
    return p, data.decode("utf-8", errors="replace")


@effect(Effect.READS)
def view_file(ctx: ToolContext, path: str, start: int = 1, end: int | None = None) -> str:
    """Show a file's lines with their numbers, at most 200 lines unless end asks for more.

    Args:
        path: The file, relative to the repository root.
        start: First line to show (1-based).
        end: Last line to show (inclusive); default start + 199.
    """
    p, text = _text_for_view(ctx, path)
    lines = split_lines(text)
    n = len(lines)
    if n == 0:
        return f"{p} is empty."
    if start < 1:
        raise ToolError(f"start must be 1 or more (got {start})")
    if start > n:
        raise ToolError(f"{p} has {n} lines; start ({start}) is past its end")
    if end is None:
        end = start + WINDOW - 1
    if end < start:
        raise ToolError(f"end ({end}) is before start ({start})")
    note = ""
    if end - start + 1 > MAX_WINDOW:
        end = start + MAX_WINDOW - 1
        note = f" (a window is at most {MAX_WINDOW} lines)"
    end = min(end, n)
    out = [f"{p}: lines {start}-{end} of {n}{note}", numbered(lines[start - 1:end], start)]
    if end < n:
        out.append(f"({n - end} more lines; view_file(path, start={end + 1}) shows the next ones)")
    return "\n".join(out)


def _next_number(rendered: list[str], k: int) -> int:
    """The line number of the first numbered line of `rendered` from position k on."""
    for row in rendered[k:]:
        first = row.split(maxsplit=1)[0] if row.strip() else ""
        if first.isdigit():
            return int(first)
    return 1


@effect(Effect.READS)
def view_symbol(ctx: ToolContext, name: str) -> str:
    """Show one definition (function, method, class, ...) with its line numbers; a long class is
    shown as its skeleton (method bodies folded).

    Args:
        name: `function`, `Class.method`, or `path/to/file.py:Class.method` when the name alone is
            ambiguous.
    """
    d = ctx.resolve(name)
    _, text = _text_for_view(ctx, d.path)
    lines = split_lines(text)
    span = d.end_line - d.start_line + 1
    head = f"{d.id} ({d.kind}, lines {d.start_line}-{d.end_line})"
    if span > SYMBOL_LINES and d.kind in _CLASS_KINDS:
        body = ctx.symbols(d.path).skeleton(text, d.start_line, d.end_line).split("\n")
        more = ""
        if len(body) > SYMBOL_LINES:
            more = f"\n(skeleton cut after {SYMBOL_LINES} lines, {cut_note(len(body) - SYMBOL_LINES)}; " \
                   f"view_file('{d.path}', start={_next_number(body, SYMBOL_LINES)}) shows the rest)"
            body = body[:SYMBOL_LINES]
        return f"{head}, shown as a skeleton: view_symbol('{d.path}:{d.qualname}.METHOD') shows a method\n" \
               + "\n".join(body) + more
    last = min(d.end_line, d.start_line + SYMBOL_LINES - 1)
    out = [head, numbered(lines[d.start_line - 1:last], d.start_line)]
    if last < d.end_line:
        out.append(f"({d.end_line - last} more lines; view_file('{d.path}', start={last + 1}, end={d.end_line}) "
                   "shows them)")
    return "\n".join(out)


@effect(Effect.READS)
def skeleton(ctx: ToolContext, path: str) -> str:
    """Show a source file in few lines: every line numbered, function bodies folded to a marker
    (a long file is cut, and the definitions and methods after the cut are named).

    Args:
        path: The file, relative to the repository root.
    """
    p, text = _text_for_view(ctx, path)
    if language_of(p) is None:
        raise ToolError(f"skeleton knows Python, JavaScript, TypeScript, Go, Java and Rust files; use "
                        f"view_file to read {p}")
    fs = ctx.symbols(p)
    if fs is None:
        raise ToolError(f"{p} is not UTF-8 text; use view_file to read it")
    lines = split_lines(text)
    if not lines:
        return f"{p} is empty."
    body = fs.skeleton(text).split("\n")
    out = [f"{p}: {len(lines)} lines, {len(fs.definitions)} definitions"]
    if len(body) > SKELETON_LINES:
        out += body[:SKELETON_LINES]
        out.append(f"(skeleton cut after {SKELETON_LINES} lines, {cut_note(len(body) - SKELETON_LINES)}; "
                   f"view_file('{p}', start={_next_number(body, SKELETON_LINES)}) shows the rest)")
        out += fs.unlisted_notes(body[:SKELETON_LINES])
    else:
        out += body
    return "\n".join(out)


@effect(Effect.READS)
def list_dir(ctx: ToolContext, path: str = ".", depth: int = 2) -> str:
    """List a directory's files and subdirectories (files ignored by .gitignore are left out).

    Args:
        path: The directory, relative to the repository root ("." for the root).
        depth: How many levels to show; deeper directories are summarized by their file count.
    """
    p = ctx.rel(path)
    if depth < 1:
        raise ToolError(f"depth must be 1 or more (got {depth})")
    files = ctx.file_list()
    prefix = "" if p == "." else p + "/"
    inside = [f[len(prefix):] for f in files if f.startswith(prefix)]
    if not inside:
        if p in files:
            raise ToolError(f"{p} is a file; use view_file or skeleton to read it")
        raise ToolError(f"{p} is not a directory of the repository. {ctx.similar_paths(p)}".strip())
    while True:
        lines = _tree(inside, depth)
        if len(lines) <= LIST_ENTRIES or depth == 1:
            break
        depth -= 1
    head = f"{p if p != '.' else 'repository root'}: {len(inside)} files"
    if len(lines) > LIST_ENTRIES:
        lines = lines[:LIST_ENTRIES] + [f"... ({len(lines) - LIST_ENTRIES} more entries)"]
    return head + (f" (shown {depth} level{'s' if depth > 1 else ''} deep)" if depth else "") + "\n" + "\n".join(lines)


def _tree(files: list[str], depth: int) -> list[str]:
    tree: dict = {}
    for f in files:
        node = tree
        parts = f.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = None
    out: list[str] = []

    def count(node) -> int:
        return sum(1 if v is None else count(v) for v in node.values())

    def walk(node, level: int) -> None:
        for name in sorted(node, key=lambda k: (not k.endswith("/"), k)):
            child = node[name]
            if child is None:
                out.append("  " * level + name)
            elif level + 1 >= depth:
                n = count(child)
                out.append("  " * level + f"{name} ({n} file{'s' if n != 1 else ''})")
            else:
                out.append("  " * level + name)
                walk(child, level + 1)

    walk(tree, 0)
    return out


@effect(Effect.READS)
def search(ctx: ToolContext, pattern: str, glob: str | None = None, ignore_case: bool = False) -> str:
    """Search the repository's files for a regular expression (files ignored by .gitignore and
    binary files are skipped). Shows up to 50 matching lines as path:line: text; when more match,
    Python files come first and translations and data files last.

    Matching is case-sensitive unless ignore_case is true, and a pattern matches anywhere in a
    line (`min` matches `eliminate`): use `\\b` for word boundaries, e.g. `\\bmin\\b`.

    Args:
        pattern: A regular expression (Python/PCRE syntax), e.g. `def parse_\\w+` or `class Foo\\b`.
        glob: Only files matching this pattern, e.g. `*.py`, `src/**/*.ts` or a directory `lib/`.
        ignore_case: Match letters whatever their case (`min` also matches `Min` and `MIN`); default
            false: case-sensitive.
    """
    if not pattern:
        raise ToolError("pattern is empty")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"pattern is not a valid regular expression: {exc}") from None
    spec = ""
    if glob:
        g = glob.strip()
        if g.startswith("/") or g.startswith("../"):
            g = ctx.rel(g)
        spec = " -- " + shlex.quote(g.rstrip("/") if not any(c in g for c in "*?[") else g)
    out = None
    case = "-i" if ignore_case else "--no-ignore-case"
    for flag in ("-P", "-E"):
        base = f"git grep -I --untracked -z {case} {flag} -e {shlex.quote(pattern)}"
        script = f"{base} -c{spec}; printf '\\002'; {base} -n{spec} | head -n {SEARCH_MATCHES * 40}"
        res = ctx.workspace.run(script, 120, max_output=2_000_000)
        if "cannot use Perl-compatible" in res.output or "not supported" in res.output.split("\x02")[0]:
            continue
        out = res.output
        break
    if out is None or "\x02" not in out:
        raise ToolError(f"search failed: {(out or '').strip()[:300]}")
    counts_text, _, matches_text = out.partition("\x02")
    if "fatal:" in counts_text:
        raise ToolError(f"search failed: {counts_text.strip()[:300]}")
    counts = {}
    for line in counts_text.splitlines():
        if "\0" in line:
            f, _, c = line.partition("\0")
            if c.strip().isdigit():
                counts[f] = int(c)
    total = sum(counts.values())
    rule = _case_rule(pattern, ignore_case)
    if total == 0:
        where = f" in files matching {glob}" if glob else ""
        hint = " (case-sensitive; ignore_case=true matches any case)" if rule == "case-sensitive" else ""
        return f"No matches for {pattern!r}{where}{hint}."
    rows = [parts for line in matches_text.lstrip("\n").split("\n") if len(parts := line.split("\0", 2)) == 3]
    ordered = len(rows) > SEARCH_MATCHES and len({_search_rank(r[0]) for r in rows}) > 1
    if ordered:  # code before prose, translations and bundled data, which fill a capped list with noise
        rows.sort(key=lambda r: _search_rank(r[0]))
    shown = [f"{path}:{num}: {clip(text.strip(), 200)}" for path, num, text in rows[:SEARCH_MATCHES]]
    head = f"{total} match{'es' if total != 1 else ''} in {len(counts)} file{'s' if len(counts) != 1 else ''}"
    notes = [rule] if rule else []
    if len(shown) < total:
        notes.append(f"first {len(shown)} shown" + (", Python files first, translations and data last" if ordered else ""))
    out_lines = [head + (f" ({', '.join(notes)})" if notes else ""), *shown]
    if len(shown) < total:
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:10]
        out_lines.append(f"({total - len(shown)} more matching lines not shown; narrow with glob or a longer "
                         "pattern. Most matches: " + ", ".join(f"{f} ({c})" for f, c in top) + ")")
    return "\n".join(out_lines)


TRANSLATION_OR_DATA = (".po", ".pot", ".mo", ".min.js", ".map", ".svg", ".json", ".csv", ".txt", ".xml", ".html")


def _search_rank(path: str) -> int:
    """Where a file's matches go in a capped search answer: 0 Python, 1 other files, 2 translations,
    bundled scripts and data (sphinx's locale/*.po held 50 hits of a warning's text before any code)."""
    low = path.lower()
    if low.endswith((".py", ".pyi", ".pyx")):
        return 0
    if low.endswith(TRANSLATION_OR_DATA) or "/locale/" in f"/{low}" or "/vendor/" in f"/{low}":
        return 2
    return 1


def _case_rule(pattern: str, ignore_case: bool) -> str:
    """The case rule a search used, named when it matters: the pattern holds a letter that has
    another case (empty otherwise)."""
    letters = re.sub(r"\\.|\(\?[a-zA-Z]+\)", "", pattern)  # escapes (\w, \b) and inline flags are not letters
    if not any(c.lower() != c.upper() for c in letters):
        return ""
    return "case ignored" if ignore_case or re.match(r"\(\?[a-zA-Z]*i", pattern) else "case-sensitive"


@effect(Effect.READS)
def find_symbol(ctx: ToolContext, name: str) -> str:
    """List every definition of a name (functions, methods, classes, ...) with its file and lines.

    Args:
        name: `name`, `Class.method` or `path/to/file.py:name`.
    """
    found = ctx.lookup(name)
    if not found:
        return f"No definition named '{name}'. {ctx.suggest(name)}".strip()
    ids = [d.id for d in found]
    rows = [f"{d.id}{f'@{d.start_line}' if ids.count(d.id) > 1 else ''}  ({d.kind}, lines {d.start_line}-{d.end_line})"
            f"  {clip(d.signature, 120)}" for d in found[:FIND_MATCHES]]
    head = f"{len(found)} definition{'s' if len(found) != 1 else ''} of '{name}'"
    more = [f"... and {len(found) - FIND_MATCHES} more"] if len(found) > FIND_MATCHES else []
    return "\n".join([head, *rows, *more])
