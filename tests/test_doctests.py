"""Doctests where the project runs them: detection (sympy's `bin/doctest`, pytest's
`--doctest-modules` / `--doctest-glob` in its configuration, a spec's `doctest_cmd`), and the test
loop running the doctests of a change's modules beside the chosen tests, with the base-tree rule —
on small repositories made here (a real pytest project; a `bin/doctest` that prints what sympy's
prints, whose reader is tested on a recorded real run in test_testresults.py)."""

from __future__ import annotations

import sys

import pytest

from agent.doctests import detect_doctests, doctest_targets, with_doctests
from agent.nodes.check import feedback
from agent.testloop import TestLoop
from agent.testplan import TestPlan, plan_for_test_command
from conftest import git, make_repo
from harness.specs import SpecTable
from sandbox.workspace import LocalWorkspace

PY = sys.executable
PYTEST = f"{PY} -m pytest -p no:cacheprovider"
ENV = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

OPS = '''def add(a, b):
    """
    >>> add(1, 2)
    3
    """
    return a + b


def mul(a, b):
    """
    >>> mul(2, 3)
    7
    """
    return a * b
'''
"""`mul`'s doctest fails on the base tree already."""
BROKEN = OPS.replace("return a + b", "return a + b + 1")
"""The change: `add`'s doctest now fails; no test checks `add`."""

FAKE_BIN_DOCTEST = f'''#!{PY}
"""Prints what sympy's `bin/doctest --verbose` prints, for the modules given."""
import doctest, importlib, os, sys
sys.path.insert(0, os.getcwd())
counts = {{"passed": 0, "failed": 0}}
print("=" * 29 + " test process starts " + "=" * 30)
for path in [a for a in sys.argv[1:] if not a.startswith("-")]:
    mod = importlib.import_module(path[:-3].replace("/", "."))
    tests = sorted((t for t in doctest.DocTestFinder().find(mod) if t.examples), key=lambda t: t.name)
    if not tests:
        continue
    print(f"{{path}}[{{len(tests)}}] ")
    bad = False
    for i, t in enumerate(tests):
        failed = doctest.DocTestRunner().run(t, out=lambda s: None).failed
        bad = bad or bool(failed)
        counts["failed" if failed else "passed"] += 1
        mark = ("  [FAIL]" if bad else "  [OK]") if i == len(tests) - 1 else ""
        print(f"{{t.name}} {{'F' if failed else 'ok'}}{{mark}}")
    print()
print(f"==== tests finished: {{counts['passed']}} passed, {{counts['failed']}} failed, in 0.01 seconds ====")
sys.exit(1 if counts["failed"] else 0)
'''


def no_read(paths):
    raise AssertionError("nothing to read")


def reader(texts: dict[str, str]):
    return lambda paths: {p: texts[p].encode() for p in paths if p in texts}


# -- detection ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("pytest.ini", "[pytest]\naddopts = -q --doctest-modules\n"),
    ("tox.ini", "[tox]\nenvlist = py\n\n[pytest]\naddopts = --doctest-modules\n"),
    ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest]\naddopts =\n    --doctest-modules\n    -ra\n"),
    ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "--doctest-modules"\n'),
    ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = ["-ra", "--doctest-modules"]\n'),
])
def test_pytest_doctest_modules_in_the_configuration(name, text):
    plan = TestPlan("python -m pytest -rA", "pytest")
    assert detect_doctests(plan, [name, "pkg/m.py"], reader({name: text})) == (
        "python -m pytest -rA --doctest-modules", ())


def test_pytest_without_doctests_glob_only_and_the_first_configuration_wins():
    plan = TestPlan("python -m pytest -rA", "pytest")
    assert detect_doctests(plan, ["setup.cfg"], reader({"setup.cfg": "[tool:pytest]\naddopts = -ra\n"})) == ("", ())
    # pytest.ini is the configuration pytest reads; setup.cfg's section is not
    texts = {"pytest.ini": "[pytest]\naddopts = -ra\n", "setup.cfg": "[tool:pytest]\naddopts = --doctest-modules\n"}
    assert detect_doctests(plan, list(texts), reader(texts)) == ("", ())
    texts = {"pytest.ini": "[pytest]\naddopts = --doctest-glob='*.rst'\n"}
    assert detect_doctests(plan, list(texts), reader(texts)) == ("python -m pytest -rA", ("*.rst",))
    # the command itself may ask for them; a unittest project runs none
    assert detect_doctests(TestPlan("pytest --doctest-modules", "pytest"), [], no_read)[0] == "pytest --doctest-modules"
    assert detect_doctests(TestPlan("python -m unittest -v", "unittest"), ["tox.ini"], no_read) == ("", ())


def test_sympy_bin_doctest_takes_the_options_of_bin_test_and_a_spec_says_so_itself():
    cmd = "PYTHONWARNINGS='ignore::UserWarning' bin/test -C --verbose"
    assert detect_doctests(TestPlan(cmd, "sympy"), ["bin/test", "bin/doctest"], no_read)[0] == (
        "PYTHONWARNINGS='ignore::UserWarning' bin/doctest -C --verbose")
    assert detect_doctests(TestPlan("python -m pytest", "pytest"), ["bin/doctest"], no_read)[0] == (
        "bin/doctest -C --verbose")
    spec, _ = SpecTable().lookup("sympy/sympy", "1.7")
    plan = plan_for_test_command(spec.test_command(), 300, spec.doctest_cmd)
    assert plan.doctest.endswith("bin/doctest -C --verbose")
    assert with_doctests(plan, [], no_read) is plan  # a spec's word is not second-guessed
    off = plan_for_test_command(spec.test_command(), 300, "")
    assert with_doctests(off, ["bin/doctest"], no_read).doctest == ""


def test_targets_are_the_changed_modules_and_the_text_files_that_import_them():
    plan = TestPlan("pytest", "pytest", doctest="pytest --doctest-modules", doctest_globs=("*.rst",))
    changed = ["pkg/m.py", "tests/test_m.py", "setup.py", "pkg/gone.py", "docs/m.rst"]
    files = ["pkg/m.py", "tests/test_m.py", "setup.py", "docs/m.rst", "docs/other.rst", "README.md"]
    texts = {"docs/m.rst": ">>> from pkg.m import f\n", "docs/other.rst": ">>> import json\n"}
    present = ["pkg/m.py", "tests/test_m.py", "setup.py", "docs/m.rst"]
    assert doctest_targets(plan, changed, present, files, reader(texts)) == ["pkg/m.py", "docs/m.rst"]
    glob_only = TestPlan("pytest", "pytest", doctest="pytest", doctest_globs=("*.rst",))
    assert doctest_targets(glob_only, changed, present, files, reader(texts)) == ["docs/m.rst"]
    assert doctest_targets(TestPlan("pytest", "pytest", doctest=""), changed, present, files, no_read) == []


# -- the loop -------------------------------------------------------------------------------------

def _workspace(tmp_path, extra: dict[str, str]):
    files = {"calc/__init__.py": "", "calc/ops.py": OPS, "tests/__init__.py": "",
             "tests/test_ops.py": "from calc.ops import mul\n\n\ndef test_mul_zero():\n    assert mul(0, 5) == 0\n",
             ".gitignore": "__pycache__/\n*.pyc\n", **extra}
    return make_repo(tmp_path / "calc", files)


def _loop(ws) -> TestLoop:
    plan = with_doctests(TestPlan(PYTEST, "pytest", True, 60, dict(ENV)), ws.list_files(), ws.read_many)
    return TestLoop(plan, ws)


def test_pytest_doctest_modules_a_broken_doctest_is_a_new_failure(tmp_path):
    repo = _workspace(tmp_path, {"pytest.ini": "[pytest]\naddopts = --doctest-modules\n"})
    with LocalWorkspace(repo) as ws:
        loop = _loop(ws)
        assert loop.plan.doctest == PYTEST + " --doctest-modules"
        ws.write_file("calc/ops.py", BROKEN)
        res = loop.run(["tests/test_ops.py"], ws.diff())
        # pytest's doctest items come through its JUnit XML report with their node ids
        assert res.statuses == {"tests/test_ops.py::test_mul_zero": "PASSED",
                                "calc/ops.py::calc.ops.add": "FAILED", "calc/ops.py::calc.ops.mul": "FAILED"}
        assert res.new_failures == ["calc/ops.py::calc.ops.add"]
        assert res.pre_existing == ["calc/ops.py::calc.ops.mul"] and res.introduced
        text = feedback(res)
        assert "1 passed, 0 failed, 0 errors, 0 skipped." in text
        assert "Doctests: ran `" in text and "--doctest-modules" in text and " calc/ops.py` on" in text
        assert "on 1 changed file(s): 0 passed, 2 failed, 0 errors, 0 skipped." in text
        assert "New failures (not failing before your change, or new tests): calc/ops.py::calc.ops.add.\n" in text
        assert "Failing before your change too (1): calc/ops.py::calc.ops.mul" in text
        # the model names the doctest as pre-existing: it runs again on the base tree
        assert loop.recheck(["calc/ops.py::calc.ops.add"], ws.diff()) == {"calc/ops.py::calc.ops.add": "PASSED"}
        assert ws.read_file("calc/ops.py") == BROKEN  # the tree is back as the change left it


def test_bin_doctest_runs_alone_when_no_test_file_relates(tmp_path):
    repo = _workspace(tmp_path, {"bin/doctest": FAKE_BIN_DOCTEST})
    (repo / "bin" / "doctest").chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "executable")
    with LocalWorkspace(repo) as ws:
        loop = _loop(ws)
        assert loop.plan.doctest == "bin/doctest -C --verbose"
        ws.write_file("calc/ops.py", BROKEN)
        diff = ws.diff()
        assert loop.doctest_targets(diff) == ["calc/ops.py"]
        res = loop.run([], diff)
        assert res.statuses == {"calc/ops.py::calc.ops.add": "FAILED", "calc/ops.py::calc.ops.mul": "FAILED"}
        assert res.base == {"calc/ops.py::calc.ops.add": "PASSED", "calc/ops.py::calc.ops.mul": "FAILED"}
        assert res.new_failures == ["calc/ops.py::calc.ops.add"]
        text = feedback(res)
        assert "No test file relates to the change, so only its doctests ran." in text
        assert "Doctests: ran `bin/doctest -C --verbose calc/ops.py` on 1 changed file(s): 0 passed, 2 failed" in text
        # the base tree's status is known once: the next run does not go back there
        ws.write_file("calc/ops.py", OPS.replace("    7\n", "    6\n"))
        again = loop.run([], ws.diff())
        assert again.statuses == {"calc/ops.py::calc.ops.add": "PASSED", "calc/ops.py::calc.ops.mul": "PASSED"}
        assert again.fixed == ["calc/ops.py::calc.ops.mul"] and not again.introduced


def test_every_answer_says_whether_doctests_ran(tmp_path):
    repo = _workspace(tmp_path, {})
    with LocalWorkspace(repo) as ws:
        loop = _loop(ws)
        assert loop.plan.doctest == ""
        ws.write_file("calc/ops.py", BROKEN)
        res = loop.run(["tests/test_ops.py"], ws.diff())
        assert list(res.statuses) == ["tests/test_ops.py::test_mul_zero"]
        assert "Doctests: the project runs none" in feedback(res)
        ws.write_file("calc/ops.py", OPS)
        ws.write_file("tests/test_ops.py", ws.read_file("tests/test_ops.py") + "\n")
        loop = TestLoop(TestPlan(PYTEST, "pytest", True, 60, dict(ENV), doctest=PYTEST + " --doctest-modules"), ws)
        assert "Doctests: none ran, the change touches no source module" in feedback(
            loop.run(["tests/test_ops.py"], ws.diff()))
