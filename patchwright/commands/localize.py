"""`patchwright localize` and `patchwright map`: where an issue points in a repository, and the
repository's map. Both read the repository in place (nothing is written there); the symbol cache
lives under the user cache directory (PATCHWRIGHT_CACHE_DIR overrides it)."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from sandbox.errors import UserError


def _repo_dir(repo: str) -> Path:
    p = Path(repo).expanduser()
    if not p.exists():
        raise UserError(f"no such directory: {repo}")
    if not p.is_dir():
        raise UserError(f"not a directory: {repo}")
    return p


def read_issue(issue_text: str | None, issue_file: str | None, required: bool = True) -> str | None:
    """The issue from --issue or --issue-file (`-` reads standard input)."""
    if issue_text is not None and issue_file is not None:
        raise UserError("give the issue once: --issue TEXT or --issue-file FILE, not both")
    if issue_file is not None:
        if issue_file == "-":
            text = sys.stdin.buffer.read().decode("utf-8", errors="replace")
        else:
            f = Path(issue_file).expanduser()
            if not f.is_file():
                raise UserError(f"no such issue file: {issue_file}")
            text = f.read_bytes().decode("utf-8", errors="replace")
    else:
        text = issue_text
    if text is None:
        if required:
            raise UserError("no issue: pass --issue TEXT or --issue-file FILE (- for standard input)")
        return None
    if not text.strip():
        raise UserError("the issue is empty: pass its text with --issue or --issue-file")
    return text


def _status(message: str):
    """A spinner on standard error while long work runs (only on a terminal)."""
    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    return Console(stderr=True).status(message)


def _signals(sig: dict[str, float]) -> str:
    return " · ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in sorted(sig.items(), key=lambda kv: -kv[1]))


@click.command("localize")
@click.argument("repo", type=click.Path(file_okay=False))
@click.option("--issue", "issue_text", metavar="TEXT", help="The issue's text.")
@click.option("--issue-file", metavar="FILE", help="A file holding the issue's text (- for standard input).")
@click.option("--top", "top", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="How many files and functions to list.")
@click.option("--json", "as_json", is_flag=True, help="Machine output: {files: [{path, score}], "
              "functions: [{path, name, score}]}, best first.")
@click.option("--timings", is_flag=True, help="Add seconds per stage (a `timings` object in --json).")
def localize_cmd(repo, issue_text, issue_file, top, as_json, timings):
    """Rank the files and functions of REPO that ISSUE most likely needs changed.

    Signals: BM25 over the files' words and over each function, paths, modules and stack-trace
    frames the issue names, definitions of the identifiers it names, and PageRank over the
    reference graph personalised toward those mentions. No model is used.
    """
    # imported when the command runs, so --help and usage errors stay fast
    from tools.retrieval import rank_locations

    root = _repo_dir(repo)
    text = read_issue(issue_text, issue_file)
    with _status("localizing"):
        loc = rank_locations(root, text, top_k=top)
    if as_json:
        out = loc.to_json()
        if timings:
            out["timings"] = {k: round(v, 4) for k, v in loc.timings.items()}
        click.echo(json.dumps(out, indent=2))
        return 0
    if not loc.files:
        seen, skipped = loc.stats.get("files", 0), loc.stats.get("skipped", 0)
        if seen > skipped:  # files to rank, but nothing of the issue points at any of them
            click.echo(f"nothing in the issue matches the {seen - skipped} source file(s) of {repo}; "
                       "name a file, function or error message")
        else:
            click.echo(f"no source files to rank in {repo} ({seen} seen, {skipped} skipped)")
        return 0
    console = Console(soft_wrap=False)
    t = Table(title="Files", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("#", "file", "score", "signals (each scaled to 1 at its best file)"):
        t.add_column(col, justify="right" if col in ("#", "score") else "left")
    for i, f in enumerate(loc.files, 1):
        t.add_row(str(i), f.path, f"{f.score:.3f}", _signals(f.signals))
    console.print(t)
    t = Table(title="Functions", title_justify="left", show_edge=False, pad_edge=False)
    for col in ("#", "function", "lines", "score", "signals"):
        t.add_column(col, justify="right" if col in ("#", "score") else "left")
    for i, f in enumerate(loc.functions, 1):
        t.add_row(str(i), f"{f.path}:{f.name}", f"{f.start_line}-{f.end_line}", f"{f.score:.3f}",
                  _signals(f.signals))
    console.print(t)
    if timings:
        console.print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in loc.timings.items()))
    return 0


@click.command("map")
@click.argument("repo", type=click.Path(file_okay=False))
@click.option("--tokens", default=1024, show_default=True, type=click.IntRange(16, 1_000_000),
              help="Budget of the map in tokens.")
@click.option("--issue", "issue_text", metavar="TEXT", help="Rank toward this issue.")
@click.option("--issue-file", metavar="FILE", help="Rank toward the issue in FILE (- for standard input).")
def map_cmd(repo, tokens, issue_text, issue_file):
    """Print the map of REPO: its most referenced files (or, with an issue, those nearest to what
    the issue mentions) with the signatures of their classes and functions."""
    # imported when the command runs, so --help and usage errors stay fast
    from tools.repomap import repo_map

    root = _repo_dir(repo)
    text = read_issue(issue_text, issue_file, required=False)
    with _status("mapping"):
        out = repo_map(root, text, tokens)
    click.echo(out if out else f"(no source files to map in {repo})")
    return 0
