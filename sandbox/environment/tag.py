"""The environment image's tag: a hash of the recipe and the dependency files, nothing else.

Editing source never changes the tag (the image is reused and a workspace copies the current
tree over the repository layer); editing pyproject.toml, a requirements file, tox.ini, ... does.
"""

from __future__ import annotations

import hashlib
import json
import re

from .recipe import Recipe
from .tree import Tree

ENV_REPO = "patchwright/repo-env"
BUILDER_VERSION = "1"
"""Bumped when the image layout changes, so that old images are not reused."""


def dependency_digest(recipe: Recipe, tree: Tree, base: str = "") -> str:
    """12 hex digits over the base image, the recipe's build fields and the dependency files' contents."""
    files = {path: hashlib.sha256((tree.read(path) or "").encode()).hexdigest() for path in recipe.dependency_files}
    payload = [BUILDER_VERSION, base, recipe.build_fields(), files]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def slug(name: str) -> str:
    clean = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip(".-")
    return clean[:60] or "repo"


def env_tag(recipe: Recipe, tree: Tree, name: str, base: str = "") -> str:
    """`patchwright/repo-env:<name>-py<version>-<digest>`."""
    return f"{ENV_REPO}:{slug(name)}-py{recipe.python}-{dependency_digest(recipe, tree, base)}"
