"""The structured-results readers agree with every hand-checked status of the recorded corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.testresults import read_results

CORPUS = Path(__file__).parent / "fixtures" / "test_results"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").exists())


def load(name: str):
    d = CORPUS / name
    meta = json.loads((d / "meta.json").read_text())
    expected = json.loads((d / "expected.json").read_text())
    junit = d / "junit.xml"
    res = read_results(expected["runner"], (d / "output.log").read_text(encoding="utf-8"),
                       junit=junit.read_text(encoding="utf-8") if junit.exists() else None,
                       requested=expected["requested"], timed_out=meta["timed_out"])
    return meta, expected, res


def test_corpus_is_large_and_covers_the_runners():
    assert len(CASES) >= 25
    runners = {json.loads((CORPUS / n / "expected.json").read_text())["runner"] for n in CASES}
    assert runners == {"pytest", "unittest", "django", "sympy"}


@pytest.mark.parametrize("name", CASES)
def test_reader_agrees_with_hand_checked_statuses(name):
    meta, expected, res = load(name)
    assert res.statuses() == expected["tests"]
    assert [{"target": e.target, "module": e.module} for e in res.collection_errors] == expected["collection_errors"]
    assert res.no_results == expected["no_results"]
    if meta["timed_out"]:
        assert res.collected == expected["collected"]


def test_inner_pytest_sessions_never_count():
    _, _, res = load("pytest_logging")
    assert res.source == "junit" and res.counts()["passed"] == 83
    assert res.counts()["failed"] == res.counts()["error"] == 0
    _, _, res = load("demo_pytester")
    assert "test_ghost" not in " ".join(res.tests)


def test_summary_names_collection_errors_silent_files_and_cuts():
    _, _, res = load("pytest_collect_interrupted")
    text = res.summary()
    assert "testing/test_junitxml.py: cannot import xmlschema" in text
    assert "testing/logging/test_formatter.py: no test result" in text
    _, _, res = load("demo_slow_cut")
    assert "3 passed" in res.summary() and "5 of 8 announced did not" in res.summary()
    _, _, res = load("sympy_lambdify")
    assert res.summary().startswith("67 passed, 0 failed, 0 errors, 61 skipped.")


def test_pytest_without_a_report_reads_the_outer_summary_only():
    """A cut run leaves no JUnit report; the console's outer session is read instead."""
    log = (CORPUS / "demo_pytester" / "output.log").read_text()
    res = read_results("pytest", log, requested=["tests/test_plugin.py"])
    assert res.source == "log"
    assert res.statuses() == json.loads((CORPUS / "demo_pytester" / "expected.json").read_text())["tests"]


def test_unknown_runner_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown test runner 'nose'"):
        read_results("nose", "")


def test_sympy_doctest_names_and_an_import_that_stops_the_run():
    _, _, res = load("sympy_doctest")
    assert res.statuses()["sympy/core/mod.py::sympy.core.mod.Mod"] == "failed"
    assert res.runner_counts == {"passed": 5, "failed": 2, "error": 1}
    assert "collection error in sympy/parsing/mathematica.py: cannot import nosuchmodule_xyz" in res.summary()
    _, _, res = load("sympy_doctest_crash")
    assert [(e.target, e.message) for e in res.collection_errors] == [
        ("sympy/parsing/maxima.py", "SyntaxError: invalid syntax")]
