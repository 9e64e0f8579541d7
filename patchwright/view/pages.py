"""Rendering and writing the pages: the jinja2 environment (templates/), a run's page and a batch's
report with its instances' pages."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from patchwright import __version__
from sandbox.errors import UserError

from . import batch as batches
from . import highlight, plots
from .run import load_run, page_context

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE = "view.html"
"""An instance's page, in its own directory (what `view` writes by default)."""
REPORT = "report.html"
"""A batch's report, in its directory (what `report` writes by default)."""
TOP = 10
"""Instances in the slowest and the most expensive lists."""


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(cssname=plots.css_name, dollars=plots.dollars, seconds=plots.seconds, count=plots.count,
                       score=plots.score)
    env.globals.update(css=Markup((TEMPLATES / "page.css").read_text() + highlight.stylesheet()),
                       js=Markup((TEMPLATES / "page.js").read_text()), version=_version())
    return env


def _version() -> str:
    return __version__


def _render(template: str, command: str, page_title: str, context: dict) -> str:
    return _env().get_template(template).render(
        command=command, page_title=page_title, generated=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        **context)


def render_run(run_dir: str | Path) -> str:
    """The page of one run directory (a `fix` run, or an instance of a batch or of an eval)."""
    ctx = page_context(load_run(run_dir))
    return _render("run.html.j2", f"patchwright view {run_dir}", f"{ctx['title']} · {ctx['status']} · patchwright",
                   ctx)


def _write(path: Path, html: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_run_page(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's page to `out` (default RUN_DIR/view.html); returns its path."""
    html = render_run(run_dir)
    base = Path(run_dir)
    return _write(Path(out) if out else (base.parent if base.is_file() else base) / PAGE, html)


@lru_cache(maxsize=1)
def _code_time() -> float:
    """When this package last changed (a page older than that is written again)."""
    return max(p.stat().st_mtime for p in Path(__file__).resolve().parent.rglob("*") if p.is_file())


def _stale(d: Path, page: Path) -> bool:
    if not page.exists():
        return True
    newest = max((p.stat().st_mtime for p in d.iterdir() if p.is_file() and p.name != PAGE), default=0.0)
    return page.stat().st_mtime < max(newest, _code_time())


def _instance_pages(b: batches.Batch, report: Path, say: Callable[[str], None]) -> None:
    """Write (or keep, when up to date) each instance's page, and link it from the report."""
    todo = [i for i in b.instances if i.dir is not None]
    for k, inst in enumerate(todo, 1):
        page = inst.dir / PAGE
        try:
            if _stale(inst.dir, page):
                _write(page, render_run(inst.dir))
        except (UserError, OSError) as exc:
            b.notes.append(f"no page for {inst.id}: {exc}")
            continue
        inst.page = Path(os.path.relpath(page, report.parent)).as_posix()
        if k % 50 == 0:
            say(f"instance pages: {k} of {len(todo)}")


def report_context(b: batches.Batch) -> dict:
    insts = b.instances
    costs = [i.cost for i in insts if i.cost is not None]
    steps = [float(i.steps) for i in insts if i.steps is not None]
    times = [i.elapsed for i in insts if i.elapsed is not None]
    plots_ = []
    if b.kind == "run":
        plots_ += [plots.histogram(costs, "dollars per instance", plots.dollars),
                   plots.histogram(steps, "model calls per instance", plots.count)]
    plots_.append(plots.histogram(times, "seconds per instance", plots.seconds))
    statuses = sorted({s for i in insts for s in (i.agent_status, i.eval_status) if s})
    return {
        "kind": b.kind, "title": f"report: {b.dir.name}", "dir": str(b.dir), "dataset": b.dataset, "model": b.model,
        "headline": batches.headline(b), "notes": b.notes, "in_flight": b.in_flight,
        "repos": batches.per_repo(b), "instances": insts, "all_statuses": statuses,
        "agent_statuses": batches.breakdown([i.agent_status for i in insts if i.agent_status]),
        "eval_statuses": batches.breakdown([i.eval_status for i in insts if i.eval_status]),
        "plots": plots_,
        "slowest": sorted((i for i in insts if i.elapsed is not None), key=lambda i: -i.elapsed)[:TOP],
        "costliest": sorted((i for i in insts if i.cost), key=lambda i: -i.cost)[:TOP],
    }


def render_report(out_dir: str | Path, *, compare: str | Path | None = None, dest: str | Path | None = None,
                  pages: bool = True, say: Callable[[str], None] | None = None) -> str:
    """The report of a batch directory (`compare`: a second one to set beside it). With `pages`, each
    instance's page is written into its directory (when missing or older than its files) and linked;
    links are relative to `dest` (default OUT_DIR/report.html)."""
    say = say or (lambda _: None)
    b = batches.load_batch(out_dir)
    other = batches.load_batch(compare) if compare else None
    report = Path(dest).resolve() if dest else b.dir / REPORT
    if pages:
        for x in (b, other):
            if x is not None:
                _instance_pages(x, report, say)
    ctx = report_context(b)
    ctx["cmp"] = None
    if other is not None:
        ctx["cmp"] = {**batches.compare(b, other), "title": other.dir.name, "dir": str(other.dir),
                      "headline": batches.headline(other)}
    command = f"patchwright report {out_dir}" + (f" --compare {compare}" if compare else "")
    return _render("report.html.j2", command, f"{ctx['title']} · patchwright", ctx)


def write_report(out_dir: str | Path, out: str | Path | None = None, *, compare: str | Path | None = None,
                 say: Callable[[str], None] | None = None) -> Path:
    """Write the batch's report (default OUT_DIR/report.html) and its instances' pages; returns its path."""
    dest = Path(out).resolve() if out else Path(out_dir).resolve() / REPORT
    return _write(dest, render_report(out_dir, compare=compare, dest=dest, say=say))
