"""`patchwright view`: one run as a self-contained web page."""

from __future__ import annotations

import webbrowser

import click

from sandbox.errors import UserError


def open_page(path) -> bool:
    """Open the page in the user's browser (the BROWSER variable is honoured); False when none opened."""
    return webbrowser.open(path.resolve().as_uri())


def write_page(write, what: str, open_: bool) -> int:
    """Write a page with `write()` (returns its path), print the path, and open it when asked; a
    file that cannot be written is one line naming `what`."""
    try:
        path = write()
    except OSError as exc:
        raise UserError(f"cannot write {what}: {exc.strerror or exc}") from None
    click.echo(str(path))
    if open_ and not open_page(path):
        click.echo("patchwright: no web browser to open it with; open the file above", err=True)
    return 0


@click.command("view")
@click.argument("run_dir", type=click.Path())
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="Where to write the page (default: RUN_DIR/view.html).")
@click.option("--open", "open_", is_flag=True, help="Open the page in a web browser when it is written.")
def view_cmd(run_dir, output, open_):
    """Write one run as a web page: the issue, every step (the model's text, its tool calls and their
    answers, edits as diffs, test runs as tables), the localization's ranking, a timeline of tokens,
    dollars and seconds per step, the final patch, the tests before and after, and the status.

    RUN_DIR is a `patchwright fix` run directory (--out), or one instance's directory of a batch
    (`run` OUT/INSTANCE_ID, or an `eval` report's REPORT/INSTANCE_ID). A run still going or one that
    crashed is shown as far as it got. The page is one HTML file that loads nothing from the network
    and reads without JavaScript (the script adds search, filters and fold-all). Prints its path.
    """
    # imported when the command runs, so --help and usage errors stay fast
    from patchwright.view import write_run_page

    return write_page(lambda: write_run_page(run_dir, output), output or "the page", open_)
