"""`patchwright doctor`: is this machine ready? One line per check, with the fix when it is not."""

from __future__ import annotations

import os
import platform
import sys

import click

from sandbox.errors import UserError

KEYS = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]


def checks(python: str = "3.11") -> list[tuple[str, str, str]]:
    """(status, what, fix) for each check; status is OK, FAIL or WARN."""
    rows: list[tuple[str, str, str]] = []
    ver = platform.python_version()
    rows.append(("OK", f"python {ver} ({sys.executable})", ""))  # the package requires >= 3.11

    engine = False
    try:
        # imported when the command runs, so --help and usage errors stay fast
        from sandbox.docker_util import docker_client

        client = docker_client(timeout=10)
        info = client.version()
        rows.append(("OK", f"docker engine {info.get('Version', '?')} at "
                     f"{os.environ.get('DOCKER_HOST') or 'unix:///var/run/docker.sock'}", ""))
        engine = True
    except UserError as exc:
        rows.append(("FAIL", f"docker engine: {exc}".split(";")[0],
                     "start the engine (`dockerd &` as root) or set DOCKER_HOST"))

    if engine:
        # imported when the command runs, so --help and usage errors stay fast
        from sandbox.images import find_base_image

        tag = find_base_image(python)
        if tag:
            rows.append(("OK", f"base image {tag}", ""))
        else:
            rows.append(("FAIL", f"base image for Python {python}: not built",
                         "run `patchwright doctor --build-base` (or it is built on first use)"))
    else:
        rows.append(("FAIL", "base image: unknown (no Docker engine)", "start the Docker engine first"))

    set_keys = [k for k in KEYS if os.environ.get(k)]
    unset = [k for k in KEYS if not os.environ.get(k)]
    desc = "; ".join([f"{k} set" for k in set_keys] + [f"{k} not set" for k in unset])
    if set_keys:
        rows.append(("OK", f"model API keys: {desc}", ""))
    else:
        rows.append(("WARN", f"model API keys: {desc}",
                     "export one to use a hosted model (replay and oracle models need none)"))
    return rows


@click.command()
@click.option("--cleanup", is_flag=True, help="Remove containers patchwright left behind and its dangling images.")
@click.option("--all-images", is_flag=True, help="With --cleanup: remove every image patchwright built, too.")
@click.option("--build-base", is_flag=True, help="Build the base image now if it is missing.")
@click.option("--python", "python", default="3.11", show_default=True, help="Python version of the base image.")
def doctor(cleanup: bool, all_images: bool, build_base: bool, python: str):
    """Check Python, the Docker engine, the base image and model API keys.

    Each check prints one line: OK, WARN or FAIL, and for a failure the fix. The exit status is
    1 when any check fails. API keys are reported as set or not set, never printed.
    """
    if cleanup:
        # imported when the command runs, so --help and usage errors stay fast
        from sandbox.docker_util import cleanup as do_cleanup

        containers, images, kept = do_cleanup(remove_images=all_images)
        click.echo(f"removed {len(containers)} container(s)" + (f": {', '.join(containers)}" if containers else ""))
        click.echo(f"removed {len(images)} image(s)" + (f": {', '.join(images)}" if images else ""))
        if kept:
            click.echo(f"kept {len(kept)} image(s) still in use: {', '.join(kept)}")
        return 0
    if build_base:
        # imported when the command runs, so --help and usage errors stay fast
        from sandbox.images import ensure_base_image

        tag = ensure_base_image(python, progress=lambda m: click.echo(f"  {m}", err=True))
        click.echo(f"base image ready: {tag}", err=True)
    failed = False
    for status, what, fix in checks(python):
        line = f"{status:<4} {what}"
        if fix:
            line += f" — fix: {fix}"
        click.echo(line)
        failed = failed or status == "FAIL"
    return 1 if failed else 0
