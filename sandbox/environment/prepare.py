"""A repository's environment in one call: detect, apply its config, build or reuse the image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..docker_workspace import DockerWorkspace
from ..errors import UserError
from ..images import OFFLINE_RELEASES, find_base_image
from .build import GENERATED, TESTBED, base_image_for, ensure_env_image
from .config import EnvConfig, apply_config, read_config
from .detect import PYTHONS, detect
from .recipe import Recipe
from .tree import DirTree, Tree

RESTORE = f"[ -f {GENERATED} ] && tar --skip-old-files -xf {GENERATED} -C {TESTBED} 2>/dev/null; true"
"""Shell line that puts back what the install generated into a freshly copied repository."""


def recipe_for(tree: Tree, pythons: list[str] | None = None, python: str | None = None) -> Recipe:
    """Detection, then the repository's own config, then `python` (a caller's override) on top."""
    recipe = detect(tree, pythons)
    found = read_config(tree)
    if found:
        recipe = apply_config(recipe, found[0], found[1])
    if python:
        recipe = apply_config(recipe, EnvConfig(python=python), "--python")
    return recipe


def environment_for(repo, *, python: str | None = None, rebuild: bool = False, say=None,
                    setup: list[str] | None = None):
    """Detect a repository's environment and build (or reuse) its image: an `Environment`.

    `repo` is a directory (its files as on disk). A repository that is not a Python project gets
    the base image and a note. Raises EnvironmentConfigError / EnvironmentBuildError (one line).
    """
    tree = DirTree(repo)
    recipe = recipe_for(tree, available_pythons(), python=python)
    if setup:
        recipe = apply_config(recipe, EnvConfig(setup=[*recipe.setup, *setup]), "setup given")
    if recipe.kind == "none" and not recipe.image:
        return Environment(recipe=recipe, image=base_image_for(recipe.python, say), note=recipe.notes[0])
    if recipe.nothing_to_install():
        # nothing to install: the base image itself (the default Python unless the repository names one)
        python = recipe.python if any(f.source != "newest available" for f in recipe.sources("python")) else "3.11"
        recipe = recipe.model_copy(update={"python": python})
        return Environment(recipe=recipe, image=base_image_for(python, say))
    img = ensure_env_image(recipe, tree, Path(repo).resolve().name, rebuild=rebuild, say=say)
    missing = [m.split(" ", 1)[1] for m in img.missing]
    return Environment(recipe=recipe, image=img.tag, built=img.built, seconds=img.seconds, missing=missing,
                       install=img.install)




@dataclass
class Environment:
    """A repository's environment: its recipe, the image, what its build could not install (`missing`)
    and a note when it is not a Python project."""

    recipe: Recipe
    image: str
    built: bool = False
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    install: str = ""
    note: str = ""


def available_pythons() -> list[str]:
    """The Python versions detection chooses from: those a base image can be built for anywhere
    (the offline Debian bases) and those whose base image is already here."""
    try:
        return [v for v in PYTHONS if v in OFFLINE_RELEASES or find_base_image(v)]
    except UserError:  # no engine answers: the versions any machine can build
        return [v for v in PYTHONS if v in OFFLINE_RELEASES]


def open_environment(env: Environment, source, *, network: bool = False, timeout: float = 600,
                     **kwargs) -> DockerWorkspace:
    """A Docker workspace from the environment's image with `source` copied in (what the install
    generated put back before the workspace's base is recorded)."""
    setup = RESTORE if env.recipe.kind == "python" and not env.recipe.image else None
    return DockerWorkspace(env.image, source, network=network, timeout=timeout, setup=setup, **kwargs)
