"""`patchwright fix`: resolve an issue in a repository and return a tested patch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console

from agent import limits
from sandbox.errors import UserError
from sandbox.hygiene import PatchPolicy


def _issue_text(issue: str | None, issue_file: str | None) -> str:
    if issue and issue_file:
        raise UserError("give the issue once: --issue TEXT or --issue-file FILE, not both")
    if issue_file:
        try:
            return Path(issue_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot read --issue-file {issue_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise UserError(f"--issue-file {issue_file} is not UTF-8 text") from None
    if not issue:
        raise UserError("no issue given: pass --issue TEXT or --issue-file FILE")
    return issue


@click.command()
@click.argument("repo", required=False, type=click.Path(file_okay=False))
@click.option("--issue", help="The issue's text.")
@click.option("--issue-file", type=click.Path(dir_okay=False), help="A file holding the issue's text.")
@click.option("--model", "model_spec",
              help="Model spec: anthropic:MODEL, openai:MODEL[@URL], replay:CASSETTE.jsonl, human (you answer each "
                   "turn at this terminal) or relay:DIR[,wait=SECONDS] (another program answers turn files in DIR).")
@click.option("--workspace", "kind", type=click.Choice(["docker", "local"]), default="docker", show_default=True,
              help="Where the agent works: a Docker container or a private local copy.")
@click.option("--image", default=None, help="Docker image holding the repository's environment (default: detected and built, see "
                   "`patchwright env`).")
@click.option("--test-cmd", default=None, help="The command that runs the tests (default: detected, pytest or unittest).")
@click.option("--max-steps", type=int, default=limits.MAX_STEPS, show_default=True, help="Model calls in all (0: no limit).")
@click.option("--max-cost", type=float, default=limits.MAX_COST, show_default=True, help="US dollars in all (0: no limit).")
@click.option("--max-time", type=float, default=limits.MAX_TIME, show_default=True, help="Seconds of wall time (0: no limit).")
@click.option("--attempts", type=click.IntRange(min=1), default=1, show_default=True,
              help="Candidate patches to make; the best by test evidence is kept.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: ~/.local/state/patchwright/runs/TIME-REPO).")
@click.option("--apply", "apply_patch", is_flag=True,
              help="Apply the patch to REPO's working tree (refused if a touched file has uncommitted changes).")
@click.option("--keep", "keep", multiple=True, type=click.Choice(["binary", "junk", "mode", "symlinks"]),
              help="Keep in the patch what is left out by default: new binary files, new logs/databases/caches, "
                   "file mode changes, symbolic links leading outside the repository (repeatable).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), default=None,
              help="Continue the killed run in this run directory (the other options are taken from it).")
@click.option("--full-tests", is_flag=True,
              help="Run the whole test suite instead of the tests chosen for the change.")
@click.option("--test-timeout", type=click.FloatRange(min=1), default=300, show_default=True,
              help="Seconds one test run may take; a cut run says what ran and what did not.")
@click.option("--json", "as_json", is_flag=True, help="Print summary.json's content on stdout instead of the summary.")
def fix(repo, issue, issue_file, model_spec, kind, image, test_cmd, max_steps, max_cost, max_time, attempts, out,
        apply_patch, keep, resume_dir, full_tests, test_timeout, as_json):
    """Resolve an issue in REPO: localize, edit, test in a sandbox, and write a patch.

    REPO is never changed unless --apply is given, and --apply applies only the patch of a
    verified or submitted run (verified: the agent's own tests show the fix; whether SWE-bench would
    grade it resolved is `patchwright eval`'s to say). Exit status: 0 when a patch was made (verified
    or submitted), 1
    otherwise (failed, budget_exhausted, format_error, error), 2 for usage errors (and when the
    run directory is in use by another run).

    \b
    Examples:
      patchwright fix . --issue-file ISSUE.md --model anthropic:claude-sonnet-5-5
      patchwright fix . --issue-file ISSUE.md --model human
      patchwright fix . --issue-file ISSUE.md --model relay:turns
      patchwright fix --resume RUN_DIR
    """
    # imported when the command runs, so --help and usage errors stay fast
    from agent.runtime import AgentConfig
    from agent.state import PATCH_STATUSES

    from .. import api
    from ..display import Progress, summary

    console = Console(stderr=as_json, highlight=False, soft_wrap=True)
    spec = model_spec or (api.load_request(resume_dir).model if resume_dir else "")
    with Progress(live=spec.strip() != "human") as progress:  # no spinner over a person's turns
        if resume_dir:
            if repo or issue or issue_file or model_spec or keep:
                raise UserError("--resume takes the run directory alone: its repository, issue and model are "
                                "read from it")
            outcome = api.resume(resume_dir, apply=apply_patch, progress=progress)
        else:
            if not repo:
                raise UserError("no repository given: patchwright fix REPO --issue-file FILE --model SPEC")
            if not model_spec:
                raise UserError("no model given: pass --model SPEC (e.g. anthropic:claude-sonnet-5-5, "
                                "openai:MODEL@http://127.0.0.1:8000/v1, replay:CASSETTE.jsonl)")
            text = _issue_text(issue, issue_file)
            run_dir = out or str(api.default_run_dir(repo))
            policy = PatchPolicy(keep_binary="binary" in keep, keep_junk="junk" in keep, keep_mode="mode" in keep,
                                 keep_outside_symlinks="symlinks" in keep)
            try:
                outcome = api.fix(repo, text, model_spec, workspace=kind, image=image, test_cmd=test_cmd,
                                  max_steps=limits.from_cli(max_steps), max_cost=limits.from_cli(max_cost),
                                  max_time=limits.from_cli(max_time), attempts=attempts, out=run_dir, apply=apply_patch,
                                  patch_policy=policy, progress=progress,
                                  agent=AgentConfig(full_tests=full_tests, test_timeout=test_timeout))
            except KeyboardInterrupt:
                if (Path(run_dir) / "run.json").exists():
                    click.echo(f"patchwright: continue this run with: patchwright fix --resume {run_dir}", err=True)
                raise
    if as_json:
        sys.stdout.write(json.dumps(outcome.summary(), indent=2) + "\n")
        if outcome.apply_note:
            click.echo(f"patchwright: not applied: {outcome.apply_note}", err=True)
    else:
        summary(outcome, console)
    return 0 if outcome.status in PATCH_STATUSES else 1
