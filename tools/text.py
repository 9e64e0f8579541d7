"""Text helpers shared by the tools: lines split on "\\n" only, a file's style (line endings,
indentation, final newline) and re-indentation of a snippet to a target level.

Lines here always keep their endings, and only "\\n" ends a line (so that line numbers agree
with tree-sitter's rows and with `git diff`, whatever form feeds or lone "\\r" a file holds).
"""

from __future__ import annotations

import re
from collections import Counter

_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
_INDENT = re.compile(r"[ \t]*")
MAX_LINE_CHARS = 400


def split_lines(text: str) -> list[str]:
    """The lines of `text`, each with its ending ("\\n", "\\r\\n" or none for a last line without one)."""
    return _LINE.findall(text)


def indent_of(line: str) -> str:
    return _INDENT.match(line).group(0)


def is_blank(line: str) -> bool:
    return not line.strip()


def newline_of(text: str) -> str:
    """The file's line ending: "\\r\\n" when most of its lines end so, else "\\n"."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


def indent_unit(lines: list[str]) -> str:
    """The file's indentation step: "\\t" when most indented lines start with a tab, else the most
    common increase of space indentation between consecutive lines (4 when nothing says)."""
    tabs = spaces = 0
    steps: Counter = Counter()
    prev = 0
    for line in lines:
        if is_blank(line):
            continue
        ind = indent_of(line)
        if ind.startswith("\t"):
            tabs += 1
            continue
        if ind:
            spaces += 1
        width = len(ind)
        if width > prev:
            steps[width - prev] += 1
        prev = width
    if tabs > spaces:
        return "\t"
    return " " * (steps.most_common(1)[0][0] if steps else 4)


def strip_blank_edges(source: str) -> str:
    """`source` without the whitespace-only lines at its start and its end (its last line keeps its
    ending)."""
    lines = split_lines(source)
    while lines and is_blank(lines[0]):
        lines.pop(0)
    while lines and is_blank(lines[-1]):
        lines.pop()
    return "".join(lines)


def leading_blank_lines(source: str) -> int:
    n = 0
    for line in split_lines(source):
        if not is_blank(line):
            break
        n += 1
    return n


def trailing_blank_lines(source: str) -> int:
    n = 0
    for line in reversed(split_lines(source)):
        if not is_blank(line):
            break
        n += 1
    return n


def adapt_to_file(source: str, file_text: str) -> str:
    """`source` in the file's style: its line endings ("\\n" or "\\r\\n", only when `source` has no
    "\\r" of its own or the file has none) and its indentation characters (tabs or spaces, only when
    `source` uses the other kind alone). Text already in the file's style comes back unchanged."""
    nl = newline_of(file_text)
    if nl == "\r\n" and "\r" not in source:
        source = source.replace("\n", "\r\n")
    elif nl == "\n" and "\r\n" in source and "\r\n" not in file_text:
        source = source.replace("\r\n", "\n")
    lines = split_lines(source)
    file_unit = indent_unit(split_lines(file_text))
    led = Counter(indent_of(ln)[:1] for ln in lines if not is_blank(ln) and indent_of(ln))
    if file_unit == "\t" and led[" "] and not led["\t"]:
        unit = len(indent_unit(lines))
        lines = [_respace(ln, lambda ind: "\t" * (len(ind) // unit) + " " * (len(ind) % unit)) for ln in lines]
    elif file_unit != "\t" and led["\t"] and not led[" "]:
        lines = [_respace(ln, lambda ind: ind.replace("\t", file_unit)) for ln in lines]
    return "".join(lines)


def _respace(line: str, convert) -> str:
    if is_blank(line):
        return line
    ind = indent_of(line)
    return convert(ind) + line[len(ind):]


def reindent(source: str, target: str) -> str:
    """`source` shifted so that its first line starts with `target` indentation. Every line that
    starts with the first line's indentation moves with it; other lines (text inside a string that
    sits left of the code) and blank lines stay as they are. Unchanged when already at `target`."""
    lines = split_lines(source)
    first = next((ln for ln in lines if not is_blank(ln)), None)
    if first is None:
        return source
    ref = indent_of(first)
    if ref == target:
        return source
    out = []
    for ln in lines:
        if is_blank(ln):
            out.append(ln)
        elif ln.startswith(ref):
            out.append(target + ln[len(ref):])
        elif target.startswith(ref):  # deeper: everything moves right alike
            out.append(target[len(ref):] + ln)
        else:
            out.append(ln)
    return "".join(out)


def with_ending(text: str, newline: str, final: bool) -> str:
    """`text` ending with a line ending (its own, else `newline`) when `final`, else with none."""
    body = text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text
    if not final:
        return body
    return text if text.endswith("\n") else body + newline


def clip(line: str, limit: int = MAX_LINE_CHARS) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= limit else f"{line[:limit]}… [{len(line) - limit} more characters]"


def numbered(lines: list[str], first: int, marks: set[int] | None = None) -> str:
    """Lines with their numbers (`first` is the number of lines[0]); `marks` lines get a '>'."""
    if marks is None:
        return "\n".join(f"{first + i:>5} {clip(ln)}" for i, ln in enumerate(lines))
    return "\n".join(f"{'>' if first + i in marks else ' '}{first + i:>5} {clip(ln)}" for i, ln in enumerate(lines))


def count_lines(text: str) -> int:
    """How many lines `text` holds (a last line without an ending counts; "" holds none)."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def cut_note(lines: int, chars: int | None = None) -> str:
    """What a cut left out: `N lines not shown`, with the characters when given."""
    what = _plural(lines, "line") + (f" ({_plural(chars, 'character')})" if chars is not None else "")
    return f"{what} not shown"


def cap_text(text: str, head: int, tail: int = 0) -> str:
    """`text` cut to about its first `head` and last `tail` characters, at line breaks where there
    are any near the cut, around a marker that says how many lines and characters are not shown.
    Unchanged when it fits."""
    if len(text) <= head + tail:
        return text
    a = text.rfind("\n", 0, head) + 1  # keep whole lines, unless a line is longer than half the share
    a = a if a > head // 2 else head
    b = len(text) - tail
    if tail:
        nl = text.find("\n", b)
        b = nl + 1 if 0 <= nl < b + tail // 2 else b
    gone = text[a:b]
    what = cut_note(count_lines(gone), len(gone)) if "\n" in gone else \
        f"{_plural(len(gone), 'character')} of one line not shown"
    marker = f"[... {what} ...]"
    kept_head = text[:a] if text[:a].endswith("\n") or not a else text[:a] + "\n"
    return f"{kept_head}{marker}" + (f"\n{text[b:]}" if b < len(text) else "")
