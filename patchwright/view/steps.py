"""One trajectory step as blocks a page shows: the model's text, its tool calls with their answers,
edits as diffs, test runs as tables, localization rankings, and, for anything else, the step's data
as keys and values. A step kind without a renderer here, or one whose fields are not what this code
expects, is shown generically: a new format never stops a page from rendering."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from sandbox.diffs import diff_sections

from . import highlight, results
from .read import dicts, mapping, num, strings, text_of

FOLD_LINES = 14
"""Answers and texts longer than this many lines are folded."""
FOLD_CHARS = 1500
MAX_CHARS = 12_000
"""An answer longer than this is cut in the page (its head and tail kept); the trajectory has it all."""
CODE_ARGS = ("new_source", "source", "content", "code", "command", "script")
"""Tool arguments shown as highlighted code."""
BAD_STATUSES = ("error", "budget_exhausted", "format_error", "failed")


@dataclass
class Block:
    """One piece of a step: `kind` selects how the page draws it (see the run page's macros)."""

    kind: str
    title: str = ""
    text: str = ""
    html: Markup | None = None
    rows: list = field(default_factory=list)
    table: results.Table | None = None
    folded: bool = False
    bad: bool = False
    extra: dict = field(default_factory=dict)


@dataclass
class StepView:
    n: int
    node: str
    attempt: int
    elapsed: float | None
    seconds: float | None
    tokens: int | None
    cost: float | None
    model: str = ""
    blocks: list[Block] = field(default_factory=list)
    error: bool = False


def cut(text: str) -> tuple[str, int]:
    """`text` within MAX_CHARS (head and tail), and how many characters were left out."""
    if len(text) <= MAX_CHARS:
        return text, 0
    head, tail = MAX_CHARS * 3 // 4, MAX_CHARS // 4
    left = len(text) - head - tail
    return f"{text[:head]}\n[... {left} characters not shown here: the trajectory has them ...]\n{text[-tail:]}", left


def long(text: str) -> bool:
    return text.count("\n") >= FOLD_LINES or len(text) > FOLD_CHARS


def text_block(kind: str, text: str, title: str = "", bad: bool = False) -> Block:
    shown, _ = cut(text)
    return Block(kind, title=title, text=shown, folded=long(shown), bad=bad,
                 extra={"lines": text.count("\n") + 1})


def value_html(value: Any) -> tuple[str, Markup | None, bool]:
    """A value as (inline text, block html, folded) for a key/value row."""
    if isinstance(value, str):
        if "\n" in value or len(value) > 200:
            shown, _ = cut(value)
            return "", Markup('<pre class="out">') + shown + Markup("</pre>"), long(shown)
        return value, None, False
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value) and len(value) <= 12:
        return ", ".join(str(v) for v in value) if value else "(none)", None, False
    if isinstance(value, dict) and value and all(isinstance(v, int | float) for v in value.values()) and len(value) <= 12:
        return ", ".join(f"{k} {v}" for k, v in value.items()), None, False
    if isinstance(value, list | dict):
        text, _ = cut(json.dumps(value, indent=1, ensure_ascii=False, default=str))
        return "", Markup('<pre class="out">') + text + Markup("</pre>"), long(text)
    return text_of(value), None, False


def kv(data: dict, skip: tuple[str, ...] = (), title: str = "") -> Block | None:
    rows = []
    for k, v in data.items():
        if k in skip or v is None or v == "" or v == []:
            continue
        text, html, folded = value_html(v)
        rows.append((str(k), text, html, folded))
    return Block("kv", title=title, rows=rows) if rows else None


# -- tool calls ----------------------------------------------------------------------------------------
def _file_of(args: dict) -> str:
    for key in ("path", "name", "file", "after", "before"):
        v = args.get(key)
        if isinstance(v, str) and v:
            return v.split(":", 1)[0]
    return ""


def _edit_diff(name: str, args: dict) -> Markup | None:
    """The diff an edit call asks for, from its arguments alone (old/new text)."""
    old, new = args.get("old"), args.get("new")
    if isinstance(old, str) and isinstance(new, str):
        path = _file_of(args) or "file"
        lines = difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}", n=2)
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        return highlight.diff(text) if text else None
    return None


def call_block(call: dict, observation: dict | None) -> Block:
    name = text_of(call.get("name")) or "(unnamed)"
    args = mapping(call.get("arguments"))
    raw = call.get("raw_arguments")
    error = text_of(call.get("error"))
    rows: list[tuple[str, str, Markup | None, bool]] = []
    diff = _edit_diff(name, args)
    path = _file_of(args)
    for k, v in args.items():
        if diff is not None and k in ("old", "new"):
            continue
        if k in CODE_ARGS and isinstance(v, str):
            shown, _ = cut(v)
            lang = "bash" if k in ("command", "script") else ""
            rows.append((k, "", highlight.code(shown, path or "x.py", lang), long(shown)))
        else:
            rows.append((k, *value_html(v)))
    if diff is not None:
        rows.append(("edit", "", diff, False))
    if raw and not args:
        rows.append(("arguments (as sent)", *value_html(text_of(raw))))
    out = None
    if observation is not None:
        out = text_block("answer", text_of(observation.get("output")), bad=bool(observation.get("is_error")))
    return Block("call", title=name, rows=rows, bad=bool(error) or bool(out and out.bad), text=error,
                 extra={"answer": out})


# -- one step ------------------------------------------------------------------------------------------
class Context:
    """What the steps of one trajectory share while they are read in order."""

    def __init__(self, tests_before: dict | None):
        self.tests_before = tests_before
        self.patch = ""
        self.attempt = 0


def _patch_change(ctx: Context, patch: str) -> Block:
    """The files whose part of the patch this step changed, with their part after it."""
    old, new = diff_sections(ctx.patch), diff_sections(patch)
    ctx.patch = patch
    if old is None or new is None:
        return Block("diff", title="the patch after this step", html=highlight.diff(cut(patch)[0]))
    changed = [p for p in new if new[p] != old.get(p)]
    gone = [p for p in old if p not in new]
    text = "".join(new[p] for p in changed)
    title = "the patch of " + ", ".join(changed) + " after this step" if changed else "the patch"
    block = Block("diff", title=title, html=highlight.diff(cut(text)[0]) if text else None)
    if gone:
        block.text = "no longer changed by the patch: " + ", ".join(gone)
    return block


def _usage_tokens(step: dict) -> int | None:
    usage = mapping(step.get("usage")) or mapping(mapping(step.get("response")).get("usage"))
    if not usage:
        return None
    return int((num(usage.get("input_tokens")) or 0) + (num(usage.get("output_tokens")) or 0))


def _request(step: dict, show_last: bool) -> Block | None:
    req = mapping(step.get("request"))
    if not req:
        return None
    tools_ = strings(req.get("tools"))
    parts = [f"{int(num(req.get('messages')) or 0)} message(s)", f"{int(num(req.get('chars')) or 0):,} characters"]
    if tools_:
        parts.append(f"{len(tools_)} tool(s)")
    last = mapping(req.get("last"))
    block = Block("request", text=", ".join(parts), extra={"tools": ", ".join(tools_)})
    if show_last and last.get("content"):
        block.extra["last"] = text_block("last", text_of(last.get("content")),
                                         title=f"the last message ({text_of(last.get('role'))}), as sent")
    return block


def _model_turn(step: dict) -> list[Block]:
    resp = mapping(step.get("response"))
    blocks = []
    text = text_of(resp.get("text")).strip()
    if text:
        blocks.append(text_block("say", text))
    calls = dicts(resp.get("tool_calls"))
    obs = {text_of(o.get("tool_call_id")): o for o in dicts(step.get("observations"))}
    seen = set()
    for c in calls:
        o = obs.get(text_of(c.get("id")))
        seen.add(text_of(c.get("id")))
        blocks.append(call_block(c, o))
    for key, o in obs.items():  # answers without their call (a format this page does not know)
        if key not in seen:
            blocks.append(call_block({"name": o.get("name"), "id": key}, o))
    if not calls and resp and not text:
        blocks.append(Block("note", text="the model answered with neither text nor tool calls"))
    return blocks


def ranked(ranking: dict) -> tuple[list[dict], list[dict]]:
    """Retrieval's files and functions from a step's `ranking`, each with path, name, score, lines and
    signals (absent ones None or empty)."""
    def row(f: dict) -> dict:
        sig = {text_of(k): v for k, v in mapping(f.get("signals")).items() if num(v) is not None}
        lines = [int(x) for x in f.get("lines") or [] if num(x) is not None] if isinstance(f.get("lines"), list) else []
        return {"path": text_of(f.get("path")), "name": text_of(f.get("name")), "score": num(f.get("score")),
                "lines": lines, "signals": sig}

    return [row(f) for f in dicts(ranking.get("files"))], [row(f) for f in dicts(ranking.get("functions"))]


def _localize(step: dict, data: dict, ctx: Context) -> list[Block]:
    blocks = []
    ranking = mapping(data.get("ranking"))
    chosen = strings(data.get("chosen"))
    if ranking:
        files, functions = ranked(ranking)
        blocks.append(Block("ranking", title="retrieval's ranking",
                            extra={"files": files, "functions": functions, "chosen": set(chosen)}))
    rest = kv(data, skip=("ranking",) if ranking else ())
    return [*blocks, *([rest] if rest else [])]


def _test(step: dict, data: dict, ctx: Context) -> list[Block]:
    if data.get("skipped"):
        return [Block("note", text=f"no tests ran: {text_of(data.get('skipped'))}")]
    blocks = []
    head = kv({k: data.get(k) for k in ("command", "targets", "counts", "timed_out")})
    if head:
        blocks.append(head)
    richer = data.get("statuses") or data.get("results")
    if isinstance(richer, dict):
        blocks.append(Block("tests", title="tests: before and after this change",
                            table=results.compare(ctx.tests_before, richer)))
    elif isinstance(data.get("failing"), list):
        t = results.failing_now(data.get("failing"), ctx.tests_before)
        blocks.append(Block("tests", title="failing after this change" if t.rows else "nothing failing",
                            table=t, bad=any(r.cls == "bad" for r in t.rows)))
    rest = kv(data, skip=("command", "targets", "counts", "timed_out", "failing", "statuses", "results"))
    return blocks + ([rest] if rest else [])


def _submit(step: dict, data: dict, ctx: Context) -> list[Block]:
    ctx.patch = ""  # the next attempt starts from the base
    ev = mapping(data.get("evidence"))
    out = [b for b in (kv(data, skip=("evidence",)),
                       kv({k: v for k, v in ev.items() if v not in (False, None)}, title="test evidence")) if b]
    return out


def _generic(step: dict, data: dict, ctx: Context) -> list[Block]:
    b = kv(data)
    return [b] if b else []


RENDERERS: dict[str, Callable[[dict, dict, Context], list[Block]]] = {
    "localize": _localize, "test": _test, "submit": _submit}


def step_view(step: dict, ctx: Context, previous_node: str | None) -> StepView:
    """The view of one step (never raises: an unexpected shape falls back to its JSON)."""
    node = text_of(step.get("node")) or "(unknown)"
    attempt = num(mapping(step.get("data")).get("attempt"))
    if node == "index":  # every attempt starts with its index step
        ctx.attempt += 1
    elif node in ("resume", "error") and attempt is not None:
        ctx.attempt = int(attempt)
    n = int(num(step.get("step")) if num(step.get("step")) is not None else -1)
    view = StepView(n=n, node=node, attempt=max(ctx.attempt, 1), elapsed=num(step.get("elapsed")),
                    seconds=num(step.get("duration")), tokens=_usage_tokens(step), cost=num(step.get("cost")),
                    model=text_of(mapping(step.get("response")).get("model")))
    try:
        data = mapping(step.get("data"))
        req = _request(step, show_last=node != "edit" or previous_node != "edit")
        if req:
            view.blocks.append(req)
        view.blocks += _model_turn(step)
        if node == "edit" and isinstance(data.get("patch"), str):
            view.blocks.append(_patch_change(ctx, data["patch"]))
            data = {k: v for k, v in data.items() if k != "patch"}
        if node == "edit":
            data = {k: v for k, v in data.items() if k not in ("timings", "diff_lines")}
        view.blocks += RENDERERS.get(node, _generic)(step, data, ctx)
        status = text_of(data.get("status"))
        view.error = node == "error" or status in BAD_STATUSES or any(b.bad for b in view.blocks)
        if node == "error" or status in BAD_STATUSES:
            for b in view.blocks:
                b.bad = b.bad or b.kind == "kv"
    except Exception as exc:  # a shape this code does not expect: show the raw step
        view.blocks = [Block("note", text=f"this step could not be shown in detail ({type(exc).__name__}: {exc}); "
                                          "its JSON:"),
                       text_block("json", json.dumps(step, indent=1, ensure_ascii=False, default=str))]
    return view


def timing_points(views: list[StepView]) -> list[dict]:
    """tokens, cost and seconds per step, for the timeline (seconds: the step's duration, else the time
    since the step before)."""
    points, last = [], 0.0
    for v in views:
        secs = v.seconds
        if secs is None and v.elapsed is not None:
            secs = max(v.elapsed - last, 0.0)
        if v.elapsed is not None:
            last = v.elapsed
        points.append({"step": v.n, "node": v.node, "tokens": v.tokens, "cost": v.cost, "seconds": secs})
    return points
