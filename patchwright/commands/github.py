"""`patchwright github`: answer a GitHub event (from the action) with a pull request or a status comment."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import click

from agent import limits
from sandbox.errors import UserError


def _default_fixer():
    """The fix pipeline behind the bot's seam (github_bot.fixer.Fixer): `patchwright.api.fix`.

    The issue's title and body go in as the issue text (data the pipeline quotes in its prompts);
    the model spec, workspace, test command and dollar budget come from the bot's options (no
    budget given: the pipeline's defaults). The bot has already taken the GitHub token out of the
    environment and hands a scrubber that knows its forms (`redactor`), which the pipeline applies to
    everything it writes; the sandbox strips every secret-looking variable, so the model's API key
    stays with the model client. Progress lines go to stderr, as with `patchwright fix`; the outcome
    comes back as the bot's FixOutcome (statuses per test counted).
    """
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from github_bot.fixer import FixOutcome
    from patchwright.api import fix
    from patchwright.display import Progress

    def fixer(repo_dir, issue_title, issue_body, options, *, redactor):
        budget = {} if options.max_cost is None else {"max_cost": limits.from_cli(options.max_cost)}
        with Progress() as progress:
            result = fix(repo_dir, f"{issue_title}\n\n{issue_body}", options.model, workspace=options.workspace,
                         image=options.image, setup=options.setup, test_cmd=options.test_cmd, out=options.out_dir,
                         progress=progress, redactor=redactor, **budget)
        return FixOutcome.model_validate(result.model_dump())

    return fixer


def _token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


@click.command()
@click.option("--event", "event_path", required=True, metavar="PATH",
              help="The event payload (in a workflow: \"$GITHUB_EVENT_PATH\").")
@click.option("--event-name", envvar="GITHUB_EVENT_NAME", default=None, metavar="NAME",
              help="The event's name [default: $GITHUB_EVENT_NAME, else inferred from the payload].")
@click.option("--repo", "repo_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The checked-out repository.")
@click.option("--dry-run", is_flag=True, help="Run the fix, then print what would be pushed and posted; "
              "push nothing, post nothing.")
@click.option("--model", envvar="PATCHWRIGHT_MODEL", default=None, metavar="SPEC",
              help="Model spec, e.g. anthropic:claude-sonnet-5-5 [default: $PATCHWRIGHT_MODEL].")
@click.option("--max-cost", type=float, default=None, metavar="USD", help=f"Dollar budget for the fix (default: {limits.MAX_COST:g}; 0: no limit).")
@click.option("--trigger-label", default="patchwright", show_default=True, help="Label that triggers a run.")
@click.option("--trigger-comment", default="/patchwright fix", show_default=True,
              help="Comment (first line) that triggers a run.")
@click.option("--allowed-associations", default="OWNER,MEMBER,COLLABORATOR", show_default=True,
              help="Author associations allowed to trigger by comment (comma-separated).")
@click.option("--test-cmd", default=None, metavar="CMD", help="Command that runs the tests in the sandbox.")
@click.option("--workspace", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="Where the fix runs (local is refused without --unsafe-local-workspace).")
@click.option("--image", default=None, metavar="IMAGE",
              help="Docker image to work in [default: the repository's detected environment].")
@click.option("--setup", "setup", multiple=True, metavar="CMD",
              help="Shell command added to the detected environment's image (repeatable).")
@click.option("--unsafe-local-workspace", "unsafe_local", is_flag=True,
              help="Allow --workspace local although the model's commands can then read the token and the "
                   "model key (they run on the runner as this process's user).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run directory (patch, trajectory, summary, github.jsonl) [default: a new directory "
                   "under $RUNNER_TEMP or the system's temporary directory].")
def github(event_path, event_name, repo_dir, dry_run, model, max_cost, trigger_label, trigger_comment,
           allowed_associations, test_cmd, workspace, image, setup, unsafe_local, out_dir):
    """Answer a GitHub issue event with a tested pull request.

    Acts on `issues` (labeled with the trigger label by a person) and `issue_comment` (created,
    starting with the trigger comment, by an allowed author), when whoever triggered it has write
    access; ignores anything else with one line saying why. The token comes from GITHUB_TOKEN (or
    GH_TOKEN); the API from GITHUB_API_URL.
    """
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from github_bot.bot import BotConfig, run
    from github_bot.client import GitHubClient
    from github_bot.event import TriggerConfig, load_event
    from github_bot.fixer import FixOptions

    payload = load_event(event_path)
    if out_dir is None:
        parent = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
        out_dir = parent / f"patchwright-github-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    config = BotConfig(
        trigger=TriggerConfig(label=trigger_label, comment=trigger_comment,
                              allowed_associations=[a.strip() for a in allowed_associations.split(",") if a.strip()]),
        fix=FixOptions(model=model or "", max_cost=max_cost, test_cmd=test_cmd or None, workspace=workspace,
                       image=image or None, setup=[s for s in setup if s.strip()], out_dir=out_dir),
        dry_run=dry_run, unsafe_local=unsafe_local,
    )

    def client(repo: str) -> GitHubClient:
        token = _token()
        if not token and not dry_run:
            raise UserError("GITHUB_TOKEN is not set: pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` as env")
        return GitHubClient(repo, token)

    result = run(payload, config, _default_fixer, client, repo_dir=repo_dir, event_name=event_name,
                 say=click.echo)
    if result.action != "ignored":
        click.echo(f"patchwright: run directory: {out_dir}")
    return result.exit_code
