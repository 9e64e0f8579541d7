"""Environments for any repository: detect how it is built and tested, then build an image.

`recipe_for(tree)` reads a repository (a directory or a commit) and returns a `Recipe`: the
Python version, the dependencies (the project's and its test dependencies, wherever they are
named), system packages, the test command, and where each fact came from. `[tool.patchwright]`
in pyproject.toml or `.patchwright.yml` win over detection. `env_tag` names the image by the
recipe and the dependency files only.
"""

from __future__ import annotations

from .config import EnvConfig, EnvironmentConfigError, apply_config, read_config
from .detect import PYTHONS, detect
from .prepare import RESTORE, Environment, environment_for, open_environment, recipe_for
from .recipe import Fact, Recipe, RecipeTests
from .tag import env_tag
from .tree import DirTree, GitTree, Tree

__all__ = ["DirTree", "EnvConfig", "Environment", "EnvironmentConfigError", "Fact", "GitTree", "PYTHONS",
           "Recipe", "RecipeTests", "Tree", "apply_config", "detect", "env_tag", "environment_for",
           "open_environment", "RESTORE",
           "read_config", "recipe_for"]
