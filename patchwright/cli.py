"""The `patchwright` command. Each command group lives in its own module under
`patchwright/commands/` and is imported only when it runs, so `--help` stays fast."""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

from sandbox.errors import PatchwrightError, UserError

from . import __version__

# name -> (module under patchwright.commands, attribute, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "doctor": ("doctor", "doctor", "Check Python, the Docker engine, the base image and model API keys."),
    "env": ("env", "env", "Detect how a repository is built and tested; build (or reuse) its environment image."),
    "exec": ("exec_cmd", "exec_cmd", "Run one command in a sandbox copy of a repository."),
    "eval": ("eval", "eval_cmd", "Score predictions SWE-bench style (builtin suite or a JSONL dataset)."),
    "images": ("images", "images", "Build, list and remove environment and instance images."),
    "fix": ("fix", "fix", "Resolve an issue in a repository: localize, edit, test in a sandbox, write a patch."),
    "demo": ("demo", "demo", "The offline demo: fix a bug in a sample project with a replayed model, in Docker."),
    "github": ("github", "github", "Answer a GitHub issue event with a tested pull request (the Action's bot)."),
    "run": ("run", "run", "Run the agent over a dataset (workers, resume, cost cap, --eval); writes predictions.jsonl."),
    "tool": ("tool", "tool", "Run one agent tool (view, search, edit...) on a repository copy, or list the tools."),
    "localize": ("localize", "localize_cmd", "Rank the files and functions an issue most likely needs changed."),
    "map": ("localize", "map_cmd", "Print a repository map: key files and signatures, within a token budget."),
    "cassette": ("cassette", "cassette_cmd", "Turn a relay directory's answered turns into replay cassettes."),
    "view": ("view", "view_cmd", "Write one run (a trajectory) as a self-contained web page."),
    "report": ("report", "report_cmd", "Write a batch's report (run or eval output) as a web page; --compare two."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"patchwright.commands.{module}"), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="patchwright", message="%(prog)s %(version)s")
def cli():
    """patchwright: find the code an issue is about, edit it, test it in a sandbox, return a patch."""


def _terminate(signum, frame):
    # SIGTERM unwinds like Ctrl-C, so that containers and temporary copies are removed
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error ends in one line on stderr, never a traceback (sandbox.errors): the
    user's with exit 2, the system's and bugs with exit 1 (PATCHWRIGHT_DEBUG=1 shows the traceback)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        rv = cli.main(args=argv, prog_name="patchwright", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("patchwright: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("patchwright: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PatchwrightError as exc:
        if isinstance(exc, UserError):  # the user's to fix: one line (exit 2, or the error's own code)
            click.echo(f"patchwright: error: {exc}", err=True)
        elif os.environ.get("PATCHWRIGHT_DEBUG"):
            raise
        else:  # not the user's doing (a service after retries, a shipped file): one line, exit 1
            click.echo(f"patchwright: failed: {exc} (set PATCHWRIGHT_DEBUG=1 for the traceback)", err=True)
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("PATCHWRIGHT_DEBUG"):
            raise
        click.echo(f"patchwright: internal error: {type(exc).__name__}: {exc} "
                   "(set PATCHWRIGHT_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
