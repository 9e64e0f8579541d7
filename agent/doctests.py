"""Doctests where the project runs them: sympy's `bin/doctest`, pytest's `--doctest-modules` and
`--doctest-glob` when its configuration turns them on, or an environment spec's `doctest_cmd`.

`with_doctests` fills `TestPlan.doctest` (the command that runs the doctests of the files given to
it) and `TestPlan.doctest_globs` from the repository when the plan does not say; `doctest_targets`
chooses what a change's doctest run covers: the source modules it changes (`bin/doctest M.py`,
`pytest --doctest-modules M.py`) and, with `--doctest-glob`, the text files matching it whose
examples import a changed module. `agent.testloop` runs them beside the chosen tests, with the same
base-tree rule.
"""

from __future__ import annotations

import configparser
import posixpath
import re
import shlex
import tomllib
from dataclasses import replace
from fnmatch import fnmatch

from sandbox.testfiles import is_test_path, pytest_table
from sandbox.testing import TestCommand, runner_of

from .testplan import TestPlan, is_scratch

SYMPY_DOCTEST = "bin/doctest"
"""sympy's doctest runner: a file of the repository."""
PYTEST_CONFIGS = (("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"),
                  ("setup.cfg", "tool:pytest"))
"""pytest's configuration files in the order pytest looks for them (the first with a pytest section
wins) and the ini section of each (`pyproject.toml`: `[tool.pytest.ini_options]`, else pytest 9's `[tool.pytest]`)."""
NOT_MODULES = ("setup.py", "conftest.py")
"""Source files a doctest run leaves out (pytest does not import setup.py for doctests either)."""


def _pytest_addopts(files: list[str], read_many) -> list[str] | None:
    """The `addopts` of the repository's pytest configuration (root level), split; None when there
    is no pytest section."""
    present = [name for name, _ in PYTEST_CONFIGS if name in files]
    texts = {k: v.decode("utf-8", errors="replace") for k, v in (read_many(present) if present else {}).items()}
    for name, section in PYTEST_CONFIGS:
        text = texts.get(name)
        if text is None:
            continue
        if section is None:
            try:
                table = pytest_table(tomllib.loads(text))
            except tomllib.TOMLDecodeError:
                continue
            if table is None:
                continue
            opts = table.get("addopts", "")
            return list(opts) if isinstance(opts, list) else shlex.split(str(opts))
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        if parser.has_section(section):
            return shlex.split(parser.get(section, "addopts", fallback=""))
    return None


def _globs(words: list[str]) -> list[str]:
    out = []
    for i, w in enumerate(words):
        if w.startswith("--doctest-glob="):
            out.append(w.split("=", 1)[1])
        elif w == "--doctest-glob" and i + 1 < len(words):
            out.append(words[i + 1])
    return out


def detect_doctests(plan: TestPlan, files: list[str], read_many) -> tuple[str, tuple[str, ...]]:
    """(the doctest command, the doctest globs) of a repository: `bin/doctest` when the repository
    has it (with the options of a `bin/test` command); the pytest command with `--doctest-modules`
    when pytest runs the tests and its configuration or the command turns doctest modules on; the
    pytest command alone when only `--doctest-glob` is configured; ("", ()) when it runs none."""
    if SYMPY_DOCTEST in files:
        if re.search(r"(^|[\s/])bin/test(?![\w./-])", plan.command):
            return re.sub(r"bin/test(?![\w./-])", SYMPY_DOCTEST, plan.command, count=1), ()
        return f"{SYMPY_DOCTEST} -C --verbose", ()
    if runner_of(plan.test_command()) != "pytest":
        return "", ()
    words = shlex.split(plan.command) if plan.command.count("'") % 2 == 0 else plan.command.split()
    words += _pytest_addopts(files, read_many) or []
    globs = tuple(_globs(words))
    if "--doctest-modules" in words:
        command = plan.command if "--doctest-modules" in plan.command else plan.command + " --doctest-modules"
        return command, globs
    return (plan.command, globs) if globs else ("", ())


def with_doctests(plan: TestPlan, files: list[str], read_many) -> TestPlan:
    """The plan with its doctests detected, when it does not say (`doctest` None)."""
    if plan.doctest is not None:
        return plan
    command, globs = detect_doctests(plan, files, read_many)
    return replace(plan, doctest=command, doctest_globs=globs)


def doctest_command(plan: TestPlan) -> TestCommand | None:
    """How the plan's doctests run (`sandbox.testing`), None when the project runs none."""
    if not plan.doctest:
        return None
    base = plan.test_command()
    probe = replace(base, command=plan.doctest, directives="files")
    runner = runner_of(probe)
    return replace(probe, parser={"sympy": "sympy", "pytest": "pytest"}.get(runner or "", base.parser))


def _mentions(text: str, module: str) -> bool:
    """Whether doctest examples in `text` import `module` (dotted) or from its package."""
    stem = module.rsplit(".", 1)[-1]
    return bool(re.search(rf"(>>>|\.\.\.)\s+(from|import)\s+[\w.]*\b{re.escape(stem)}\b", text))


def doctest_targets(plan: TestPlan, changed: list[str], present: list[str], files: list[str],
                    read_many) -> list[str]:
    """The files a change's doctest run covers: the source modules of `changed` that exist now
    (`present`), when modules' doctests run (`bin/doctest`, `--doctest-modules`); and with doctest
    globs, the repository's text files matching one whose examples import a changed module."""
    if not plan.doctest:
        return []
    have = set(present)
    modules = [f for f in changed if f.endswith(".py") and f in have and not is_test_path(f)
               and not is_scratch(f) and posixpath.basename(f) not in NOT_MODULES]
    out = modules if (SYMPY_DOCTEST in plan.doctest or "--doctest-modules" in plan.doctest) else []
    if plan.doctest_globs and modules:
        texts = [f for f in files if not f.endswith(".py") and f not in out
                 and any(fnmatch(posixpath.basename(f), g) for g in plan.doctest_globs)]
        dotted = [m.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for m in modules]
        data = read_many(texts) if texts else {}
        out = out + [f for f in texts if any(_mentions(data.get(f, b"").decode("utf-8", "replace"), d)
                                             for d in dotted)]
    return out
