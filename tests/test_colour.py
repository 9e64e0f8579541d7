"""Test output in colour: a project whose pytest configuration says `addopts = --color=yes`
(humanize) coloured every verdict, and `env --check` read 784 collected, 0 passed, 0 failed. The
readers see the output without terminal codes."""

from __future__ import annotations

import sys

from conftest import make_repo
from sandbox.environment.check import check
from sandbox.environment.recipe import Recipe, RecipeTests
from sandbox.testing import TestCommand, plain, run_tests
from sandbox.workspace import LocalWorkspace

FILES = {"pytest.ini": "[pytest]\naddopts = --color=yes\n",
         "tests/test_x.py": "def test_ok():\n    assert True\n\n\ndef test_bad():\n    assert 1 == 2\n"}


def test_plain_takes_out_colour_codes_only():
    assert plain("\x1b[32mPASSED\x1b[0m tests/test_x.py::test_ok\x1b[1m\x1b[31m x\x1b[0m") == "PASSED tests/test_x.py::test_ok x"
    assert plain("no codes [32m here") == "no codes [32m here"


def test_coloured_pytest_output_is_read(tmp_path):
    repo = make_repo(tmp_path / "r", FILES)
    with LocalWorkspace(repo) as ws:
        run = run_tests(ws, TestCommand(f"{sys.executable} -m pytest -p no:cacheprovider -rA", "pytest", 120))
        assert run.statuses == {"tests/test_x.py::test_ok": "PASSED", "tests/test_x.py::test_bad": "FAILED"}
        assert "\x1b[" not in run.output
        recipe = Recipe(python="3.11", test=RecipeTests(command=f"{sys.executable} -m pytest -rA -p no:cacheprovider"))
        res = check(ws, recipe, budget=120)
    assert (res.collected, res.passed, res.failed) == (2, 1, 1)


def test_pytest_9s_native_table_is_read_like_ini_options():
    """humanize configures pytest in `[tool.pytest]` (pytest 9), not `[tool.pytest.ini_options]`."""
    import tomllib

    from agent.doctests import detect_doctests
    from agent.testplan import TestPlan
    from sandbox.testfiles import pytest_table, python_files

    native = '[tool.pytest]\naddopts = ["--doctest-modules"]\npython_files = ["check_*.py"]\n[tool.pytest.other]\nx = 1\n'
    assert pytest_table(tomllib.loads(native)) == {"addopts": ["--doctest-modules"], "python_files": ["check_*.py"]}
    assert pytest_table(tomllib.loads('[tool.pytest.ini_options]\naddopts = "-q"\n')) == {"addopts": "-q"}
    assert pytest_table(tomllib.loads('[tool.black]\nx = 1\n')) is None
    read = lambda paths: {p: native.encode() for p in paths}  # noqa: E731
    assert python_files(["pyproject.toml"], read) == ("check_*.py",)
    plan = TestPlan("python -m pytest", "pytest", True, 60)
    assert detect_doctests(plan, ["pyproject.toml"], read) == ("python -m pytest --doctest-modules", ())
