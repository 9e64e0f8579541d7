"""`patchwright env`: detect how a repository is built and tested, build (or reuse) its image, report."""

from __future__ import annotations

import json

import click

from sandbox.environment import environment_for, open_environment
from sandbox.environment.check import check
from sandbox.workspace import resolve_repo


def _summary(recipe) -> list[tuple[str, str]]:
    """(label, line) rows of what detection decided and where it read it."""
    def src(what: str) -> str:
        facts = recipe.sources(what)
        return f"  ({facts[-1].source})" if facts else ""

    rows = [("python", recipe.python + src("python"))]
    if recipe.image:
        rows.append(("image", f"{recipe.image}{src('image')}"))
    if recipe.project:
        target = "." + (f"[{','.join(recipe.extras)}]" if recipe.extras else "")
        rows.append(("install", recipe.install if recipe.install is not None else f'pip install -e "{target}"'))
    by_source: dict[str, int] = {}
    for f in recipe.sources("requirement"):
        key = f.source.split(" -> ")[0]
        by_source[key] = by_source.get(key, 0) + 1
    if by_source:
        rows.append(("dependencies", f"{len(recipe.requirements)}: "
                     + "; ".join(f"{n} from {s}" for s, n in by_source.items())))
    if recipe.optional:
        rows.append(("guessed", ", ".join(recipe.optional) + " (imported by tests, declared nowhere; tried one by one)"))
    if recipe.apt_packages:
        rows.append(("apt", " ".join(recipe.apt_packages) + src("apt")))
    for s in recipe.setup:
        rows.append(("setup", s))
    rows.append(("tests", (recipe.test.command + src("test command")) if recipe.test else "none found"))
    return rows


@click.command()
@click.argument("repo", type=click.Path(file_okay=False), default=".")
@click.option("--python", "python", default=None, metavar="X.Y", help="Python version (default: detected).")
@click.option("--rebuild", is_flag=True, help="Build the image again even when one with its tag exists.")
@click.option("--check", "do_check", is_flag=True,
              help="Collect the tests and run them within --budget; exit 1 when the environment is incomplete.")
@click.option("--budget", default=600.0, show_default=True, help="Seconds --check may spend running the tests.")
@click.option("--json", "as_json", is_flag=True, help="Print the recipe, image, test command and figures as JSON.")
def env(repo, python, rebuild, do_check, budget, as_json):
    """Detect how REPO is built and tested, build (or reuse) its environment image, and report.

    Detection reads the Python version (requires-python, classifiers, .python-version, tox envlist,
    CI matrices), the dependencies and test dependencies (extras, dependency groups, Poetry groups,
    requirements files, tox, nox, Pipfile, pytest plugins) and the test command. [tool.patchwright]
    in pyproject.toml or .patchwright.yml override it (docs/environments.md). The image is tagged by
    the recipe and the dependency files, so editing source never rebuilds it.

    Example: patchwright env . --check
    """
    source = resolve_repo(repo)

    def say(message: str) -> None:
        if not as_json:
            click.echo(f"  {message}", err=True)

    environment = environment_for(source, python=python, rebuild=rebuild, say=say)
    recipe = environment.recipe
    result = None
    if do_check and recipe.test is not None:
        say("collecting and running the tests")
        with open_environment(environment, source) as ws:
            result = check(ws, recipe, budget, environment.missing)
    notes = [n for n in (environment.note, result.note() if result else "") if n] + recipe.notes
    if environment.missing and result is None:
        notes.append("could not install " + ", ".join(environment.missing))
    if do_check and recipe.test is None:
        notes.append("environment: no tests found")
    incomplete = do_check and (result is None or not result.complete)
    if as_json:
        out = {"repo": str(source), "image": environment.image, "built": environment.built,
               "build_seconds": round(environment.seconds, 1), "install": environment.install,
               "missing": environment.missing, "test_command": recipe.test.model_dump() if recipe.test else None,
               "recipe": recipe.model_dump(), "check": result.to_dict() if result else None, "notes": notes,
               "complete": not incomplete}
        click.echo(json.dumps(out, indent=2))
    else:
        for label, line in _summary(recipe):
            click.echo(f"{label:<13}{line}")
        how = f"built in {environment.seconds:.0f} s" if environment.built else "reused"
        click.echo(f"{'image':<13}{environment.image} ({how})")
        if result is not None:
            click.echo(f"{'check':<13}{result.collected} collected, {len(result.collection_errors)} collection "
                       f"errors; {result.passed} passed, {result.failed} failed, {result.errors} errors, "
                       f"{result.skipped} skipped in {result.seconds:.0f} s"
                       + (" (cut at the budget)" if result.timed_out else ""))
            for line in result.collection_errors[:10]:
                click.echo(f"{'':<13}cannot collect {line}")
        for n in notes:
            click.echo(f"{'note':<13}{n}")
    return 1 if incomplete else 0
