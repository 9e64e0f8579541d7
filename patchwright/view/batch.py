"""A batch directory read into what the report shows: a `patchwright run` output (OUT/manifest.json,
OUT/predictions.jsonl, OUT/ID/result.json ...) or a `patchwright eval` report directory
(REPORT/summary.json, REPORT/ID/outcome.json ...). Instances are taken from the directories that
exist; a record that cannot be read is shown as such."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.state import Status, status_text
from sandbox.errors import UserError

from .read import mapping, num, read_jsonl, read_object, strings, text_of
from .run import is_batch_dir, model_note

RESOLVED = "resolved"
"""The harness's grade of a patch that makes FAIL_TO_PASS pass and keeps PASS_TO_PASS passing."""
VERIFIED = Status.VERIFIED.value
"""The agent's own judgement, counted where no instance is graded (never called resolved: that is the grade)."""


def flips(graded: bool) -> tuple[str, str]:
    """How `compare` names an instance resolved (graded; else verified) in the first batch only, and
    in the second only."""
    word = "resolved" if graded else VERIFIED
    return f"{word} only here", f"{word} only there"


@dataclass
class Instance:
    id: str
    dir: Path | None
    repo: str
    agent_status: str = ""
    """The agent's own status (run outputs); `could not run` when the runner recorded an error."""
    eval_status: str | None = None
    """The harness's grade; None when not graded."""
    steps: int | None = None
    tokens: int | None = None
    cost: float | None = None
    elapsed: float | None = None
    files_changed: list[str] = field(default_factory=list)
    error: str = ""
    page: str | None = None
    """Link to the instance's page, relative to the report (set when pages are written)."""

    @property
    def resolved(self) -> bool | None:
        """Resolved by the harness's grade; None when not graded."""
        return None if self.eval_status is None else self.eval_status == RESOLVED


@dataclass
class Batch:
    dir: Path
    kind: str
    """`run` or `eval`."""
    dataset: str = ""
    model: str = ""
    instances: list[Instance] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def graded(self) -> list[Instance]:
        return [i for i in self.instances if i.eval_status is not None]


def repo_of(instance_id: str) -> str:
    """The repository an instance id names (SWE-bench's `owner__name-NUMBER`), else the id without
    its last `-part`."""
    m = re.match(r"^(.+?)__(.+)-[^-]+$", instance_id)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    return instance_id.rsplit("-", 1)[0]


def load_batch(path: str | Path) -> Batch:
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"{path}: no such directory")
    if not is_batch_dir(p):
        if (p / "trajectory.jsonl").exists() or (p / "run.json").exists():
            raise UserError(f"{p} holds one run, not a batch: `patchwright view {path}` shows it")
        raise UserError(f"{p} holds neither a `patchwright run` output (manifest.json, predictions.jsonl) nor an "
                        "eval report (summary.json, summary.md)")
    if (p / "manifest.json").exists() or (p / "predictions.jsonl").exists():
        return _load_run(p.resolve())
    return _load_eval(p.resolve())


def _subdirs(p: Path) -> list[Path]:
    return sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != "eval")


def _load_run(p: Path) -> Batch:
    notes: list[str] = []
    manifest = read_object(p / "manifest.json", notes) or {}
    if not (p / "manifest.json").exists():
        notes.append("manifest.json is missing")
    batch = Batch(dir=p, kind="run", dataset=text_of(manifest.get("dataset")), model=text_of(manifest.get("model")),
                  notes=notes)
    predicted = {text_of(r.get("instance_id")) for r in read_jsonl(p / "predictions.jsonl", notes)}
    dirs = {d.name: d for d in _subdirs(p)}
    for iid in sorted(set(dirs) | predicted - {""}):
        d = dirs.get(iid)
        inst = Instance(id=iid, dir=d, repo=repo_of(iid))
        rec = read_object(d / "result.json", notes) if d else None
        if d is None:
            inst.agent_status, inst.error = "unknown", "a prediction without its directory"
        elif rec is None:
            inst.agent_status, inst.error = "unknown", "no readable result.json"
        else:
            inst.agent_status = status_text(text_of(rec.get("status"))) or "unknown"
            if not rec.get("finished", True):
                inst.agent_status = "could not run"
            inst.error = text_of(rec.get("error"))
            inst.steps = _int(rec.get("steps"))
            inst.tokens = _int(rec.get("tokens"))
            inst.cost = num(rec.get("cost"))
            inst.elapsed = num(rec.get("elapsed"))
            inst.files_changed = strings(rec.get("files_changed"))
            ev = mapping(rec.get("eval"))
            if ev.get("status"):
                inst.eval_status = text_of(ev["status"])
                inst.error = inst.error or text_of(ev.get("error"))
        if d is not None:
            req = read_object(d / "run.json", []) or {}
            inst.repo = text_of(req.get("repo")) or inst.repo
            if inst.eval_status is None:  # graded by `patchwright eval` into the same directory
                out = read_object(d / "outcome.json", notes) or {}
                inst.eval_status = text_of(out.get("status")) or None
        batch.instances.append(inst)
    work = p / ".work"
    if work.is_dir():
        batch.in_flight = sorted(d.name for d in work.iterdir() if d.is_dir())
    return batch


def _load_eval(p: Path) -> Batch:
    notes: list[str] = []
    summary = read_object(p / "summary.json", notes) or {}
    batch = Batch(dir=p, kind="eval", dataset=text_of(summary.get("dataset")), notes=notes)
    models = set()
    for d in _subdirs(p):
        out = read_object(d / "outcome.json", notes)
        if out is None:
            continue
        inst = Instance(id=text_of(out.get("instance_id")) or d.name, dir=d, repo=repo_of(d.name),
                        eval_status=text_of(out.get("status")) or "unknown", error=text_of(out.get("error")),
                        elapsed=num(mapping(out.get("durations")).get("total")))
        models.add(text_of(out.get("model_name_or_path")))
        batch.instances.append(inst)
    batch.model = ", ".join(sorted(m for m in models if m))
    return batch


def _int(v) -> int | None:
    n = num(v)
    return None if n is None else int(n)


# -- what the report shows -------------------------------------------------------------------------------
def rate(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "–"


def headline(b: Batch) -> dict:
    """Resolved counts and rates: graded by the harness when any instance is, else the agent's own."""
    total = len(b.instances)
    graded = b.graded
    if graded:
        resolved = sum(1 for i in graded if i.resolved)
        basis = "graded by the harness" + (f" ({len(graded)} of {total} instances graded)" if len(graded) < total else "")
    else:
        resolved = sum(1 for i in b.instances if i.agent_status == VERIFIED)
        basis = "verified by the agent's own tests, not graded (run with --eval, or `patchwright eval`)"
    costs = [i.cost for i in b.instances if i.cost is not None]
    unpriced = sum(1 for i in b.instances if i.cost is None and b.kind == "run" and i.agent_status != "could not run")
    times = [i.elapsed for i in b.instances if i.elapsed is not None]
    steps = [i.steps for i in b.instances if i.steps is not None]
    return {"total": total, "resolved": resolved, "label": "resolved" if graded else VERIFIED,
            "rate": rate(resolved, total), "basis": basis,
            "cost": sum(costs) if costs else None, "unpriced": unpriced, "time": sum(times) if times else None,
            "steps": sum(steps) if steps else None, "model_note": model_note(b.model) if b.kind == "run" else ""}


def per_repo(b: Batch) -> list[dict]:
    graded = bool(b.graded)
    groups: dict[str, list[Instance]] = {}
    for i in b.instances:
        groups.setdefault(i.repo, []).append(i)
    rows = []
    for repo, insts in sorted(groups.items()):
        n = sum(1 for i in insts if (i.resolved if graded else i.agent_status == VERIFIED))
        rows.append({"repo": repo, "total": len(insts), "resolved": n, "rate": rate(n, len(insts)),
                     "pct": 100 * n / len(insts)})
    return rows


def breakdown(values: list[str]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))


def compare(a: Batch, b: Batch) -> dict:
    """Which instances flipped between two batches (resolved by the harness's grade when both are
    graded, else by the agent's status)."""
    graded = bool(a.graded) and bool(b.graded)

    def res(i: Instance | None) -> bool | None:
        if i is None:
            return None
        return i.resolved if graded else i.agent_status == VERIFIED

    ia, ib = {i.id: i for i in a.instances}, {i.id: i for i in b.instances}
    HERE, THERE = flips(graded)
    rows = []
    for iid in sorted(set(ia) | set(ib)):
        x, y = ia.get(iid), ib.get(iid)
        ra, rb = res(x), res(y)
        flip = (HERE if ra and rb is False else THERE if ra is False and rb else
                "only in this run" if y is None else "only in the other" if x is None else "")
        rows.append({"id": iid, "a": x, "b": y, "ra": ra, "rb": rb, "flip": flip})
    common = [r for r in rows if r["a"] is not None and r["b"] is not None]
    return {"graded": graded, "label": "resolved" if graded else VERIFIED, "rows": rows, "common": len(common),
            "here": [r for r in rows if r["flip"] == HERE], "there": [r for r in rows if r["flip"] == THERE],
            "only_a": [r for r in rows if r["a"] is not None and r["b"] is None],
            "only_b": [r for r in rows if r["a"] is None and r["b"] is not None],
            "resolved_a": sum(1 for r in common if r["ra"]), "resolved_b": sum(1 for r in common if r["rb"])}
