"""Tool calls that reproduce a patch: a `replace_symbol` for each changed function or method, an
`insert_symbol` for new definitions, a `delete_symbol` for removed ones, a `str_replace` for other
changes and a `create_file` for new files.

    files = ctx.workspace.read_many(patch_paths(gold_patch))
    for call in derive_tool_calls(files, gold_patch):
        TOOLS.call(ctx, call["name"], call["arguments"])

Each call is checked, while deriving, against the same text functions the tools use
(tools/edit_text.py); a symbol operation that would not give the patch's exact bytes falls back to
a `str_replace` (the call then carries a `note` saying why). Calls are ordered bottom-up within a
file, so that the line numbers of what is still to change stay valid.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sandbox import diffs
from tools import guard
from tools.context import ToolError, match_definitions
from tools.edit_text import (
    CONTAINER_KINDS,
    append_to_file,
    delete_span,
    find_all,
    insert_after,
    insert_before,
    insert_into,
    replace_span,
)
from tools.symbols import Definition, extract, language_of
from tools.text import indent_of, is_blank, split_lines

UNIT_KINDS = {"function", "method"}


class DeriveError(ValueError):
    """The patch cannot be turned into tool calls (malformed, binary, or not matching the files)."""


# ---------------------------------------------------------------------------------------------
# patches


@dataclass
class Hunk:
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: list[tuple[str, str]] = field(default_factory=list)
    """(tag, text with its line ending): tag ' ' context, '-' removed, '+' added."""


@dataclass
class FilePatch:
    old_path: str | None
    """None for a new file."""
    new_path: str | None
    """None for a deleted file."""
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def parse_patch(patch: str) -> list[FilePatch]:
    """The files of a unified diff (git's format, or plain ---/+++ headers), read by `sandbox.diffs`."""
    try:
        files = diffs.parse(patch)
    except diffs.DiffParseError as exc:
        why = "a hunk is shorter than its header says" if "shorter than expected" in str(exc) else str(exc)
        raise DeriveError(f"malformed patch: {why}") from None
    out = []
    for f in files:
        old, new = diffs.file_paths(f)
        fp = FilePatch(None if f.is_added_file or old == "/dev/null" else old,
                       None if f.is_removed_file or new == "/dev/null" else new, binary=f.is_binary_file)
        for h in f:
            hunk = Hunk(h.source_start, h.source_length, h.target_start, h.target_length)
            for line in h:
                if line.line_type == "\\":  # "\ No newline at end of file": the line before ends without one
                    if hunk.lines:
                        tag, text = hunk.lines[-1]
                        hunk.lines[-1] = (tag, text[:-1] if text.endswith("\n") else text)
                else:
                    hunk.lines.append((line.line_type, line.value))
            fp.hunks.append(hunk)
        out.append(fp)
    return [f for f in out if f.hunks or f.binary or f.old_path is None or f.new_path is None]


@dataclass(frozen=True)
class Group:
    """A stretch of change: before[i1:i2] becomes after[j1:j2] (0-based, half-open)."""

    i1: int
    i2: int
    j1: int
    j2: int


def apply_file_patch(before: str, fp: FilePatch) -> str:
    """The file's text after the patch (exact context required; a hunk may sit at another line
    than its header says)."""
    src = split_lines(before)
    out: list[str] = []
    pos = 0
    for h in fp.hunks:
        old_block = [t for tag, t in h.lines if tag != "+"]
        want = h.old_start - 1 if h.old_len else h.old_start
        at = _locate(src, old_block, max(want, pos), pos)
        if at is None:
            raise DeriveError(f"{fp.path}: a hunk at line {h.old_start} does not match the file")
        out.extend(src[pos:at])
        out.extend(t for tag, t in h.lines if tag != "-")
        pos = at + len(old_block)
    out.extend(src[pos:])
    return "".join(out)


def _locate(src: list[str], block: list[str], want: int, floor: int) -> int | None:
    n = len(block)
    if src[want:want + n] == block:
        return want
    for delta in range(1, len(src) + 1):
        for at in (want - delta, want + delta):
            if floor <= at <= len(src) - n and src[at:at + n] == block:
                return at
        if want - delta < floor and want + delta > len(src) - n:
            break
    return None


def patch_paths(patch: str) -> list[str]:
    """The existing files a patch changes (the ones `derive_tool_calls` needs the content of)."""
    return sorted({fp.old_path for fp in parse_patch(patch) if fp.old_path})


def apply_to_texts(files_before: Mapping[str, bytes | str], patch: str) -> dict[str, bytes | None]:
    """The patched files' new bytes (None: deleted); files the patch does not touch are left out."""
    out: dict[str, bytes | None] = {}
    for fp in parse_patch(patch):
        if fp.binary:
            raise DeriveError(f"{fp.path}: binary patches are not supported")
        if fp.new_path is None:
            out[fp.old_path] = None
            continue
        before = "" if fp.old_path is None else _text(files_before, fp.old_path)
        out[fp.new_path] = apply_file_patch(before, fp).encode("utf-8")
        if fp.old_path and fp.old_path != fp.new_path:
            out[fp.old_path] = None
    return out


def _text(files: Mapping[str, bytes | str], path: str) -> str:
    if path not in files:
        raise DeriveError(f"{path}: the patch changes it but its content was not given")
    data = files[path]
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DeriveError(f"{path}: not UTF-8 text") from None


# ---------------------------------------------------------------------------------------------
# derivation


def derive_tool_calls(files_before: Mapping[str, bytes | str], patch: str) -> list[dict]:
    """Tool calls (`{"name": ..., "arguments": {...}}`, a `note` on fallbacks) that turn the files
    into the patched ones. `files_before` holds at least every file the patch changes."""
    calls: list[dict] = []
    for fp in parse_patch(patch):
        if fp.binary:
            raise DeriveError(f"{fp.path}: binary patches are not supported")
        if fp.new_path is None:
            calls.append(_call("bash", command=f"rm -f -- '{fp.old_path}'"))
            continue
        if fp.old_path is None:
            after = apply_file_patch("", fp)
            calls.append(_call("create_file", path=fp.new_path, content=after))
            continue
        before = _text(files_before, fp.old_path)
        after = apply_file_patch(before, fp)
        if fp.old_path != fp.new_path:
            calls.append(_call("create_file", path=fp.new_path, content=after))
            calls.append(_call("bash", command=f"rm -f -- '{fp.old_path}'"))
            continue
        calls.extend(FileDerivation(fp.new_path, before, after).calls())
    return calls


def _call(tool: str, note: str | None = None, /, **arguments) -> dict:
    call = {"name": tool, "arguments": arguments}
    if note:
        call["note"] = note
    return call


@dataclass(frozen=True)
class Unit:
    """A function whose whole span can be replaced: before[bs:be] -> after[as_:ae]."""

    bs: int
    be: int
    as_: int
    ae: int
    qualname: str

    def inside(self, other: Unit) -> bool:
        return other is not self and other.bs <= self.bs and self.be <= other.be and \
            other.as_ <= self.as_ and self.ae <= other.ae


class FileDerivation:
    """The calls for one modified file."""

    def __init__(self, path: str, before: str, after: str):
        self.path = path
        self.lang = language_of(path)
        self.before = split_lines(before)
        self.after = split_lines(after)
        self.after_text = after
        self.after_defs = extract(self.lang, path, after.encode("utf-8")).definitions if self.lang else []
        self.before_defs = extract(self.lang, path, before.encode("utf-8")).definitions if self.lang else []

    # -- which functions to replace whole, and what is left -----------------------------------------
    def pairs(self) -> list[Unit]:
        """Functions and methods found before and after the patch (same qualified name, k-th with k-th)."""
        after_by: dict[str, list[Definition]] = {}
        for d in self.after_defs:
            if d.kind in UNIT_KINDS:
                after_by.setdefault(d.qualname, []).append(d)
        seen: Counter = Counter()
        out = []
        for d in self.before_defs:
            if d.kind not in UNIT_KINDS:
                continue
            k = seen[d.qualname]
            seen[d.qualname] += 1
            twins = after_by.get(d.qualname, [])
            if k < len(twins):
                d2 = twins[k]
                out.append(Unit(d.start_line - 1, d.end_line, d2.start_line - 1, d2.end_line, d.qualname))
        return out

    def selected_units(self) -> list[Unit]:
        """The changed functions to replace whole: the innermost ones that explain each change."""
        changed = [u for u in self.pairs() if self.before[u.bs:u.be] != self.after[u.as_:u.ae]]

        def kids(u: Unit) -> list[Unit]:
            inner = [c for c in changed if c.inside(u)]
            return sorted((c for c in inner if not any(c.inside(o) for o in inner)), key=lambda c: c.bs)

        def explained(u: Unit, parts: list[Unit]) -> bool:
            rebuilt, at = [], u.bs
            for c in parts:
                rebuilt += self.before[at:c.bs] + self.after[c.as_:c.ae]
                at = c.be
            return rebuilt + self.before[at:u.be] == self.after[u.as_:u.ae]

        chosen: list[Unit] = []

        def visit(u: Unit) -> None:
            parts = kids(u)
            if parts and explained(u, parts):
                for c in parts:
                    visit(c)
            else:
                chosen.append(u)

        for u in changed:
            if not any(u.inside(o) for o in changed):
                visit(u)
        kept: list[Unit] = []
        for u in sorted(chosen, key=lambda u: (u.bs, u.as_)):
            if not kept or (kept[-1].be <= u.bs and kept[-1].ae <= u.as_):
                kept.append(u)
        return kept

    def pieces(self, units: list[Unit]) -> list[Group]:
        """The changes outside `units`: each stretch between them diffed line by line."""
        bounds = [(0, 0)]
        for u in units:
            bounds += [(u.bs, u.as_), (u.be, u.ae)]
        bounds.append((len(self.before), len(self.after)))
        out = []
        for k in range(0, len(bounds), 2):
            (b_lo, a_lo), (b_hi, a_hi) = bounds[k], bounds[k + 1]
            while b_lo < b_hi and a_lo < a_hi and self.before[b_lo] == self.after[a_lo]:
                b_lo, a_lo = b_lo + 1, a_lo + 1
            while b_hi > b_lo and a_hi > a_lo and self.before[b_hi - 1] == self.after[a_hi - 1]:
                b_hi, a_hi = b_hi - 1, a_hi - 1
            if b_lo == b_hi and a_lo == a_hi:
                continue
            matcher = difflib.SequenceMatcher(None, self.before[b_lo:b_hi], self.after[a_lo:a_hi], autojunk=False)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                if tag != "equal":
                    out.append(Group(b_lo + i1, b_lo + i2, a_lo + j1, a_lo + j2))
        return out

    # -- calls -----------------------------------------------------------------------------------
    def calls(self) -> list[dict]:
        units = self.selected_units()
        ops: list[tuple[int, int, Unit | Group]] = [(u.bs, 1, u) for u in units]
        ops += [(p.i1, 0, p) for p in self.pieces(units)]
        ops.sort(key=lambda o: (o[0], o[1]), reverse=True)
        queue = [op for _, _, op in ops]
        cur = list(self.before)
        out: list[dict] = []
        pending: Group | None = None  # a change that does not parse alone: it joins the next one up
        while queue or pending is not None:
            op = queue.pop(0) if queue else Group(0, 0, 0, 0)
            g = Group(op.bs, op.be, op.as_, op.ae) if isinstance(op, Unit) else op
            if pending is not None:
                g = Group(g.i1, max(g.i2, pending.i2), g.j1, max(g.j2, pending.j2))
                made = "joined with the change below it, which does not parse alone"
            elif isinstance(op, Unit):
                made = self._replace_unit(cur, op)
            else:
                made = (self._replace_renamed(cur, g) or self._delete_insert(cur, g) or self._insert(cur, g)
                        or self._delete(cur, g))
            expected = cur[:g.i1] + self.after[g.j1:g.j2] + cur[g.i2:]
            if not self._parses(cur, expected) and (g.i1 > 0 or g.j1 > 0):
                pending = g
                continue
            pending = None
            if made is None:
                made = [self._str_replace(cur, g, None)]
            elif isinstance(made, str):  # a symbol operation that does not fit: say why
                made = [self._str_replace(cur, g, made)]
            out.extend(made)
            cur = expected
        if "".join(cur) != self.after_text:
            raise DeriveError(f"{self.path}: the derived edits do not add up to the patch")
        return out

    def _sides(self, cur: list[str], g: Group) -> tuple[list[Definition], list[Definition]] | None:
        """(definitions removed, definitions added) when both sides of `g` are whole definitions and
        blank lines; else None."""
        if not self.lang or g.i1 == g.i2 or g.j1 == g.j2:
            return None
        gone = self._top_defs(self._defs("".join(cur)), cur, g.i1, g.i2)
        new = self._top_defs(self.after_defs, self.after, g.j1, g.j2)
        return (gone, new) if gone and new else None

    def _replace_renamed(self, cur: list[str], g: Group) -> list[dict] | None:
        """One definition replaced by another of a new name: replace_symbol, when that is exact."""
        sides = self._sides(cur, g)
        if not sides or len(sides[0]) != 1 or len(sides[1]) != 1:
            return None
        (d,), (d2,) = sides
        if d.parent != d2.parent:
            return None
        cur_text = "".join(cur)
        source = "".join(self.after[d2.start_line - 1:d2.end_line])
        expected = "".join(cur[:g.i1] + self.after[g.j1:g.j2] + cur[g.i2:])
        try:
            if replace_span(cur_text, d.start_line, d.end_line, source) != expected:
                return None
        except ToolError:
            return None
        return [_call("replace_symbol", name=self._name(cur_text, d), new_source=source)]

    def _parses(self, cur: list[str], new: list[str]) -> bool:
        """Whether the guard accepts the step from `cur` to `new`."""
        if not self.lang:
            return True
        return guard.check(self.path, "".join(cur).encode("utf-8"), "".join(new).encode("utf-8")).ok

    def _name(self, cur_text: str, d: Definition) -> str:
        defs = extract(self.lang, self.path, cur_text.encode("utf-8")).definitions
        if len(match_definitions(defs, d.qualname)) == 1:
            return f"{self.path}:{d.qualname}"
        return f"{self.path}:{d.qualname}@{d.start_line}"

    def _defs(self, cur_text: str) -> list[Definition]:
        return extract(self.lang, self.path, cur_text.encode("utf-8")).definitions

    def _replace_unit(self, cur: list[str], u: Unit) -> list[dict] | str:
        cur_text = "".join(cur)
        source = "".join(self.after[u.as_:u.ae])
        expected = "".join(cur[:u.bs] + self.after[u.as_:u.ae] + cur[u.be:])
        target = [d for d in self._defs(cur_text) if d.start_line == u.bs + 1 and d.end_line == u.be
                  and d.qualname == u.qualname]
        if not target:
            return f"replace_symbol: {u.qualname} is not found at lines {u.bs + 1}-{u.be}"
        try:
            made = replace_span(cur_text, u.bs + 1, u.be, source)
        except ToolError as exc:
            return f"replace_symbol: {exc}"
        if made != expected:
            return "replace_symbol would not give the patch's exact bytes"
        return [_call("replace_symbol", name=self._name(cur_text, target[0]), new_source=source)]

    @staticmethod
    def _top_defs(defs: list[Definition], lines: list[str], lo: int, hi: int) -> list[Definition] | None:
        """The outermost definitions lying within lines [lo, hi) (0-based), when every other line
        there is blank; else None."""
        inside = [d for d in defs if lo <= d.start_line - 1 and d.end_line <= hi]
        top = [d for d in inside if not any(o is not d and o.start_line <= d.start_line and d.end_line <= o.end_line
                                            for o in inside)]
        if not top:
            return None
        covered = set()
        for d in top:
            covered.update(range(d.start_line - 1, d.end_line))
        return top if all(k in covered or is_blank(lines[k]) for k in range(lo, hi)) else None

    def _insert(self, cur: list[str], g: Group) -> list[dict] | str | None:
        """New definitions (and blank lines) where there were only blank lines: insert_symbol."""
        if not self.lang or g.j1 == g.j2 or not all(is_blank(ln) for ln in cur[g.i1:g.i2]):
            return None
        new = self._top_defs(self.after_defs, self.after, g.j1, g.j2)
        if not new:
            return None
        expected = "".join(cur[:g.i1] + self.after[g.j1:g.j2] + cur[g.i2:])
        call = self._insert_call(cur, g.i1, g.i2, new, g, expected)
        return [call] if call else "insert_symbol would not give the patch's exact blank lines"

    def _insert_call(self, lines: list[str], lo: int, hi: int, new: list[Definition], g: Group,
                     expected: str) -> dict | None:
        """The insert_symbol call that puts the after-file's definitions `new` (lines g.j1..g.j2 with
        their blank lines) in place of the blank lines [lo, hi) of `lines`, giving `expected`."""
        first, last = new[0], new[-1]
        body = "".join(self.after[first.start_line - 1:last.end_line])
        lead = "".join(self.after[g.j1:first.start_line - 1])
        tail = "".join(self.after[last.end_line:g.j2])
        text = "".join(lines)
        defs = self._defs(text)
        indent = indent_of(self.after[first.start_line - 1])
        attempts = []
        above = [d for d in defs if d.end_line <= lo and all(is_blank(ln) for ln in lines[d.end_line:lo])
                 and indent_of(lines[d.start_line - 1]) == indent]
        if above:  # after the definition that ends just above (only blank lines between)
            anchor = max(above, key=lambda d: (d.end_line, d.start_line))
            gap = "".join(lines[anchor.end_line:lo]) + lead
            for src in (body, gap + body) if gap else (body,):
                attempts.append(("after", anchor, src, lambda t, a=anchor, s=src: insert_after(t, self.lang, a, s)))
        below = [d for d in defs if d.start_line - 1 >= hi and all(is_blank(ln) for ln in lines[hi:d.start_line - 1])
                 and indent_of(lines[d.start_line - 1]) == indent]
        if below:
            anchor = min(below, key=lambda d: (d.start_line, -d.end_line))
            for src in (body, body + tail):
                attempts.append(("before", anchor, src, lambda t, a=anchor, s=src: insert_before(t, self.lang, a, s)))
        if first.parent:
            holders = [d for d in defs if d.qualname == first.parent and d.kind in CONTAINER_KINDS]
            if len(holders) == 1:
                c = holders[0]
                for src in (body, lead + body):
                    attempts.append(("into", c, src, lambda t, c=c, s=src: insert_into(t, self.lang, c, defs, s)))
        elif all(is_blank(ln) for ln in lines[hi:]):
            for src in (body, lead + body):
                attempts.append(("path", None, src, lambda t, s=src: append_to_file(t, self.lang, s)))
        for mode, anchor, src, fn in attempts:
            try:
                made = fn(text)[0]
            except ToolError:
                continue
            if made == expected:
                where = {"path": self.path} if anchor is None else {mode: self._name(text, anchor)}
                return _call("insert_symbol", source=src, **where)
        return None

    def _deletions(self, text: str, gone: list[Definition]) -> tuple[list[dict], str]:
        calls = []
        for d in sorted(gone, key=lambda d: d.start_line, reverse=True):
            calls.append(_call("delete_symbol", name=self._name(text, d)))
            text = delete_span(text, d.start_line, d.end_line)
        return calls, text

    def _delete(self, cur: list[str], g: Group) -> list[dict] | str | None:
        """Whole definitions (and blank lines) removed: delete_symbol."""
        if not self.lang or g.i1 == g.i2 or not all(is_blank(ln) for ln in self.after[g.j1:g.j2]):
            return None
        gone = self._top_defs(self._defs("".join(cur)), cur, g.i1, g.i2)
        if not gone:
            return None
        calls, text = self._deletions("".join(cur), gone)
        if text != "".join(cur[:g.i1] + self.after[g.j1:g.j2] + cur[g.i2:]):
            return "delete_symbol would not give the patch's exact blank lines"
        return calls

    def _delete_insert(self, cur: list[str], g: Group) -> list[dict] | None:
        """Definitions replaced by other definitions: delete_symbol, then insert_symbol at their place."""
        sides = self._sides(cur, g)
        if not sides:
            return None
        calls, text = self._deletions("".join(cur), sides[0])
        if not guard.check(self.path, "".join(cur).encode("utf-8"), text.encode("utf-8")).ok:
            return None
        lines = split_lines(text)
        p = next((k for k, (a, b) in enumerate(zip(cur, lines, strict=False)) if a != b), min(len(cur), len(lines)))
        expected = "".join(cur[:g.i1] + self.after[g.j1:g.j2] + cur[g.i2:])
        call = self._insert_call(lines, p, p, sides[1], g, expected)
        return calls + [call] if call else None

    def _str_replace(self, cur: list[str], g: Group, note: str | None) -> dict:
        text = "".join(cur)
        lo, hi = g.i1, g.i2
        new_mid = "".join(self.after[g.j1:g.j2])
        above = True
        while True:
            old = "".join(cur[lo:hi])
            if old.strip() and len(find_all(text, old, 2)) == 1:
                break
            if lo == 0 and hi == len(cur):
                raise DeriveError(f"{self.path}: no unique text to anchor a str_replace")
            # add a line of context at a time, above and below in turn
            if (above and lo > 0) or hi == len(cur):
                lo -= 1
            else:
                hi += 1
            above = not above
        new = "".join(cur[lo:g.i1]) + new_mid + "".join(cur[g.i2:hi])
        return _call("str_replace", note, path=self.path, old=old, new=new)
