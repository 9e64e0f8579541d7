"""`patchwright eval`: score predictions the way SWE-bench does, offline, with our images."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sandbox.errors import UserError

from .report import write_and_say


def _split_ids(value: str | None) -> list[str] | None:
    """--instances: ids separated by commas or spaces, or @FILE holding ids the same way (one a line
    or several, `#` starts a comment)."""
    if not value:
        return None
    if value.startswith("@"):
        name = value[1:]
        try:
            text = Path(name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"--instances {value}: no such file {name}") from None
        except UnicodeDecodeError as exc:
            raise UserError(f"--instances {value}: {name} is not UTF-8 text (byte {exc.start + 1})") from None
        except OSError as exc:
            raise UserError(f"--instances {value}: cannot read {name} ({exc.strerror or exc})") from None
        value = " ".join(line.split("#", 1)[0] for line in text.splitlines())
    return [v for v in value.replace(",", " ").split() if v]


@click.command("eval")
@click.option("--dataset", default="builtin", show_default=True,
              help="`builtin`, a SWE-bench JSONL file of instances, or hf:NAME[:SPLIT] (needs `datasets`).")
@click.option("--predictions", required=True,
              help="A predictions JSONL file (instance_id, model_name_or_path, model_patch), `gold` or `empty`.")
@click.option("--instances", "instance_ids", default=None,
              help="Only these instance ids (comma or space separated, or @FILE holding them; # comments).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Instances evaluated at once.")
@click.option("--mirrors", type=click.Path(file_okay=False), default=None,
              help="Directory of bare git mirrors named owner__name (else repositories are cloned).")
@click.option("--specs", "spec_files", multiple=True, type=click.Path(dir_okay=False),
              help="An environment spec file (YAML/JSON) that wins over the shipped specs; repeatable.")
@click.option("--image-source", type=click.Choice(["build", "official"]), default="build", show_default=True,
              help="`build` our images, or pull the official SWE-bench instance images (needs a registry).")
@click.option("--timeout", type=float, default=None, help="Test timeout in seconds (default: the spec's).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Report directory (default: ./eval-reports/<dataset>-<predictions>).")
@click.option("--offline", is_flag=True, help="Never clone a repository (only --mirrors and builtin).")
@click.option("--strict", is_flag=True,
              help="Also mark patches that touch the test infrastructure (conftest files, pytest/tox settings, the "
                   "instance's test files) as suspicious; the grade stays the official one.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def eval_cmd(dataset, predictions, instance_ids, workers, mirrors, spec_files, image_source, timeout, report_dir,
             offline, strict, as_json):
    """Evaluate PREDICTIONS on DATASET: apply each patch, run FAIL_TO_PASS and PASS_TO_PASS, grade.

    Writes a directory per instance (patch.diff, test_output.txt, report.json), summary.json /
    summary.md, and the report page report.html (`patchwright report`; its path is printed last,
    on stderr with --json). The summary JSON (--json) has: dataset, total, resolved, resolved_rate, counts and
    ids per status (resolved, unresolved, empty_patch, patch_failed, error), errors (id -> one
    line), timed_out, patch_methods, images_built, malformed_prediction_lines, duplicate_predictions,
    unknown_instance_ids, strict, suspicious (id -> reasons, with --strict). Exit status 0 when the
    run completed (whatever was resolved), 2 on bad input.
    """
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from harness.evaluation import EvalOptions, evaluate
    from harness.instance import load_instances, load_predictions, synthetic_predictions
    from harness.reports import summarize, write_summary
    from harness.specs import SpecTable

    err = Console(stderr=True, soft_wrap=True)
    ids = _split_ids(instance_ids)
    instances = load_instances(dataset, ids)
    malformed: list[str] = []
    unknown: list[str] = []
    duplicates = []
    if predictions in ("gold", "empty"):
        preds = synthetic_predictions(instances, predictions)
    else:
        preds, errors, duplicates = load_predictions(predictions)
        malformed = [str(e) for e in errors]
        for e in errors:
            err.print(f"[yellow]warning:[/] malformed prediction line {e}", highlight=False)
        for d in duplicates:
            err.print(f"[yellow]warning:[/] duplicate prediction in {predictions}: {d}", highlight=False)
        known = {i.instance_id for i in load_instances(dataset)} if ids else {i.instance_id for i in instances}
        unknown = sorted(set(preds) - known)
        for u in unknown:
            err.print(f"[yellow]warning:[/] prediction for unknown instance id {u} (not in {dataset})",
                      highlight=False)
        if not preds and errors:
            raise UserError(f"no readable prediction in {predictions} ({len(errors)} malformed line(s))")
    todo = [i for i in instances if i.instance_id in preds]
    if not todo:
        raise UserError("nothing to evaluate: no prediction matches an instance of the dataset"
                        + (" (check --instances)" if ids else ""))
    name = Path(str(dataset)).stem
    pname = predictions if predictions in ("gold", "empty") else Path(predictions).stem
    out_dir = Path(report_dir or Path("eval-reports") / f"{name}-{pname}")
    opts = EvalOptions(specs=SpecTable(list(spec_files)), mirrors=mirrors, image_source=image_source,
                       online=not offline, timeout=timeout, report_dir=out_dir, strict=strict,
                       say=lambda m: err.print(f"  {m}", highlight=False, style="dim"))
    progress = Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                        TimeElapsedColumn(), console=err, transient=False, disable=not err.is_terminal)
    with progress:
        task = progress.add_task("", total=len(todo))

        def on_result(o):
            progress.advance(task)
            progress.update(task, description=f"{o.instance_id}: {o.status}")
            if not err.is_terminal:
                extra = f" ({o.error})" if o.error else ""
                err.print(f"{o.instance_id}: {o.status}{extra}", highlight=False)

        outcomes = evaluate(todo, preds, opts, workers=workers, on_result=on_result)
    summary = summarize(outcomes, dataset=str(dataset), malformed=malformed, unknown_ids=unknown,
                        duplicates=[str(d) for d in duplicates], strict=strict)
    summary["report_dir"] = str(out_dir)
    write_summary(out_dir, summary)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        # imported when the command runs, so --help and usage errors stay fast
        from harness.reports import markdown

        click.echo(markdown(summary).rstrip())
        click.echo(f"\nreports: {out_dir}")
    write_and_say(out_dir, err=as_json)
    return 0
