"""`patchwright report`: a batch (`run` or `eval` output) as a self-contained web page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sandbox.errors import UserError


def write_and_say(out_dir, output=None, compare=None, *, err: bool = False) -> Path | None:
    """Write the report of OUT_DIR and print `report: PATH` (on stderr with err=True). A failure is a
    one-line warning, not an error: the batch's own results are written already (for `run` and `eval`)."""
    # imported when the command runs, so --help and usage errors stay fast
    from patchwright.view import write_report

    try:
        path = write_report(out_dir, output, compare=compare)
    except (UserError, OSError) as exc:
        click.echo(f"patchwright: warning: no report written: {exc}", err=True)
        return None
    except Exception as exc:  # a bug of the viewer must not fail a batch whose results are written
        click.echo(f"patchwright: warning: no report written (internal error: {type(exc).__name__}: {exc}); "
                   f"`patchwright report {out_dir}` tries again", err=True)
        return None
    click.echo(f"report: {path}", err=err)
    return path


@click.command("report")
@click.argument("out_dir", type=click.Path())
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the report (default: OUT_DIR/report.html).")
@click.option("--compare", "compare", type=click.Path(), default=None,
              help="A second batch directory to set beside OUT_DIR: which instances flipped.")
@click.option("--open", "open_", is_flag=True, help="Open the report in a web browser when it is written.")
def report_cmd(output, out_dir, compare, open_):
    """Write a batch's report: the resolved rate overall and per repository, the statuses, the
    distributions of cost, model calls and time per instance, the slowest and the most expensive
    instances, and a table of every instance linking to its page.

    OUT_DIR is a `patchwright run` output (--out) or a `patchwright eval` report directory
    (--report). Each instance's page (`patchwright view OUT_DIR/INSTANCE_ID`) is written into its
    directory as view.html, when missing or older than the instance's files. With --compare, both
    runs' numbers side by side and the instances resolved in one and not the other. Prints the path.
    """
    # imported when the command runs, so --help and usage errors stay fast
    from patchwright.view import write_report

    # imported when the command runs, so --help and usage errors stay fast
    from .view import write_page

    say = (lambda m: click.echo(m, err=True)) if sys.stderr.isatty() else None
    return write_page(lambda: write_report(out_dir, output, compare=compare, say=say), output or "the report",
                      open_)
