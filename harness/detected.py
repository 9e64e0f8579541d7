"""The environment spec of an instance whose repository no spec names: detected from the
repository at the instance's environment commit (sandbox.environment), so user datasets and
self-made SWE-style tasks build and grade without a hand-written spec."""

from __future__ import annotations

import shlex
from pathlib import Path

from sandbox.environment import GitTree, Recipe, recipe_for

from .specs import Spec

_cache: dict[tuple[str, str], Spec] = {}


def spec_from_recipe(recipe: Recipe) -> Spec:
    """The harness spec that builds and tests what a recipe describes."""
    target = "." + (f"[{','.join(recipe.extras)}]" if recipe.extras else "")
    if recipe.install is not None:
        install = recipe.install
    elif recipe.project:
        q = shlex.quote(target)
        install = f"python -m pip install -e {q} || python -m pip install {q}"
    else:
        install = ""
    if recipe.setup:
        install = " && ".join(f"({s})" for s in ([install] if install else []) + recipe.setup)
    optional = [f"python -m pip install {shlex.quote(r)} || true" for r in recipe.optional]
    test = recipe.test
    facts = "; ".join(f"{f.what} {f.value} <- {f.source}" for f in recipe.facts if f.what in ("python", "test command"))
    return Spec(python=recipe.python, apt_packages=recipe.apt_packages, pip_packages=recipe.requirements,
                pre_install=[*optional, *recipe.prepare], install=install,
                test_cmd=test.command if test else "python -m pytest -rA",
                log_parser=test.parser if test and test.parser != "exit_code" else "pytest",
                directives="files" if (test is None or test.takes_files) else "none",
                note=f"detected from the repository ({facts})")


def detected_spec(source: Path, commit: str, pythons: list[str] | None = None) -> Spec:
    """The detected spec of a repository (a git directory) at a commit; cached per process."""
    key = (str(source), commit)
    if key not in _cache:
        _cache[key] = spec_from_recipe(recipe_for(GitTree(source, commit), pythons))
    return _cache[key]
