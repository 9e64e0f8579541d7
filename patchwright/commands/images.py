"""`patchwright images build|list|clean`: the environment and instance images of a dataset."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import click

from sandbox.errors import UserError

from .eval import _split_ids


@click.group("images")
def images():
    """Build, list and remove environment and instance images.

    Images are layered: base (Debian + Python) -> environment (a repository version's
    dependencies) -> instance (the repository at base_commit, installed). Tags are
    content-addressed, so an unchanged spec never rebuilds.
    """


@images.command("build")
@click.option("--dataset", default="builtin", show_default=True, help="`builtin`, a SWE-bench JSONL file, or hf:NAME[:SPLIT] (needs `datasets`).")
@click.option("--instances", "instance_ids", default=None, help="Only these instance ids (comma or space separated, or @FILE holding them; # comments).")
@click.option("--mirrors", type=click.Path(file_okay=False), default=None,
              help="Directory of bare git mirrors named owner__name.")
@click.option("--specs", "spec_files", multiple=True, type=click.Path(dir_okay=False),
              help="An environment spec file that wins over the shipped specs; repeatable.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16), help="Builds at once.")
@click.option("--offline", is_flag=True, help="Never clone a repository (only --mirrors and builtin).")
@click.option("--json", "as_json", is_flag=True, help="Print {instance_id: {tag, built, error}} as JSON.")
def build(dataset, instance_ids, mirrors, spec_files, workers, offline, as_json):
    """Build the instance images (and their environments) of a dataset."""
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from harness.images import ImageBuildError, ensure_instance_image
    from harness.instance import load_instances
    from harness.specs import SpecTable

    insts = load_instances(dataset, _split_ids(instance_ids))
    table = SpecTable(list(spec_files))
    say = (lambda m: None) if as_json else (lambda m: click.echo(f"  {m}", err=True))

    def one(inst):
        try:
            img = ensure_instance_image(inst, table.for_instance(inst, mirrors, not offline), mirrors=mirrors, online=not offline, say=say)
            return inst.instance_id, {"tag": img.tag, "built": img.built, "error": ""}
        except (ImageBuildError, UserError) as exc:
            return inst.instance_id, {"tag": "", "built": [], "error": str(exc)}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(pool.map(one, insts))
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for iid, r in results.items():
            click.echo(f"{iid}: {r['error'] or r['tag'] + (' (built)' if r['built'] else ' (cached)')}")
    return 1 if any(r["error"] for r in results.values()) else 0


@images.command("list")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {tag, id, kind, instance, env, size, created}.")
def list_cmd(as_json):
    """List patchwright's environment and instance images."""
    # imported when the command runs, so --help and usage errors stay fast
    from harness.images import list_images

    rows = list_images()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        click.echo(f"{r['kind']:<9} {r['size'] / 1e6:8.0f} MB  {r['tag']}")
    click.echo(f"{len(rows)} image(s)")
    return 0


@images.command("clean")
@click.option("--kind", type=click.Choice(["all", "env", "instance"]), default="all", show_default=True,
              help="Which layer to remove (the base image stays; `doctor --cleanup --all-images` removes it).")
def clean(kind):
    """Remove environment and/or instance images (never one a container still uses)."""
    # imported when the command runs, so --help and usage errors stay fast
    from harness.images import remove_images

    kinds = ("env", "instance") if kind == "all" else (kind,)
    removed, kept = remove_images(kinds)
    click.echo(f"removed {len(removed)} image(s)")
    if kept:
        click.echo(f"kept {len(kept)} image(s) still in use: {', '.join(kept)}")
    return 0
