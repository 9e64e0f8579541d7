"""What a repository states about its environment: `[tool.patchwright]` in pyproject.toml or
`.patchwright.yml` at its root (the YAML file wins when both exist).

```toml
[tool.patchwright]
python = "3.12"                         # the base image's Python
apt_packages = ["libxml2-dev"]          # Debian packages installed first
pip_packages = ["pytest-httpbin"]       # more requirements for the dependencies layer
extras = ["test"]                       # extras installed with the project (replace the detected ones)
install = "python -m pip install -e ."  # replaces the project's install ("" installs nothing)
setup = ["python setup.py build_ext -i"]  # shell commands run in the repository after the install
test_command = "python -m pytest -rA tests"  # the test command
image = "ghcr.io/me/project-dev:latest"     # use this image; nothing is built
```

Every key is optional; an unknown key or a wrong type is a one-line error naming the file and key.
"""

from __future__ import annotations

import tomllib

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import UserError
from ..testing import user_test_command
from .detect import ci_script_of
from .recipe import Fact, Recipe, RecipeTests
from .tree import Tree

CONFIG_FILE = ".patchwright.yml"


class EnvironmentConfigError(UserError):
    """A malformed `[tool.patchwright]` or `.patchwright.yml` (one line: file, key, what is wrong)."""


class EnvConfig(BaseModel):
    """The keys of `[tool.patchwright]` / `.patchwright.yml`."""

    model_config = ConfigDict(extra="forbid")

    python: str | None = None
    """Python version of the base image (3.X); default: detected."""
    apt_packages: list[str] = []
    """Debian packages installed before anything else; default: none beyond detected ones."""
    pip_packages: list[str] = []
    """pip requirements added to the dependencies layer; default: none beyond detected ones."""
    extras: list[str] | None = None
    """Extras installed with the project; default: the detected test/dev extras."""
    install: str | None = None
    """The command that installs the project in the repository layer; default: pip install -e . (with extras)."""
    setup: list[str] = []
    """Shell commands run in the repository after the install; default: none."""
    test_command: str | None = None
    """The test command; default: detected (pytest or unittest)."""
    image: str | None = None
    """An existing image to use instead of building one; default: none."""


def _error(origin: str, exc: ValidationError) -> EnvironmentConfigError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = "unknown key (known: " + ", ".join(EnvConfig.model_fields) + ")" if first["type"] == "extra_forbidden" \
        else first["msg"]
    if where == "python" and first["type"] == "string_type":
        msg = "quote the version (python: \"3.10\"; unquoted, 3.10 reads as the number 3.1)"
    return EnvironmentConfigError(f"{origin}: {where}: {msg}")


def read_config(tree: Tree) -> tuple[EnvConfig, str] | None:
    """The repository's environment config and where it was found, or None. Raises EnvironmentConfigError."""
    text = tree.read(CONFIG_FILE)
    if text is not None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise EnvironmentConfigError(f"{CONFIG_FILE}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise EnvironmentConfigError(f"{CONFIG_FILE}: expected a mapping of keys, got {type(data).__name__}")
        try:
            return EnvConfig.model_validate(data), CONFIG_FILE
        except ValidationError as exc:
            raise _error(CONFIG_FILE, exc) from None
    text = tree.read("pyproject.toml")
    if text is None:
        return None
    try:
        section = tomllib.loads(text).get("tool", {}).get("patchwright")
    except tomllib.TOMLDecodeError:
        return None  # detection notes the malformed file
    if section is None:
        return None
    origin = "pyproject.toml [tool.patchwright]"
    if not isinstance(section, dict):
        raise EnvironmentConfigError(f"{origin}: expected a table")
    try:
        return EnvConfig.model_validate(section), origin
    except ValidationError as exc:
        raise _error(origin, exc) from None


def apply_config(recipe: Recipe, config: EnvConfig, origin: str, pythons: list[str] | None = None) -> Recipe:
    """The recipe with the repository's stated values laid over the detected ones."""
    r = recipe.model_copy(deep=True)

    def fact(what: str, value: str) -> None:
        r.facts.append(Fact(what=what, value=value, source=origin))

    if config.python:
        if not _version_ok(config.python):
            raise EnvironmentConfigError(f"{origin}: python: expected a version like 3.12, got {config.python!r}")
        r.python = config.python
        fact("python", config.python)
    for p in config.apt_packages:
        if p not in r.apt_packages:
            r.apt_packages.append(p)
            fact("apt", p)
    for p in config.pip_packages:
        if p not in r.requirements:
            r.requirements.append(p)
            fact("requirement", p)
    if config.extras is not None:
        r.extras = list(config.extras)
        fact("extras", ",".join(config.extras) or "(none)")
    if config.install is not None:
        r.install = config.install
        fact("install", config.install or "(nothing)")
    if config.setup:
        r.setup = list(config.setup)
        # a script CI runs before the tests that the stated setup runs is no longer worth a note
        r.notes = [n for n in r.notes if not ((script := ci_script_of(n)) and any(script in line for line in config.setup))]
        for s in config.setup:
            fact("setup", s)
    if config.test_command:
        given = user_test_command(config.test_command)
        r.test = RecipeTests(command=given.command, parser=given.parser, takes_files=given.takes_files)
        fact("test command", config.test_command)
    if config.image:
        r.image = config.image
        fact("image", config.image)
    if r.kind == "none" and (config.install or config.setup or config.pip_packages or config.test_command):
        r.kind = "python"
    return r


def _version_ok(v: str) -> bool:
    parts = v.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and parts[0] == "3"
