"""The agent's runs of sympy's `bin/test`: test ids become `-k` names (the runner takes paths and
keywords, not pytest ids: `path.py::test_name` yielded no result), and every structured run has one
hash seed, so the change's run and the base tree's see the same orders (a seed-dependent sympy test
read as a new failure). A fake `bin/test` prints what sympy's runner prints."""

from __future__ import annotations

import sys

from conftest import make_repo
from sandbox.testing import SEEDED, TestCommand, run_structured, structured_command, sympy_ids
from sandbox.workspace import LocalWorkspace

FAKE_BIN_TEST = f'''#!{sys.executable}
"""Prints what sympy's `bin/test --verbose` prints for the files and -k keywords given."""
import importlib, os, sys
sys.path.insert(0, os.getcwd())
args = sys.argv[1:]
kw = args[args.index("-k") + 1:] if "-k" in args else []
files = [a for a in (args[:args.index("-k")] if kw else args) if not a.startswith("-")]
print("hash randomization: on (PYTHONHASHSEED=" + os.environ.get("PYTHONHASHSEED", "random") + ")")
print("=" * 29 + " test process starts " + "=" * 30)
counts = {{"passed": 0, "failed": 0}}
for path in files:
    mod = importlib.import_module(path[:-3].replace("/", "."))
    names = [n for n in sorted(vars(mod)) if n.startswith("test_") and (not kw or any(k in n for k in kw))]
    if not names:
        continue
    print(f"{{path}}[{{len(names)}}] ")
    for n in names:
        try:
            getattr(mod, n)()
            ok = True
        except AssertionError:
            ok = False
        counts["passed" if ok else "failed"] += 1
        print(f"{{n}} {{'ok' if ok else 'F'}}")
    print()
print(f"==== tests finished: {{counts['passed']}} passed, {{counts['failed']}} failed, in 0.01 seconds ====")
sys.exit(1 if counts["failed"] else 0)
'''

TESTS = "def test_a():\n    assert True\n\n\ndef test_b():\n    assert False\n\n\ndef test_c():\n    assert True\n"


def test_sympy_ids_become_keywords():
    cmd = TestCommand("bin/test -C --verbose", "sympy", 60)
    assert sympy_ids(cmd, ["s/t/test_x.py::test_a", "s/t/test_x.py::test_b"]) == (["s/t/test_x.py"], ["-k", "test_a", "test_b"])
    # a plain file among them runs whole, and so do the ids' files
    assert sympy_ids(cmd, ["s/t/test_y.py", "s/t/test_x.py::test_a"]) == (["s/t/test_y.py", "s/t/test_x.py"], [])
    assert sympy_ids(cmd, ["s/t/test_y.py"]) == (["s/t/test_y.py"], [])
    doctest = TestCommand("bin/doctest -C --verbose", "sympy", 60)  # its ids are doctest names: untouched
    assert sympy_ids(doctest, ["s/x.py::s.x.f"]) == (["s/x.py::s.x.f"], [])


def test_a_sympy_id_runs_that_test_with_one_hash_seed(tmp_path):
    repo = make_repo(tmp_path / "r", {"bin/test": FAKE_BIN_TEST, "pkg/__init__.py": "", "pkg/tests/__init__.py": "",
                                     "pkg/tests/test_x.py": TESTS})
    (repo / "bin" / "test").chmod(0o755)
    cmd = TestCommand("bin/test -C --verbose", "sympy", 60)
    with LocalWorkspace(repo) as ws:
        run, res = run_structured(ws, cmd, ["pkg/tests/test_x.py::test_b", "pkg/tests/test_x.py::test_c"])
    assert run.command.endswith("bin/test -C --verbose pkg/tests/test_x.py -k test_b test_c")
    assert {t: r.status for t, r in res.tests.items()} == {"pkg/tests/test_x.py::test_b": "failed",
                                                          "pkg/tests/test_x.py::test_c": "passed"}
    assert res.no_results == []
    assert "PYTHONHASHSEED=0)" in run.output


def test_the_commands_own_seed_wins():
    assert structured_command(TestCommand("pytest", "pytest", 60)).env["PYTHONHASHSEED"] == SEEDED["PYTHONHASHSEED"]
    own = TestCommand("pytest", "pytest", 60, env={"PYTHONHASHSEED": "123"})
    assert structured_command(own).env["PYTHONHASHSEED"] == "123"
