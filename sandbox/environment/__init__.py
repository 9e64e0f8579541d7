"""Environments for any repository: detect how it is built and tested, then build an image.

`recipe_for(tree)` reads a repository (a directory or a commit) and returns a `Recipe`: the
Python version, the dependencies (the project's and its test dependencies, wherever they are
named), system packages, the test command, and where each fact came from. `[tool.patchwright]`
in pyproject.toml or `.patchwright.yml` win over detection. `env_tag` names the image by the
recipe and the dependency files only.
"""

from __future__ import annotations

from .config import EnvConfig, EnvironmentConfigError, apply_config, read_config
from .detect import PYTHONS, detect, parse_test_command
from .recipe import Fact, Recipe, RecipeTests
from .tag import env_tag
from .tree import DirTree, GitTree, Tree


def recipe_for(tree: Tree, pythons: list[str] | None = None, python: str | None = None) -> Recipe:
    """Detection, then the repository's own config, then `python` (a caller's override) on top."""
    recipe = detect(tree, pythons)
    found = read_config(tree)
    if found:
        recipe = apply_config(recipe, found[0], found[1])
    if python:
        recipe = apply_config(recipe, EnvConfig(python=python), "--python")
    return recipe


__all__ = ["DirTree", "EnvConfig", "Environment", "EnvironmentConfigError", "environment_for", "Fact", "GitTree", "PYTHONS", "Recipe", "RecipeTests",
           "Tree", "apply_config", "detect", "env_tag", "read_config", "recipe_for", "parse_test_command"]


from .prepare import Environment, environment_for  # noqa: E402
