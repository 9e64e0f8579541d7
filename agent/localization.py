"""What the localize node shows the model, and the seam to retrieval and the repository map.

Retrieval (`tools.retrieval.rank_locations`) ranks files and functions without a model; the model then
picks files from their outlines and definitions from the picked files' skeletons. The texts here
are cut to token budgets, so the first prompt stays small on large repositories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tools.context import ToolError
from tools.corpus import Corpus
from tools.registry import ToolSpec
from tools.repomap import count_tokens as count
from tools.repomap import repo_map
from tools.retrieval import rank_locations
from tools.text import cut_note, split_lines

SELECT_FILES = ToolSpec(
    "select_files", "Choose the files that most likely need to change to resolve the issue, best first.",
    {"type": "object", "properties": {
        "paths": {"type": "array", "items": {"type": "string"},
                  "description": "File paths relative to the repository root, best first."}},
     "required": ["paths"], "additionalProperties": False})
SELECT_DEFINITIONS = ToolSpec(
    "select_definitions", "Choose the functions, methods or classes to read or change, best first.",
    {"type": "object", "properties": {
        "names": {"type": "array", "items": {"type": "string"},
                  "description": "Definitions as `path:Class.method` or `path:function`, best first."}},
     "required": ["names"], "additionalProperties": False})


MIN_SHOWN = 5
"""Files the model is shown at least (when retrieval found that many)."""
FLAT_RATIO = 0.5
"""A file scoring at least this share of the best file's score is shown too (up to the cap): when
the evidence is flat, many files come close and the model sees more of them."""


@dataclass
class Retrieved:
    """Retrieval's ranking and the repository map, computed once per run."""

    files: list[str]
    """Files, best first."""
    functions: list[str]
    """Functions and methods (`path:qualname`), best first."""
    repo_map: str
    """The repository map ranked toward the issue."""
    ranking: dict = field(default_factory=dict)
    """The same ranking with scores and the signals behind them, as the trajectory records it:
    {"files": [{path, score, signals}], "functions": [{path, name, score, lines, signals}]}."""

    def file_scores(self) -> list[float]:
        """Retrieval's score of each of `files` (comparable within one ranking only)."""
        return [f["score"] for f in self.ranking.get("files", [])]


def retrieve(workspace, issue: str, top_k: int, map_tokens: int) -> Retrieved:
    """Rank the repository's files and functions for `issue` and draw its map (one read of the files)."""
    with Corpus.load(workspace) as corpus:
        found = rank_locations(corpus, issue, top_k=top_k, top_functions=3 * top_k)
        text = repo_map(corpus, issue, tokens=map_tokens) if map_tokens > 0 else ""
    return Retrieved([f.path for f in found.files], [f"{f.path}:{f.name}" for f in found.functions], text,
                     ranking(found))


def shown_count(scores: list[float], cap: int) -> int:
    """How many of the ranked files to show the model: every file within `FLAT_RATIO` of the best
    one's score, at least `MIN_SHOWN`, at most `cap` (and no more than there are). A clear winner
    gives a short list; flat evidence a long one."""
    if not scores:
        return 0
    top = scores[0]
    close = sum(1 for s in scores if top > 0 and s >= FLAT_RATIO * top) if top > 0 else len(scores)
    return max(min(MIN_SHOWN, len(scores), cap), min(close, cap, len(scores)))


def ranking(found) -> dict:
    """Retrieval's files and functions with their scores and signals (rounded), for the trajectory."""
    def r(values: dict[str, float]) -> dict[str, float]:
        return {k: round(v, 4) for k, v in values.items() if v}

    return {"files": [{"path": f.path, "score": round(f.score, 4), "signals": r(f.signals)} for f in found.files],
            "functions": [{"path": f.path, "name": f.name, "score": round(f.score, 4),
                           "lines": [f.start_line, f.end_line], "signals": r(f.signals)} for f in found.functions]}


def count_tokens(text: str) -> int:
    """Tokens of `text` as the repository map counts them."""
    return count(text)


def prompt_size(messages, tools) -> int:
    """Tokens of a request: its messages (a few each for the framing) and its tools' schemas."""
    return sum(count_tokens(m.content) + 4 for m in messages) + (
        count_tokens(json.dumps([t.openai_schema() for t in tools])) if tools else 0)


def _fit(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The first lines of `lines` that fit `budget` tokens, and the tokens they take."""
    out, used = [], 0
    for line in lines:
        cost = count_tokens(line + "\n")
        if used + cost > budget:
            break
        out.append(line)
        used += cost
    return out, used


def _cut(lines: list[str], budget: int) -> tuple[list[str], int]:
    """The first lines of `lines` that fit `budget` tokens, a marker counting the others when some
    are left out, and the tokens they take."""
    out, used = _fit(lines, budget)
    if len(out) < len(lines):
        out.append(f"      ... ({len(lines) - len(out)} more lines)")
        used += 6
    return out, used


def outline(ctx, path: str, max_lines: int = 25) -> str:
    """A file's definitions, one signature a line with its line number (methods indented)."""
    fs = ctx.symbols(path)
    if fs is None or not fs.definitions:
        return "(no definitions found)"
    defs = [d for d in fs.definitions if d.qualname.count(".") <= 1]
    lines = [f"{d.start_line:>6}  {'    ' * d.qualname.count('.')}{d.signature}" for d in defs]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"      ... ({len(defs) - max_lines} more definitions)"]
    return "\n".join(lines)


def file_candidates(ctx, paths: list[str], budget: int) -> list[dict[str, str]]:
    """{path, outline} of each file in order, within `budget` tokens in all: each file gets an even
    share of what is left (a short outline leaves more to the files after it)."""
    out, used = [], 0
    for i, path in enumerate(paths):
        try:
            text = outline(ctx, path)
        except ToolError:  # a file that cannot be read (a link leading out, a device, too large): left out
            continue
        head = count_tokens(path) + 4
        share = (budget - used) // (len(paths) - i) - head
        lines, cost = _cut(text.splitlines(), max(share, 0))
        if not lines or lines[0].lstrip().startswith("... ("):  # not one line fits: the path alone
            lines = [NO_ROOM]
            cost = count_tokens(NO_ROOM)
            if used + head + cost > budget:
                break
        out.append({"path": path, "outline": "\n".join(lines)})
        used += cost + head
    return out


NO_ROOM = "      (outline left out: no room)"


def skeleton_candidates(ctx, paths: list[str], budget: int) -> list[dict[str, str]]:
    """{path, outline} with each file's skeleton (bodies folded), the budget shared between them;
    a skeleton too long for its share falls back to the file's outline, and one cut still names
    every top-level definition it does not show and the methods, up to a cap (`FileSymbols.unlisted_notes`)."""
    out = []
    share = budget // max(len(paths), 1)
    for path in paths:
        try:
            text = ctx.read_bytes(path).decode("utf-8", errors="replace")
            fs = ctx.symbols(path)
        except ToolError:  # a file the model named that cannot be read: leave it out
            continue
        skel = fs.skeleton(text) if fs is not None else "\n".join(
            f"{i:>5} {line}" for i, line in enumerate(text.splitlines(), 1))
        if count_tokens(skel) > share:
            skel = outline(ctx, path, max_lines=200)
        lines, _ = _cut(skel.splitlines(), share)
        if fs is not None:  # every top-level name, and the methods up to a cap, stay visible whatever the cut
            lines += fs.unlisted_notes(lines)
        out.append({"path": path, "outline": "\n".join(lines)})
    return out


def focus_code(ctx, names: list[str], budget: int) -> list[dict]:
    """{id, start, end, code, note} of each definition, best first, line-numbered. The `budget`
    (tokens) is shared between them (`shares`): each gets an equal share, and what a short one
    does not use goes to the longer ones; a definition longer than its share keeps its first lines,
    and `note` (None for one shown whole) says which lines are not shown, why, and the view_file
    call that shows them."""
    found = []
    for name in names:
        hits = ctx.lookup(name)
        if len(hits) != 1:
            continue
        d = hits[0]
        try:
            data = ctx.read_bytes(d.path).decode("utf-8", errors="replace")
        except ToolError:  # changed since it was indexed into something the tools do not read
            continue
        text = [ln.rstrip("\r\n") for ln in split_lines(data)]
        last = min(d.end_line, len(text))
        found.append((d, last, [f"{i:>6} {text[i - 1]}" for i in range(d.start_line, last + 1)]))
    out = []
    allowed = shares([sum(count_tokens(line + "\n") for line in numbered) for _, _, numbered in found], budget)
    for (d, last, numbered), share in zip(found, allowed, strict=True):
        lines, _ = _fit(numbered, share)
        entry = {"id": d.id, "start": d.start_line, "end": d.end_line, "code": "\n".join(lines), "note": None}
        if len(lines) < len(numbered):
            a = d.start_line + len(lines)
            entry["note"] = (f"{cut_note(last - a + 1)} (lines {a}-{last}): the chosen code is limited to "
                             f"{budget:,} tokens, shared by the {len(found)} chosen definitions; "
                             f"view_file('{d.path}', start={a}, end={last}) shows them")
        out.append(entry)
    return out


def shares(costs: list[int], budget: int) -> list[int]:
    """What each of `costs` gets of `budget`: an equal share, the part a smaller one does not need
    shared again between the larger ones (no more than it costs)."""
    out = [0] * len(costs)
    left = budget
    order = sorted(range(len(costs)), key=lambda i: costs[i])
    for k, i in enumerate(order):
        out[i] = min(costs[i], left // (len(costs) - k))
        left -= out[i]
    return out


def valid_files(ctx, paths: list, limit: int) -> list[str]:
    """The paths that name files of the repository (normalized), without repeats, at most `limit`."""
    out: list[str] = []
    for p in paths:
        if not isinstance(p, str):
            continue
        try:
            rel = ctx.rel(p)
        except ToolError:  # a path outside the repository
            continue
        if rel not in out and ctx.exists(rel) and rel != ".":
            out.append(rel)
    return out[:limit]


MAX_SAME_NAME = 3
"""A chosen name matching up to this many definitions keeps them all (qualified); more: none, and
the edit prompt names it as ambiguous."""


def valid_definitions(ctx, names: list, limit: int) -> tuple[list[str], dict[str, int]]:
    """(the definitions `names` choose, as `path:qualname` ids, at most `limit`; the names that
    matched too many definitions to keep, with how many). A name matching several keeps the one
    whose qualified name it is exactly (`sqf_list` is the function, not `Poly.sqf_list`), else all
    of them up to `MAX_SAME_NAME`; a name matching none is dropped."""
    out: list[str] = []
    ambiguous: dict[str, int] = {}
    for n in names:
        if not isinstance(n, str):
            continue
        try:
            found = ctx.lookup(n)
        except ToolError:  # a malformed name
            continue
        qual = n.rpartition(":")[2].split("@")[0].strip()
        exact = [d for d in found if d.qualname == qual]
        if len(found) > 1 and len(exact) == 1:
            found = exact
        if len(found) > MAX_SAME_NAME:
            ambiguous[n] = len(found)
            continue
        ids = [d.id for d in found]
        for d in found:
            key = f"{d.id}@{d.start_line}" if ids.count(d.id) > 1 else d.id
            if key not in out:
                out.append(key)
    return out[:limit], ambiguous
