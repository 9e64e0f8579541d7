"""The agent's test loop on small repositories made here (local workspace, real pytest runs): each
defect of the issue that asked for it, reproduced — pytest-in-pytest counts, a test file the
environment cannot import, a reproduction test the runner does not collect, skipped tests, a run
cut by its time budget — and the base tree: new failures told from pre-existing ones."""

from __future__ import annotations

import sys

import pytest

from agent.nodes.check import claimed, feedback
from agent.testloop import SuiteTimes, TestLoop, find_repro, whole_suite_known_short
from agent.testplan import REPRO_NAME, TestPlan, TestResults
from conftest import make_repo
from sandbox.workspace import LocalWorkspace

PY = sys.executable

CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = {
    "calc/__init__.py": "",
    "calc/ops.py": CALC,
    "tests/__init__.py": "",
    "tests/test_ops.py": "from calc.ops import add, mul\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
                         "def test_mul():\n    assert mul(2, 3) == 6\n\n\ndef test_old_bug():\n    assert add(0.1, 0.2) == 0.3\n",
    "tests/test_skips.py": "import pytest\n\n\n@pytest.mark.skip(reason='no numpy')\ndef test_numpy():\n    pass\n\n\n"
                           "def test_plain():\n    pass\n",
    "tests/test_xml.py": "import xmlschema_not_installed\n\n\ndef test_schema():\n    pass\n",
    "tests/test_inner.py": (
        "pytest_plugins = ['pytester']\n\n\n"
        "def test_inner_session(pytester):\n"
        "    pytester.makepyfile('def test_a():\\n    assert 0\\n\\ndef test_b():\\n    pass\\n')\n"
        "    res = pytester.runpytest('-rA')\n"
        "    res.assert_outcomes(passed=1, failed=1)\n"),
    "tests/test_slow.py": "import time\n\n\ndef test_quick():\n    pass\n\n\ndef test_slow():\n    time.sleep(30)\n",
}


def plan(timeout: float = 60) -> TestPlan:
    # no third-party plugins: this environment's (the project's own) would take seconds per run
    return TestPlan(f"{PY} -m pytest -p no:cacheprovider", "pytest", True, timeout,
                    {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


@pytest.fixture
def ws(tmp_path):
    repo = make_repo(tmp_path / "calc", {**TESTS, ".gitignore": "__pycache__/\n"})
    with LocalWorkspace(repo) as w:
        yield w


def test_inner_pytest_sessions_never_count(ws):
    res = TestLoop(plan(), ws).run(["tests/test_inner.py"], "")
    assert res.statuses == {"tests/test_inner.py::test_inner_session": "PASSED"}
    text = feedback(res)
    assert "1 passed, 0 failed, 0 errors, 0 skipped." in text


def test_skipped_tests_are_counted(ws):
    text = feedback(TestLoop(plan(), ws).run(["tests/test_skips.py"], ""))
    assert "1 passed, 0 failed, 0 errors, 1 skipped." in text


def test_a_file_the_environment_cannot_import_is_reported_once_and_left_out(ws):
    loop = TestLoop(plan(), ws)
    ws.write_file("calc/ops.py", CALC.replace("a * b", "a * b  # same"))
    diff = ws.diff()
    first = loop.run(["tests/test_xml.py", "tests/test_ops.py"], diff)
    # the other file still ran (no interrupted session), and the import error is the environment's
    assert first.statuses["tests/test_ops.py::test_add"] == "PASSED"
    assert first.environment == ["tests/test_xml.py: cannot import xmlschema_not_installed"]
    assert not first.collection_errors and not first.introduced
    text = feedback(first)
    assert "Environment (not your change): tests/test_xml.py: cannot import xmlschema_not_installed" in text
    second = loop.run(["tests/test_xml.py", "tests/test_ops.py"], diff)
    assert second.environment == [] and "test_xml" not in second.command  # left out, not reported again


def test_new_failures_are_told_from_pre_existing_ones_and_the_tree_is_restored(ws):
    loop = TestLoop(plan(), ws)
    ws.write_file("calc/ops.py", CALC.replace("return a * b", "return a * b + 1"))
    ws.write_file("tests/test_more.py", "from calc.ops import mul\n\n\ndef test_mul_zero():\n    assert mul(0, 5) == 0\n")
    diff = ws.diff()
    res = loop.run(["tests/test_ops.py", "tests/test_more.py"], diff)
    assert res.new_failures == ["tests/test_more.py::test_mul_zero", "tests/test_ops.py::test_mul"]
    assert res.pre_existing == ["tests/test_ops.py::test_old_bug"]
    assert res.base["tests/test_ops.py::test_mul"] == "PASSED" and res.new_tests == ["tests/test_more.py::test_mul_zero"]
    assert ws.diff() == diff  # the base-tree run put the change back exactly
    text = feedback(res)
    assert "New failures (not failing before your change, or new tests): tests/test_more.py::test_mul_zero, " \
           "tests/test_ops.py::test_mul" in text
    assert "Failing before your change too (1): tests/test_ops.py::test_old_bug" in text
    assert "New tests: 1." in text
    # cached: the same targets do not run on the base tree again
    ran: list[str] = []
    real = ws.run
    ws.run = lambda cmd, *a, **k: (ran.append(cmd), real(cmd, *a, **k))[1]
    loop.run(["tests/test_ops.py"], diff)
    assert not any("base-tree-save" in c for c in ran)
    ws.run = real
    # the model's evidence: a failure it names is run again on the base tree, and the answer says so
    assert claimed("test_mul fails because of an old bug", res.failing) == ["tests/test_ops.py::test_mul"]
    checked = loop.recheck(["tests/test_ops.py::test_old_bug"], diff)
    assert checked == {"tests/test_ops.py::test_old_bug": "FAILED"}
    assert "run again on the base tree it failed there too (pre-existing)" in feedback(res, checked)


def test_a_requested_file_with_no_result_is_an_error_never_a_pass(ws):
    loop = TestLoop(plan(), ws)
    ws.write_file(REPRO_NAME, "def check_issue():\n    assert False\n")  # nothing a runner collects
    assert find_repro(ws) == [REPRO_NAME]
    res = loop.run([REPRO_NAME, "tests/test_skips.py"], "")
    assert res.no_results == [REPRO_NAME] and res.introduced
    text = feedback(res)
    assert f"Error: {REPRO_NAME} yielded no test result" in text
    assert "put the reproduction test where the runner collects it" in text


def test_a_cut_run_says_what_ran_and_what_did_not(ws):
    res = TestLoop(plan(timeout=4), ws).run(["tests/test_slow.py", "tests/test_skips.py"], "")
    assert res.timed_out
    text = feedback(res)
    assert "The run was cut by its time budget" in text
    assert "1 test(s) finished" in text or "announced did not" in text


def test_the_suite_time_is_remembered_per_repository(ws, tmp_path):
    times = SuiteTimes(tmp_path / "times.json")
    loop = TestLoop(plan(), ws)
    assert whole_suite_known_short(loop, times, 60) is None
    times.put(SuiteTimes.key(ws, loop.plan.command), 12.0, True)
    assert whole_suite_known_short(loop, times, 60) is True and whole_suite_known_short(loop, times, 5) is False
    times.put(SuiteTimes.key(ws, loop.plan.command), 60.0, False)
    assert whole_suite_known_short(loop, times, 600) is False


def test_a_test_the_change_edits_is_not_called_fixed_and_each_list_ends_its_line(ws):
    """A test that asserted the behaviour the issue changes, updated by the change, fails on the base
    tree (which runs the edited file) and passes now: the answer says the edited tests agree with the
    change, not that the change fixed them; and a list never runs into the next line."""
    loop = TestLoop(plan(), ws)
    ws.write_file("calc/ops.py", CALC.replace("return a + b", "return round(a + b, 10)"))
    ws.write_file("tests/test_ops.py", TESTS["tests/test_ops.py"].replace("assert mul(2, 3) == 6",
                                                                          "assert mul(2, 3) == 7"))
    ws.write_file("tests/test_more.py", "from calc.ops import mul\n\n\ndef test_mul_zero():\n    assert mul(0, 5) == 1\n")
    diff = ws.diff()
    res = loop.run(["tests/test_ops.py", "tests/test_more.py"], diff)
    assert res.fixed == ["tests/test_ops.py::test_old_bug"] and res.new_failures == ["tests/test_more.py::test_mul_zero"]
    text = feedback(res, diff=diff)
    assert "Fixed by the change" not in text
    assert ("Failing on the base tree, passing with your change, in test files your change edits (1): "
            "tests/test_ops.py::test_old_bug — the base tree ran your edited tests, so they fail without your code change") in text
    assert "New failures (not failing before your change, or new tests): tests/test_more.py::test_mul_zero.\n" in text
    assert "Fixed by the change (1): tests/test_ops.py::test_old_bug.\n" in feedback(res)  # no diff: no edited file known


def test_a_test_of_the_changes_own_failing_both_ways_is_not_called_pre_existing(ws):
    """sympy-21612: the model's new test expected the wrong string; failing on the base tree (which
    runs the edited file) and after the change, it was listed as "failing before your change too ...
    not yours to fix", with no output. Now it is its own list, and the output is shown."""
    loop = TestLoop(plan(), ws)
    ws.write_file("calc/ops.py", CALC.replace("return a + b", "return round(a + b, 10)"))
    ws.write_file("tests/test_ops.py", TESTS["tests/test_ops.py"] + "\n\ndef test_wrong():\n    assert add(2, 2) == 5\n")
    diff = ws.diff()
    res = loop.run(["tests/test_ops.py"], diff)
    assert res.pre_existing == ["tests/test_ops.py::test_wrong"]
    text = feedback(res, diff=diff)
    assert ("Failing with and without your code change, in test files your change edits (1): "
            "tests/test_ops.py::test_wrong — the base tree ran your edited tests and they fail there too") in text
    assert "Failing before your change too" not in text
    assert "End of the output:" in text and "assert 4 == 5" in text


SORTING_CONFTEST = ("def pytest_collection_modifyitems(items):\n"
                    "    items.sort(key=lambda item: item.nodeid)  # like sympy's runner: files in name order\n")


def test_the_changes_own_tests_run_first_and_the_others_fit_the_budget(tmp_path):
    """sympy's runner runs the files it is given in name order: a default run of 13 chosen files
    spent its 300 s budget in the second and never reached the reproduction test or the edited
    module's own tests. The change's own tests now run first on their own; the others get what is
    left of the budget."""
    files = {**TESTS, "tests/conftest.py": SORTING_CONFTEST, ".gitignore": "__pycache__/\n",
             "tests/test_a_slow.py": "import time\n\n\ndef test_one():\n    time.sleep(5)\n\n\n"
                                     "def test_two():\n    time.sleep(5)\n"}
    repo = make_repo(tmp_path / "calc", files)
    with LocalWorkspace(repo) as ws:
        ws.write_file("calc/ops.py", CALC.replace("return a + b", "return round(a + b, 10)"))
        diff = ws.diff()
        loop = TestLoop(plan(timeout=8), ws)
        res = loop.run(["tests/test_ops.py", "tests/test_a_slow.py"], diff,
                       why={"tests/test_ops.py": "named after calc/ops.py", "tests/test_a_slow.py": "imports"}, first=1)
        assert {t: s for t, s in res.statuses.items() if "test_ops" in t} == {
            "tests/test_ops.py::test_add": "PASSED", "tests/test_ops.py::test_mul": "PASSED",
            "tests/test_ops.py::test_old_bug": "PASSED"}
        assert loop.seconds["tests/test_ops.py"] > 0 and loop.per_test
        # one budget for the whole run: the slow file spent it, so the base-tree run (last) was cut
        # and named, not run past the budget
        assert res.duration < 9 and not res.fixed
        assert res.cut == [{"part": "base tree", "what": "tests", "targets": ["tests/test_ops.py", "tests/test_a_slow.py"],
                            "call": ["tests/test_ops.py", "tests/test_a_slow.py"]}]


def test_chosen_files_that_do_not_fit_the_budget_are_left_out_and_the_answer_says_how_to_run_them(ws):
    loop = TestLoop(plan(timeout=60), ws)
    loop.seconds["tests/test_slow.py"] = 100.0  # timed in an earlier run
    res = loop.run(["tests/test_skips.py", "tests/test_ops.py", "tests/test_slow.py"], "",
                   why=dict.fromkeys(["tests/test_skips.py", "tests/test_ops.py", "tests/test_slow.py"], "x"), first=1)
    assert res.left_out == ["tests/test_slow.py"] and not res.timed_out
    assert "tests/test_ops.py::test_add" in res.statuses and "test_slow" not in res.command
    assert sorted(res.selected) == ["tests/test_ops.py", "tests/test_skips.py"]
    text = feedback(res)
    assert "on 2 test file(s) chosen for the change" in text
    assert ("Left out to fit the time budget of 60 s (the change's own tests ran first, then the others best first "
            "until the expected time was spent): tests/test_slow.py. To run them: run_tests with "
            '{"tests": ["tests/test_slow.py"]}.') in text
    assert loop.expected(["tests/test_ops.py"])["tests/test_ops.py"] == loop.seconds["tests/test_ops.py"]
    fresh = TestLoop(plan(timeout=60), ws)
    assert fresh.expected(["tests/test_ops.py"]) == {"tests/test_ops.py": 3 * 0.25}  # 3 tests, not timed yet


class FakeTime:
    """A clock each test command moves on by the seconds given for it (the commands still run): the
    order of a run's parts and the time each is given, without waiting."""

    def __init__(self, monkeypatch, takes: list[float]):
        import agent.testloop as testloop
        self.now, self.takes, self.calls = 0.0, list(takes), []
        real = testloop.run_structured

        def run(ws, test, targets, *, timeout=None, **kw):
            got = real(ws, test, targets, timeout=60, **kw)
            self.calls.append(("doctests" if "doctest-modules" in test.command else "tests", targets, round(timeout, 1)))
            self.now += self.takes.pop(0) if self.takes else 0.0
            return got
        monkeypatch.setattr(testloop, "run_structured", run)

    def __call__(self) -> float:
        return self.now


DOC_CALC = CALC.replace("    return a + b", '    """\n    >>> add(1, 2)\n    3\n    """\n    return a + b')


def timed_loop(ws, monkeypatch, takes: list[float], budget: float = 100) -> tuple[TestLoop, FakeTime, str]:
    clock = FakeTime(monkeypatch, takes)
    doc = f"{PY} -m pytest -p no:cacheprovider --doctest-modules"
    loop = TestLoop(TestPlan(f"{PY} -m pytest -p no:cacheprovider", "pytest", True, budget,
                             {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, doctest=doc),
                    ws, clock=clock)
    ws.write_file("calc/ops.py", DOC_CALC.replace("return a * b", "return a * b + 0"))
    return loop, clock, ws.diff()


CHOSEN = ["tests/test_ops.py", "tests/test_skips.py"]


def test_one_budget_covers_the_whole_run_in_order_and_the_base_tree_is_cut_first(ws, monkeypatch):
    """On sympy one review's runs (own tests, other tests, doctests, each on the base tree too) took
    about 24 minutes, each part with a budget of its own. One budget now covers them all, in the order
    own tests, other tests, doctests, base tree; each part gets what is left."""
    loop, clock, diff = timed_loop(ws, monkeypatch, [30, 30, 30, 5])
    res = loop.run(CHOSEN, diff, why=dict.fromkeys(CHOSEN, "x"), first=1)
    assert [(what, targets) for what, targets, _ in clock.calls] == [
        ("tests", ["tests/test_ops.py"]), ("tests", ["tests/test_skips.py"]), ("doctests", ["calc/ops.py"]),
        ("tests", CHOSEN), ("doctests", ["calc/ops.py"])]
    assert [t for _, _, t in clock.calls] == [100, 70, 40, 10, 5]  # what was left of the one budget
    assert res.cut == [] and res.base["tests/test_ops.py::test_add"] == "PASSED"

    # the doctests took what was left: the base-tree run is cut, not run past the budget, and named
    loop, clock, diff = timed_loop(ws, monkeypatch, [30, 30, 39.5])
    res = loop.run(CHOSEN + ["tests/test_ops.py::test_old_bug"], diff, why=dict.fromkeys(CHOSEN, "x"), first=1)
    assert [what for what, _, _ in clock.calls] == ["tests", "tests", "doctests"]
    assert [c["part"] for c in res.cut] == ["base tree", "base tree"] and res.base == {}
    assert res.cut[0]["call"] == ["tests/test_ops.py::test_old_bug"]  # the failing ones, to compare
    text = feedback(res)
    assert ("Not compared with the base tree (tests: tests/test_ops.py, tests/test_skips.py, "
            "tests/test_ops.py::test_old_bug): the time budget was spent before that run started, so a failure "
            'here may be pre-existing. To compare: run_tests with {"tests": ["tests/test_ops.py::test_old_bug"]}.') in text
    assert 'Not compared with the base tree (doctests: calc/ops.py)' in text

    # the other tests took it all: the doctests are cut too (after the base tree), and named with their call
    loop, clock, diff = timed_loop(ws, monkeypatch, [30, 69.5])
    res = loop.run(CHOSEN, diff, why=dict.fromkeys(CHOSEN, "x"), first=1)
    assert [what for what, _, _ in clock.calls] == ["tests", "tests"]
    assert [c["part"] for c in res.cut] == ["doctests", "base tree"]
    assert res.doctests["state"] == "cut"
    assert ('Doctests: not run, the time budget was spent before they started (calc/ops.py); to run them: '
            'run_tests with {"tests": ["calc/ops.py"]}.') in feedback(res)

    # test ids the model asked for took it all: the call to compare names the failing id
    loop, clock, diff = timed_loop(ws, monkeypatch, [100])
    res = loop.run(["tests/test_ops.py::test_old_bug"], diff)
    assert [c["call"] for c in res.cut] == [["calc/ops.py"], ["tests/test_ops.py::test_old_bug"]]


def test_run_tests_given_the_files_a_cut_answer_names_runs_their_doctests_alone(ws, monkeypatch):
    from types import SimpleNamespace

    from agent.nodes.check import check
    loop, clock, diff = timed_loop(ws, monkeypatch, [])
    work = SimpleNamespace(known=SimpleNamespace(text=None))
    res = check(None, loop, work, None, "", diff, ids=["calc/ops.py"])
    assert [what for what, _, _ in clock.calls] == ["doctests", "doctests"]  # here, then on the base tree
    assert res.doctests["state"] == "ran" and res.statuses == {"calc/ops.py::calc.ops.add": "PASSED"}


def test_a_changed_module_among_test_ids_runs_its_doctests_not_as_a_test_file(ws, monkeypatch):
    """sympy-18698: run_tests given the changed sympy/polys/polytools.py next to test files answered
    "yielded no test result" for it (the test command collects no test from a source module)."""
    from types import SimpleNamespace

    from agent.nodes.check import check
    loop, clock, diff = timed_loop(ws, monkeypatch, [])
    work = SimpleNamespace(known=SimpleNamespace(text=None))
    res = check(None, loop, work, None, "", diff, ids=["calc/ops.py", "tests/test_ops.py"])
    assert [(what, targets) for what, targets, _ in clock.calls][:2] == [("tests", ["tests/test_ops.py"]),
                                                                       ("doctests", ["calc/ops.py"])]
    assert res.no_results == [] and res.statuses["calc/ops.py::calc.ops.add"] == "PASSED"
    assert "yielded no test result" not in feedback(res)


SYMPY_LIKE = ("def pytest_collection_modifyitems(items):\n"
              "    # like sympy's runner: a module that sets `disabled` runs no test and prints nothing\n"
              "    items[:] = [i for i in items if not getattr(i.module, 'disabled', False)]\n")
LATEX = ("import importlib.util\n\n"
         "antlr4 = importlib.util.find_spec('antlr4_not_installed')\n\n"
         "# disable tests if antlr4-python3-runtime is not present\n"
         "disabled = antlr4 is None\n\n\n"
         "def test_parse():\n    pass\n")
AUTOLEV = "import os\n\nif not os.environ.get('ANTLR4'):\n    disabled = True\n\n\ndef test_autolev():\n    pass\n"


def test_a_test_file_that_disables_itself_is_no_error(tmp_path):
    """sympy's parsing tests set module-level `disabled = True` when antlr4 is missing, and its runner
    prints nothing for them: the answer said `Error: ... yielded no test result` and the review
    counted it as introduced by the change."""
    from agent.testloop import self_skip

    files = {**TESTS, ".gitignore": "__pycache__/\n", "tests/conftest.py": SYMPY_LIKE,
             "tests/test_latex.py": LATEX, "tests/test_autolev.py": AUTOLEV, "tests/test_empty.py": "x = 1\n"}
    repo = make_repo(tmp_path / "calc", files)
    with LocalWorkspace(repo) as ws:
        res = TestLoop(plan(), ws).run(["tests/test_latex.py", "tests/test_autolev.py", "tests/test_empty.py",
                                        "tests/test_ops.py"], "")
    assert res.self_skipped == ["tests/test_latex.py: line 6 `disabled = antlr4 is None`",
                                "tests/test_autolev.py: line 4 `disabled = True`"]
    assert res.no_results == ["tests/test_empty.py"]  # defines no test and says nothing: still an error
    text = feedback(res)
    assert ("tests/test_latex.py ran no test: the module leaves its tests out here (line 6 `disabled = antlr4 is None`); "
            "often an optional dependency the environment lacks.\n") in text
    assert "Error: tests/test_latex.py" not in text and "Error: tests/test_empty.py yielded no test result" in text
    res.no_results = []
    assert not res.introduced
    later = TestResults("x", {}, 0, False, 0.0, "", self_skipped=["tests/test_x.py: line 1 `disabled = True`"])
    res.merge(later)
    assert res.self_skipped[-1] == "tests/test_x.py: line 1 `disabled = True`"
    # the other ways a module leaves its tests out, module-level only
    assert self_skip("import pytest\n\nnp = pytest.importorskip('numpy')\n") == (3, "np = pytest.importorskip('numpy')")
    assert self_skip("import pytest\npytestmark = [pytest.mark.skipif(True, reason='x')]\n")[0] == 2
    assert self_skip("import pytest\npytestmark = pytest.mark.slow\n") is None
    assert self_skip("def test_x():\n    disabled = True\n") is None
    assert self_skip("try:\n    import antlr4\nexcept ImportError:\n    disabled = True\n") == (4, "disabled = True")
