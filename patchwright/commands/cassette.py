"""`patchwright cassette`: the answered turns of a relay directory as replay cassettes, so that a run
played through `relay:DIR` can be played again, offline, with `replay:`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sandbox.errors import UserError


def _jsonl(lines: list[dict]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None


@click.command("cassette")
@click.argument("relay_dir", type=click.Path())
@click.option("-o", "--output", "output", type=click.Path(), default=None,
              help="Where to write: a FILE for one run's directory (default: standard output), a DIR for a "
                   "batch's (one DIR/INSTANCE_ID.jsonl each; required).")
def cassette_cmd(relay_dir, output):
    """Turn the answered turns of RELAY_DIR into a replay cassette: each accepted reply, in turn
    order, becomes one line {"text", "tool_calls": [{"name", "arguments"}]}; rejected replies,
    `notes` and turns never answered are left out.

    RELAY_DIR is the directory of a `fix --model relay:DIR` run, or of a `run --model relay:DIR`
    batch (its instances' turns in DIR/INSTANCE_ID/): a batch gives one cassette per instance,
    OUTPUT/INSTANCE_ID.jsonl, which `run --model replay:OUTPUT` plays. A directory with no answered
    turn is an error (exit 2).

    \b
      patchwright cassette /tmp/turns -o fix.jsonl          then  fix ... --model replay:fix.jsonl
      patchwright cassette /tmp/swe-turns -o cassettes/     then  run ... --model replay:cassettes/
    """
    # imported when the command runs, so --help and usage errors stay fast
    from agent.models.relay import relay_cassettes

    found = relay_cassettes(relay_dir)
    if None in found:  # one run's directory
        if output is None:
            click.echo(_jsonl(found[None]), nl=False)
        else:
            _write(Path(output), _jsonl(found[None]))
            click.echo(f"{output}: {len(found[None])} turn(s)", err=True)
        return 0
    if output is None:
        raise UserError(f"{relay_dir} is a batch's relay directory ({len(found)} instance(s)): name the directory "
                        "to write one INSTANCE_ID.jsonl per instance with -o DIR")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UserError(f"-o {output} is a file; a batch's cassettes go to a directory (one INSTANCE_ID.jsonl each)")
    for instance, lines in found.items():
        if not lines:
            click.echo(f"{instance}: no answered turn, no cassette written", err=True)
            continue
        _write(out / f"{instance}.jsonl", _jsonl(lines))
        click.echo(f"{out / f'{instance}.jsonl'}: {len(lines)} turn(s)", err=True)
    return 0
