"""`patchwright exec`: run one command in a sandbox copy of a repository (the user's tree is untouched)."""

from __future__ import annotations

import shlex
import sys

import click

from sandbox.factory import open_workspace


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("repo", type=click.Path(file_okay=False))
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--workspace", "kind", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="Where the command runs: a Docker container, or a private local copy.")
@click.option("--image", default=None,
              help="Docker image (default: the repository's detected environment, built if missing; see `patchwright env`).")
@click.option("--network", is_flag=True, help="Give the container network access (off by default).")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds before the command is killed.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the diff the command made, after its output.")
def exec_cmd(repo, command, kind, image, network, timeout, show_diff):
    """Run COMMAND in a sandbox copy of REPO and exit with its exit code.

    Example: patchwright exec . -- python -m pytest -x
    """
    def say(message: str) -> None:
        click.echo(f"  {message}", err=True)

    with open_workspace(repo, kind, image, network, timeout, progress=say) as ws:
        if ws.environment is not None and ws.environment.note:
            click.echo(f"patchwright: {ws.environment.note}", err=True)
        res = ws.run(shlex.join(command), timeout=timeout)
        sys.stdout.write(res.output)
        if show_diff:
            sys.stdout.write(ws.diff())
        if res.timed_out:
            click.echo(f"patchwright: the command timed out after {timeout:g}s", err=True)
        return res.exit_code
