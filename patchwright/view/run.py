"""A run directory (of `patchwright fix`, or one instance of a batch or of an eval) read into what its
page shows. Whatever is missing is said to be missing; nothing here requires a finished run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.models.registry import stand_in
from sandbox.errors import UserError

from . import plots, results
from .highlight import diff
from .read import TAIL, dicts, mapping, num, read_jsonl, read_object, read_text, strings, text_of
from .steps import Context, StepView, ranked, step_view, timing_points

FILES = {
    "run.json": "the request: repository, issue, model, options",
    "trajectory.jsonl": "one line per step",
    "patch.diff": "the final patch",
    "summary.json": "the outcome (written when the run ends)",
    "result.json": "the batch runner's record of the instance",
    "outcome.json": "the evaluation's outcome",
    "report.json": "the evaluation's official report",
    "test_output.txt": "the evaluation's test log",
}
"""The files a run directory may hold, and what each is."""
ORACLE_NOTE = ("The oracle replays the instance's gold patch through the real tools: it proves the pipeline; "
               "its results are not a model's.")
REPLAY_NOTE = "The model's turns were replayed from a cassette: no model was called."


def model_note(spec: str) -> str:
    """A sentence for runs whose turns were not a hosted model's (the oracle, a cassette, a stand-in
    such as `human` or `relay:DIR`); empty for a model."""
    head = spec.strip().split(":", 1)[0]
    if head == "oracle":
        return ORACLE_NOTE
    if head == "replay":
        return REPLAY_NOTE
    if not head:
        return ""
    found = stand_in(spec)
    return f"{found.note[:1].upper()}{found.note[1:]}." if found else ""


def is_batch_dir(path: Path) -> bool:
    """A `run` output directory, or an `eval` report directory (rather than one run)."""
    if (path / "manifest.json").exists() or (path / "predictions.jsonl").exists():
        return True
    return (path / "summary.json").exists() and (path / "summary.md").exists()


@dataclass
class Run:
    """What one run directory holds (None / empty: absent)."""

    dir: Path
    request: dict | None = None
    summary: dict | None = None
    patch: str | None = None
    steps: list[dict] = field(default_factory=list)
    record: dict | None = None
    outcome: dict | None = None
    report: dict | None = None
    test_log: str | None = None
    present: dict[str, int | None] = field(default_factory=dict)
    """File name -> size in bytes, None when missing."""
    notes: list[str] = field(default_factory=list)

    @property
    def instance_id(self) -> str:
        return text_of(mapping(self.record).get("instance_id") or mapping(self.outcome).get("instance_id")) \
            or self.dir.name

    @property
    def eval(self) -> dict:
        """The evaluation's outcome: outcome.json, else the runner's record of it."""
        return self.outcome or mapping(mapping(self.record).get("eval"))


def load_run(path: str | Path) -> Run:
    """Read a run directory (or the directory of a trajectory.jsonl given by name)."""
    p = Path(path)
    if p.is_file():
        p = p.parent
    if not p.is_dir():
        raise UserError(f"{path}: no such directory")
    if is_batch_dir(p):
        raise UserError(f"{p} holds a batch (a `run` or `eval` output): `patchwright report {path}` shows it, "
                        f"`patchwright view {Path(path) / 'INSTANCE_ID'}` one of its instances")
    present = {name: (p / name).stat().st_size if (p / name).is_file() else None for name in FILES}
    if not any(v is not None for v in present.values()):
        raise UserError(f"{p} holds no patchwright run (none of {', '.join(FILES)})")
    run = Run(dir=p.resolve(), present=present)
    n = run.notes
    run.request = read_object(p / "run.json", n)
    run.summary = read_object(p / "summary.json", n)
    run.patch = read_text(p / "patch.diff", n)
    run.steps = read_jsonl(p / "trajectory.jsonl", n)
    run.record = read_object(p / "result.json", n)
    run.outcome = read_object(p / "outcome.json", n)
    run.report = read_object(p / "report.json", n)
    run.test_log = read_text(p / "test_output.txt", n, tail=TAIL)
    return run


def status_of(run: Run) -> tuple[str, str]:
    """(status, one line on where it comes from)."""
    if run.summary and run.summary.get("status"):
        return text_of(run.summary["status"]), "the agent's status (summary.json)"
    rec = mapping(run.record)
    if rec and not rec.get("finished", True):
        return "could not run", text_of(rec.get("error"))
    if rec.get("status"):
        return text_of(rec["status"]), "the batch runner's record"
    if run.steps:
        last = run.steps[-1]
        return "unfinished", (f"no summary.json: the run is still going, or it stopped (killed or crashed) after "
                              f"step {text_of(last.get('step'))} ({text_of(last.get('node'))})")
    if run.eval:
        return text_of(run.eval.get("status")) or "unknown", "an evaluation only (no trajectory)"
    return "unknown", "no summary.json and no trajectory"


def _facts(run: Run) -> list[tuple[str, str]]:
    req, summ, rec = mapping(run.request), mapping(run.summary), mapping(run.record)
    facts: list[tuple[str, str]] = []

    def add(label: str, value) -> None:
        if value not in (None, "", []):
            facts.append((label, text_of(value)))

    add("model", summ.get("model") or req.get("model") or rec.get("model")
        or mapping(run.eval).get("model_name_or_path"))
    add("repository", req.get("repo"))
    add("workspace", req.get("workspace"))
    add("image", req.get("image") or rec.get("image"))
    add("test command", summ.get("test_command") or req.get("test_cmd"))
    steps = num(summ.get("steps") if summ else rec.get("steps"))
    model_calls = sum(1 for s in run.steps if isinstance(s.get("response"), dict))
    add("model calls", int(steps) if steps is not None else model_calls or None)
    add("trajectory steps", len(run.steps) or None)
    tokens = num(summ.get("tokens") if summ else rec.get("tokens"))
    add("tokens", f"{int(tokens):,}" if tokens is not None else None)
    source = summ or rec
    if "cost" in source:
        add("cost", "unknown (the model has no price)" if source["cost"] is None else plots.dollars(num(source["cost"]) or 0))
    elapsed = num(summ.get("elapsed")) if summ else num(rec.get("elapsed"))
    if elapsed is None and run.steps:
        elapsed = num(run.steps[-1].get("elapsed"))
    add("time", plots.seconds(elapsed) if elapsed is not None else None)
    add("attempts", req.get("attempts") if (num(req.get("attempts")) or 1) > 1 else None)
    add("chosen attempt", summ.get("attempt") if len(dicts(summ.get("attempts"))) > 1 else None)
    add("started", text_of(run.steps[0].get("time")) if run.steps else None)
    add("last step written", text_of(run.steps[-1].get("time")) if run.steps else None)
    add("worker", rec.get("worker"))
    return facts


def _localization(run: Run) -> dict:
    """Retrieval's ranking (with signals, when the trajectory has them) and what the model chose."""
    out: dict = {"files": [], "functions": [], "chosen_files": [], "chosen_defs": []}
    for s in run.steps:
        if s.get("node") != "localize":
            continue
        data = mapping(s.get("data"))
        ranking = mapping(data.get("ranking"))
        if ranking and not out["files"]:
            out["files"], out["functions"] = ranked(ranking)
        elif not out["files"] and strings(data.get("candidates")):
            out["files"] = [{"path": c, "name": "", "score": None, "lines": [], "signals": {}}
                            for c in strings(data.get("candidates"))]
        if data.get("stage") == "files":
            out["chosen_files"] = strings(data.get("chosen"))
        elif data.get("stage") == "definitions":
            out["chosen_defs"] = strings(data.get("chosen"))
    return out


def _final_patch(run: Run) -> tuple[str | None, str]:
    if run.patch is not None:
        return run.patch, "patch.diff"
    for s in reversed(run.steps):
        p = mapping(s.get("data")).get("patch")
        if isinstance(p, str):
            return p, "the patch so far (the last one the trajectory recorded; there is no patch.diff)"
    return None, "no patch.diff"


def _eval(run: Run) -> dict | None:
    ev = run.eval
    if not ev and not run.report:
        return None
    entry = mapping(mapping(run.report or ev.get("report")).get(run.instance_id))
    if not entry and run.report and len(run.report) == 1:
        entry = mapping(next(iter(run.report.values())))
    durations = mapping(ev.get("durations"))
    return {"status": text_of(ev.get("status")) or ("resolved" if entry.get("resolved") else "unknown"),
            "facts": [(k, text_of(ev.get(k))) for k in ("patch_method", "image", "error") if ev.get(k)]
            + ([("timed out", "yes")] if ev.get("timed_out") else [])
            + ([("time", ", ".join(f"{k} {plots.seconds(v)}" for k, v in durations.items() if num(v) is not None))]
               if durations else []),
            "table": results.graded(entry) if entry else None, "log": run.test_log}


ATTEMPT_FIELDS = ("attempt", "status", "files_changed", "changed_lines", "fixed", "broken", "failing", "repro", "steps")


def _attempts(summ: dict) -> list[dict]:
    """summary.json's attempts (each with every field the table shows), when there were several."""
    rows = dicts(summ.get("attempts"))
    return [{k: a.get(k) for k in ATTEMPT_FIELDS} for a in rows] if len(rows) > 1 else []


def _title(run: Run) -> str:
    """The instance id for a batch's instance, else the repository's name and the run directory's."""
    if run.record or run.outcome:
        return run.instance_id
    repo = text_of(mapping(run.request).get("repo")).rstrip("/").rsplit("/", 1)[-1]
    return f"{repo} · {run.dir.name}" if repo else run.dir.name


def page_context(run: Run) -> dict:
    """Everything the run page's template shows."""
    summ = mapping(run.summary)
    ctx = Context(summ.get("tests_before") if isinstance(summ.get("tests_before"), dict) else None)
    views: list[StepView] = []
    previous = None
    for s in run.steps:
        views.append(step_view(s, ctx, previous))
        previous = views[-1].node
    points = timing_points(views)
    status, status_note = status_of(run)
    model = text_of(mapping(run.request).get("model") or summ.get("model") or mapping(run.record).get("model"))
    patch, patch_source = _final_patch(run)
    nodes: dict[str, int] = {}
    for v in views:
        nodes[v.node] = nodes.get(v.node, 0) + 1
    return {
        "kind": "run", "title": _title(run), "dir": str(run.dir), "status": status, "status_note": status_note,
        "message": text_of(summ.get("message") or mapping(run.record).get("message")),
        "model_note": model_note(model),
        "facts": _facts(run), "issue": text_of(mapping(run.request).get("issue")),
        "notes": run.notes, "trajectory_missing": run.present.get("trajectory.jsonl") is None, "files": [(k, FILES[k], v) for k, v in run.present.items()],
        "files_changed": strings(summ.get("files_changed") or mapping(run.record).get("files_changed")),
        "patch": diff(patch) if patch else None, "patch_source": patch_source, "patch_empty": patch == "",
        "final_tests": results.compare(summ.get("tests_before"), summ.get("tests_after"))
        if summ.get("tests_before") is not None or summ.get("tests_after") is not None else None,
        "attempts": _attempts(summ),
        "eval": _eval(run), "localization": _localization(run), "steps": views, "nodes": nodes,
        "timeline": plots.timeline(points, [("tokens", "tokens", plots.count), ("cost", "dollars", plots.dollars),
                                            ("seconds", "seconds", plots.seconds)]) if points else None,
        "timeline_data": [[p["step"], p["node"], p["tokens"], p["cost"], p["seconds"]] for p in points],
    }
