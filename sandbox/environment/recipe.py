"""What an environment is made of: a `Recipe` (data), with where each fact came from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Fact(BaseModel):
    """One thing detection decided and the file (and key) it read it from."""

    model_config = ConfigDict(frozen=True)

    what: str
    """What was decided: `python`, `requirement`, `extra`, `test command`, `apt`, ..."""
    value: str
    """The decision (a version, a requirement, a command)."""
    source: str
    """Where it came from: `pyproject.toml [project] requires-python`, `tox.ini [testenv] deps`, ..."""


class RecipeTests(BaseModel):
    """How the repository's tests run (the TestPlan of the agent and of `env --check`)."""

    __test__ = False  # not a pytest test class

    command: str
    """The command that runs the whole suite; test files or ids can be appended when `takes_files`."""
    parser: Literal["pytest", "unittest", "exit_code"] = "pytest"
    """The log parser that reads its output."""
    takes_files: bool = True
    """Whether test files or ids can be appended to the command."""


class Recipe(BaseModel):
    """How to build and test one repository: detected, then overridden by `[tool.patchwright]`."""

    kind: Literal["python", "none"] = "python"
    """`none`: not a Python project (the base image is used as it is)."""
    python: str = "3.11"
    """The Python version of the base image."""
    apt_packages: list[str] = []
    """Debian packages installed first (a compiler and headers for C extensions)."""
    requirements: list[str] = []
    """pip requirements of the dependencies layer: the project's declared dependencies, its test
    dependencies and pytest plugins (PEP 508 strings)."""
    optional: list[str] = []
    """Requirements guessed from imports (conftest, test files): each is tried alone, a failure is a note."""
    constraints: list[str] = []
    """Versions pinned by the repository's lock file (uv.lock, poetry.lock, pdm.lock) as `name==version`:
    tried first as pip constraints (the versions the project tests with), dropped when they do not fit."""
    prepare: list[str] = []
    """Shell commands run in the repository before the install (e.g. generating C sources with Cython)."""
    project: bool = True
    """Whether the repository itself is installed (it has pyproject.toml, setup.py or setup.cfg)."""
    extras: list[str] = []
    """Extras installed with the project (`pip install -e ".[test]"`)."""
    editable: bool = True
    """Install the project editable (falls back to a regular install when the backend cannot)."""
    install: str | None = None
    """A command that replaces the project's install (`[tool.patchwright] install`)."""
    setup: list[str] = []
    """Shell commands run in the repository after the install (`[tool.patchwright] setup`)."""
    test: RecipeTests | None = None
    """How the tests run; None when the repository has no tests."""
    image: str | None = None
    """An image named by the repository (`[tool.patchwright] image`): used as it is, nothing is built."""
    dependency_files: list[str] = []
    """Files of the repository the dependencies were read from (the image tag hashes them)."""
    version: str | None = None
    """The project's version from the newest release tag, given to tag-versioned builds
    (setuptools_scm, hatch-vcs, pdm-backend), which see no tags in the image; not part of the tag."""
    facts: list[Fact] = []
    """Where each decision came from."""
    notes: list[str] = []
    """What detection could not decide, or guessed."""

    def build_fields(self) -> dict:
        """The fields that make the image (its tag hashes these and the dependency files)."""
        return self.model_dump(include={"kind", "python", "apt_packages", "requirements", "constraints", "prepare",
                                        "optional", "project", "extras", "editable", "install", "setup", "image"})

    def nothing_to_install(self) -> bool:
        """Whether the image would be the base image with the repository copied in."""
        return not (self.project or self.requirements or self.optional or self.apt_packages or self.setup
                    or self.prepare or self.install or self.image)

    def sources(self, what: str) -> list[Fact]:
        return [f for f in self.facts if f.what == what]
