"""Reports: a directory per instance (patch, test log, report.json) and a summary for the run.

    REPORT_DIR/<instance_id>/patch.diff         the model patch
    REPORT_DIR/<instance_id>/test_output.txt    the evaluation log (markers as in SWE-bench)
    REPORT_DIR/<instance_id>/report.json        the official per-instance report
    REPORT_DIR/<instance_id>/outcome.json       our record: status, patch method, durations, error
    REPORT_DIR/<instance_id>/image_build.log    only when an image was built (or failed to)
    REPORT_DIR/summary.json, summary.md         counts and ids per status
"""

from __future__ import annotations

import json
from pathlib import Path

from .paths import inside

STATUSES = ("resolved", "unresolved", "empty_patch", "patch_failed", "error")


def write_instance(report_dir: Path, outcome, patch: str, log: str, build_log: str = "") -> Path:
    """Write REPORT_DIR/<instance_id>/ (refused when the id does not name a directory inside it)."""
    d = inside(report_dir, outcome.instance_id)
    d.mkdir(parents=True, exist_ok=True)
    (d / "patch.diff").write_text(patch)
    if log:
        (d / "test_output.txt").write_text(log)
    if build_log:
        (d / "image_build.log").write_text(build_log)
    if outcome.report:
        (d / "report.json").write_text(json.dumps(outcome.report, indent=4) + "\n")
    (d / "outcome.json").write_text(outcome.model_dump_json(indent=2, exclude={"report"}) + "\n")
    return d


def summarize(outcomes, *, dataset: str = "", malformed: list[str] | None = None,
              unknown_ids: list[str] | None = None, duplicates: list[str] | None = None,
              strict: bool = False) -> dict:
    """The run's summary: counts and sorted ids per status, plus the input problems (and, with
    strict, the patches that touch the test infrastructure)."""
    ids = {s: sorted(o.instance_id for o in outcomes if o.status == s) for s in STATUSES}
    total = len(outcomes)
    return {
        "dataset": dataset,
        "total": total,
        "resolved": len(ids["resolved"]),
        "resolved_rate": round(len(ids["resolved"]) / total, 4) if total else 0.0,
        "counts": {s: len(v) for s, v in ids.items()},
        "ids": ids,
        "errors": {o.instance_id: o.error for o in outcomes if o.error},
        "timed_out": sorted(o.instance_id for o in outcomes if o.timed_out),
        "patch_methods": {o.instance_id: o.patch_method for o in outcomes if o.patch_method},
        "images_built": sorted({t for o in outcomes for t in o.images_built}),
        "malformed_prediction_lines": malformed or [],
        "duplicate_predictions": duplicates or [],
        "unknown_instance_ids": unknown_ids or [],
        "strict": strict,
        "suspicious": {o.instance_id: o.suspicious for o in sorted(outcomes, key=lambda o: o.instance_id)
                       if o.suspicious},
    }


def markdown(summary: dict) -> str:
    """The summary as a Markdown table (one row per status) with the ids that were not resolved."""
    rows = ["| status | count | instances |", "|---|---:|---|"]
    for s in STATUSES:
        ids = summary["ids"][s]
        shown = ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")
        rows.append(f"| {s} | {len(ids)} | {shown if s != 'resolved' else ''} |")
    head = (f"**{summary['resolved']} / {summary['total']} resolved** "
            f"({100 * summary['resolved_rate']:.1f}%) on {summary['dataset'] or 'the dataset'}\n\n")
    tail = ""
    if summary.get("suspicious"):
        status = {i: s for s, ids in summary["ids"].items() for i in ids}
        tail += ("\n\nSuspicious (eval --strict: the patch touches the test infrastructure; the status is the "
                 "official grade):\n\n" + "\n".join(f"- `{k}` ({status.get(k, '?')}): {'; '.join(v)}"
                                                      for k, v in sorted(summary["suspicious"].items())))
    if summary["errors"]:
        tail += "\n\nErrors:\n\n" + "\n".join(f"- `{k}`: {v}" for k, v in sorted(summary["errors"].items()))
    if summary["malformed_prediction_lines"]:
        tail += "\n\nMalformed prediction lines:\n\n" + "\n".join(f"- {m}" for m in summary["malformed_prediction_lines"])
    if summary.get("duplicate_predictions"):
        tail += "\n\nDuplicate predictions (the last line of each id is scored):\n\n" + "\n".join(
            f"- {d}" for d in summary["duplicate_predictions"])
    if summary["unknown_instance_ids"]:
        tail += "\n\nPredictions for unknown instances: " + ", ".join(summary["unknown_instance_ids"])
    return head + "\n".join(rows) + tail + "\n"


def write_summary(report_dir: Path, summary: dict) -> None:
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (report_dir / "summary.md").write_text(markdown(summary))
