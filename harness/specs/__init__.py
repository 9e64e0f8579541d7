"""Environment specs as data: per repository and version, what to install and how to test.

Shipped specs are the YAML files beside this module, one per repository::

    repo: psf/requests
    defaults: {python: "3.9", install: "python -m pip install .", test_cmd: "pytest -rA"}
    versions:
      "2.3": {}
      "0.14": {pip_packages: ["pytest==4.6.11"]}

A version's fields are laid over `defaults`; `"*"` matches any version not listed. A user's
`--specs FILE` (YAML or JSON, one such document or a list of them) wins over the shipped ones,
an instance's inline `spec` wins over both, and a repository no spec names gets `DEFAULT_SPEC`
(install the project with pip, run pytest).
"""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from sandbox.environment import GitTree, Recipe, recipe_for
from sandbox.environment.prepare import available_pythons
from sandbox.errors import UserError
from sandbox.testing import TestCommand

from ..instance import Instance
from ..sources import repo_source

SPEC_DIR = Path(__file__).resolve().parent


class Spec(BaseModel):
    """How to build an environment for a repository version and how to run its tests."""

    model_config = ConfigDict(extra="forbid")

    python: str = "3.11"
    """Python version; offline it picks the Debian base (3.9 bullseye, 3.11 bookworm, 3.13 trixie)."""
    apt_packages: list[str] = []
    """Debian packages installed into the environment image."""
    pip_packages: list[str] = []
    """pip requirements installed into the environment image (after `requirements`)."""
    requirements: list[str] = []
    """Requirement files in the repository (read at environment_setup_commit) installed into the
    environment image; the first that exists is used, `-r` includes are followed."""
    pre_install: list[str] = []
    """Shell commands run in the repository before `install` (in the instance image)."""
    install: str = "python -m pip install -e ."
    """Installs the repository itself (in the instance image, with the network)."""
    eval_install: str | None = None
    """Run again after the patches, before the tests (network off), e.g. to rebuild extensions."""
    test_cmd: str = "python -m pytest -rA"
    """The test command; test directives (files or modules) are appended."""
    directives: Literal["files", "django", "none"] = "files"
    """How test_patch files become arguments: as paths, as django test modules, or not at all."""
    log_parser: str = "pytest"
    """The parser that turns the test log into per-test status (sandbox.log_parsers)."""
    eval_type: Literal["pass_and_fail", "fail_only"] = "pass_and_fail"
    """`fail_only`: a test absent from the log counts as passed."""
    env: dict[str, str] = {}
    """Environment variables for the tests."""
    pre_test: list[str] = []
    """Shell lines run before the test command in the same shell (e.g. start a local server the
    tests talk to); not part of any image."""
    doctest_cmd: str | None = None
    """The command that runs the doctests of the source files given to it (the agent runs those of
    the modules a change touches, beside its tests); "" when the project runs none; unset: detected
    from the repository (sympy's `bin/doctest`, pytest's `--doctest-modules` in its configuration).
    Not part of grading."""
    test_timeout: int = 1800
    """Seconds the test command may run before it is killed and graded as failed."""
    agent_test_timeout: int = 300
    """Seconds one of the agent's own test runs may take (its chosen tests, and the same on the base
    tree); a cut run tells the model what ran and what did not."""
    offline: bool = True
    """False when the environment cannot be built from PyPI and Debian alone (documented why)."""
    note: str = ""
    """Why the spec is the way it is (shown in `patchwright images list` and the docs)."""

    def test_command(self) -> TestCommand:
        """How the tests run, for `sandbox.testing.run_tests`."""
        return TestCommand(self.test_cmd, self.log_parser, float(self.test_timeout), self.directives, dict(self.env),
                           tuple(self.pre_test))


DEFAULT_SPEC = Spec(note="default for a repository without a spec: pip install -e ., pytest -rA")


def _parse_doc(doc: Any, origin: str) -> dict[str, dict[str, Spec]]:
    """{repo: {version: Spec}} from one spec document."""
    if not isinstance(doc, dict) or "repo" not in doc:
        raise UserError(f"{origin}: a spec document needs `repo:` and `versions:` (or `defaults:`)")
    repo = str(doc["repo"])
    defaults = doc.get("defaults") or {}
    versions = doc.get("versions") or {"*": {}}
    out: dict[str, Spec] = {}
    for version, fields in versions.items():
        try:
            out[str(version)] = Spec.model_validate({**defaults, **(fields or {})})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UserError(f"{origin}: {repo} {version}: {where}: {first['msg']}") from None
    return {repo: out}


def read_spec_file(path: str | Path) -> dict[str, dict[str, Spec]]:
    """Specs from a YAML or JSON file holding one document, a list of them, or several YAML documents."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such spec file: {path}")
    try:
        text = p.read_text(encoding="utf-8")
        docs = [json.loads(text)] if p.suffix == ".json" else list(yaml.safe_load_all(text))
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    flat: list[Any] = []
    for d in docs:
        flat.extend(d if isinstance(d, list) else [d])
    table: dict[str, dict[str, Spec]] = {}
    for d in flat:
        if d is None:
            continue
        for repo, versions in _parse_doc(d, str(path)).items():
            table.setdefault(repo, {}).update(versions)
    return table


@functools.lru_cache(maxsize=1)
def shipped_specs() -> dict[str, dict[str, Spec]]:
    """The specs shipped with patchwright, by repository and version."""
    table: dict[str, dict[str, Spec]] = {}
    for f in sorted(SPEC_DIR.glob("*.yaml")) + sorted(SPEC_DIR.glob("*.json")):
        for repo, versions in read_spec_file(f).items():
            table.setdefault(repo, {}).update(versions)
    return table


class SpecTable:
    """Looks specs up: an instance's inline spec, then user files, then shipped ones, then the default."""

    def __init__(self, user_files: list[str | Path] | None = None):
        self.user: dict[str, dict[str, Spec]] = {}
        for f in user_files or []:
            for repo, versions in read_spec_file(f).items():
                self.user.setdefault(repo, {}).update(versions)

    def lookup(self, repo: str, version: str) -> tuple[Spec, str]:
        """The spec for a repository version and where it came from (`user`, `shipped`, `default`)."""
        for origin, table in (("user", self.user), ("shipped", shipped_specs())):
            versions = table.get(repo)
            if versions is None:
                continue
            if version in versions:
                return versions[version], origin
            if "*" in versions:
                return versions["*"], origin
        return DEFAULT_SPEC, "default"

    def for_instance(self, instance: Instance, mirrors=None, online: bool = False) -> Spec:
        """The spec an instance is built and tested with; its own log_parser/eval_type win.

        A repository no spec names gets the spec detected from its files at the environment commit
        (`detected_spec`) when its source can be had (a mirror in `mirrors`, or a clone when
        `online`), or was detected earlier in this process; else DEFAULT_SPEC.
        """
        if instance.spec:
            try:
                spec = Spec.model_validate(instance.spec)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise UserError(f"{instance.instance_id}: inline spec: {'.'.join(map(str, first['loc']))}: "
                                f"{first['msg']}") from None
        else:
            spec, origin = self.lookup(instance.repo, instance.version)
            if origin == "default":
                spec = detected_spec(instance, mirrors, online) or spec
        overrides: dict[str, Any] = {}
        if instance.log_parser:
            overrides["log_parser"] = instance.log_parser
        if instance.eval_type:
            overrides["eval_type"] = instance.eval_type
        return spec.model_copy(update=overrides) if overrides else spec


_detected: dict[tuple[str, str], Spec] = {}
"""Specs detected in this process, by (repository, commit)."""


def spec_from_recipe(recipe: Recipe) -> Spec:
    """The harness spec that builds and tests what a detected recipe describes."""
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
                test_cmd=test.command if test else DEFAULT_SPEC.test_cmd,
                log_parser=test.parser if test and test.parser != "exit_code" else "pytest",
                directives="files" if (test is None or test.takes_files) else "none",
                note=f"detected from the repository ({facts})")


def detected_spec(instance: Instance, mirrors=None, online: bool = False) -> Spec | None:
    """The spec detected from an instance's repository at its environment commit (cached per
    process); None when the source cannot be had."""
    commit = instance.environment_setup_commit or instance.base_commit
    key = (instance.repo, commit)
    if key not in _detected:
        try:
            source = repo_source(instance, mirrors, online=online)
            _detected[key] = spec_from_recipe(recipe_for(GitTree(source, commit), available_pythons()))
        except (UserError, ValueError):
            return None
    return _detected[key]


def digest(*parts: Any) -> str:
    """A short content hash of JSON-able parts (image tags are made of these)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]
