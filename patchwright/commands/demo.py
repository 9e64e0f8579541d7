"""`patchwright demo`: the offline demo. `patchwright fix` on the sample project shipped with the
package (a real discount bug, 3 of its 5 tests failing), with the model's turns replayed from a
cassette written for it, in a Docker sandbox; it prints the diff and the tests before and after."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from sandbox.git import commit_all

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
SAMPLE = DEMO_DIR / "sample"
CASSETTE = DEMO_DIR / "cassette.jsonl"


def make_sample_repo(dest: Path) -> Path:
    """A git repository at `dest` holding the sample project, committed (ISSUE.md left out)."""
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("ISSUE.md", "__pycache__", "*.pyc"))
    commit_all(dest, "shop: the sample project")
    return dest


def _tests_table(before: dict[str, str] | None, after: dict[str, str] | None):
    table = Table("test", "before", "after", box=None, pad_edge=False)
    colour = {"PASSED": "green", "FAILED": "red", "ERROR": "red"}
    for name in sorted(set(before or {}) | set(after or {})):
        cells = [(s or "-") for s in ((before or {}).get(name), (after or {}).get(name))]
        table.add_row(name, *(f"[{colour.get(c, 'white')}]{c.lower()}[/]" for c in cells))
    return table


@click.command()
@click.option("--workspace", "kind", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="Where the agent works: a Docker container (the demo's point) or a private local copy.")
@click.option("--keep", is_flag=True, help="Keep the sample repository and the run directory (their paths are printed).")
def demo(kind, keep):
    """Fix the bug of the sample project `shop` with a replayed model: no API key, no network.

    The model's turns come from a cassette recorded for this sample; everything else is real: the
    sandbox copy of the repository, the localization, the editing tools, the test runs.
    """
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from .. import api
    from ..display import Progress, summary

    console = Console(highlight=False, soft_wrap=True)
    issue = (SAMPLE / "ISSUE.md").read_text(encoding="utf-8")
    tmp = Path(tempfile.mkdtemp(prefix="patchwright-demo-"))
    try:
        repo = make_sample_repo(tmp / "shop")
        console.print("[bold]patchwright demo[/]: fix a bug in the sample project `shop` (3 of its 5 tests fail)")
        console.print(f"[bold yellow]The model's turns are replayed[/] from {CASSETTE.name}, a cassette written for "
                      "this sample: no model API is called and no key is needed. The sandbox, the tools and the "
                      "tests are real.")
        console.print(f"\n[bold]issue[/] (from {SAMPLE.name}/ISSUE.md):")
        console.print("  " + issue.strip().splitlines()[0] + "\n")
        with Progress() as progress:
            outcome = api.fix(repo, issue, f"replay:{CASSETTE}", workspace=kind, out=tmp / "run",
                              progress=progress)
        console.print("\n[bold]the patch[/]:")
        console.print(Syntax(outcome.patch or "(empty)\n", "diff", theme="ansi_dark", background_color="default"))
        console.print("[bold]tests before and after the patch[/]:")
        console.print(_tests_table(outcome.tests_before, outcome.tests_after))
        console.print()
        summary(outcome, console, show_run_dir=keep)
        console.print("[bold yellow]Reminder[/]: the model's turns were replayed from a cassette; run "
                      "`patchwright fix REPO --issue-file FILE --model SPEC` with a real model on your own code.")
        if keep:
            console.print(f"kept: the sample repository {repo} and the run directory {tmp / 'run'}")
        return 0 if outcome.status == "verified" else 1
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
