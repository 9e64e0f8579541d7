"""Grading is a pure function of a test log and an instance: parsers and decisions on recorded logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.grading import compare_tests, grade, log_statuses, resolution
from harness.instance import Instance
from sandbox.log_parsers import get_parser, parse_django, parse_pytest, parse_pytest_v2, parse_sympy

LOGS = Path(__file__).parent / "fixtures" / "harness_logs"


def recorded(stem: str) -> tuple[Instance, str, dict]:
    meta = json.loads((LOGS / f"{stem}.json").read_text())
    inst = Instance(instance_id=meta["instance_id"], repo=meta["repo"], base_commit="0" * 40,
                    version=meta["version"], FAIL_TO_PASS=meta["FAIL_TO_PASS"], PASS_TO_PASS=meta["PASS_TO_PASS"])
    return inst, (LOGS / f"{stem}.log").read_text(), meta


def report_of(stem: str) -> dict:
    inst, log, meta = recorded(stem)
    return grade(inst, log, log_parser=meta["log_parser"], eval_type=meta["eval_type"])[inst.instance_id]


def test_gold_builtin_log_is_resolved_and_report_has_official_shape():
    r = report_of("builtin__textkit-3.gold")
    assert set(r) == {"patch_is_None", "patch_exists", "patch_successfully_applied", "resolved", "tests_status"}
    assert r["resolved"] and r["patch_successfully_applied"] and r["patch_exists"] and not r["patch_is_None"]
    assert r["tests_status"]["FAIL_TO_PASS"] == {"success": ["tests/test_case.py::test_to_snake_acronyms"],
                                                 "failure": []}
    assert set(r["tests_status"]) == {"FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL"}


def test_regression_log_fails_only_pass_to_pass():
    r = report_of("builtin__textkit-3.regression")
    assert not r["resolved"] and r["patch_successfully_applied"]
    assert r["tests_status"]["FAIL_TO_PASS"]["failure"] == []
    assert r["tests_status"]["PASS_TO_PASS"]["failure"] == ["tests/test_case.py::test_to_snake_digits"]


def test_timed_out_log_counts_as_failed():
    inst, log, meta = recorded("builtin__schedules-2.hang")
    assert ">>>>> Tests Timed Out" in log
    r = grade(inst, log, log_parser="pytest")[inst.instance_id]
    assert r == {"patch_is_None": False, "patch_exists": True, "patch_successfully_applied": False,
                 "resolved": False}


def test_flask_gold_logs_resolved():
    for stem in ("pallets__flask-4992.gold", "pallets__flask-5063.gold"):
        assert report_of(stem)["resolved"], stem


def test_requests_log_misses_are_the_network_tests():
    # the only F2P failures of the gold patch are tests that talk to httpbin.org (no internet here)
    _, log, _ = recorded("psf__requests-2317.gold")
    r = report_of("psf__requests-2317.gold")
    assert not r["resolved"]
    failed = r["tests_status"]["FAIL_TO_PASS"]["failure"]
    assert failed and "test_requests.py::RequestsTestCase::test_HTTP_302_ALLOW_REDIRECT_GET" in failed
    assert "FAILED test_requests.py::RequestsTestCase::test_HTTP_302_ALLOW_REDIRECT_GET" in log


def test_patch_apply_failure_marker():
    inst, log, _ = recorded("builtin__kvconf-3.gold")
    bad = log.replace(">>>>> Applied Patch (git apply)", ">>>>> Patch Apply Failed")
    r = grade(inst, bad, log_parser="pytest")[inst.instance_id]
    assert not r["patch_successfully_applied"] and not r["resolved"]


def test_no_patch_and_missing_markers():
    inst, log, _ = recorded("builtin__kvconf-3.gold")
    assert grade(inst, log, log_parser="pytest", model_patch=None)[inst.instance_id]["patch_is_None"]
    no_markers = log.replace(">>>>> Start Test Output", "")
    assert not grade(inst, no_markers, log_parser="pytest")[inst.instance_id]["patch_successfully_applied"]


def test_exit_code_without_failures_is_not_believed():
    # a patch that prints PASSED lines itself while the test command fails
    inst, log, _ = recorded("builtin__kvconf-3.gold")
    forged = log.replace(">>>>> Test Exit Code: 0", ">>>>> Test Exit Code: 1")
    statuses, counts = log_statuses(forged, "pytest")
    assert not counts and statuses == {}


def test_decisions_skipped_xfail_and_truncated_ids():
    sm = {"t::a": "PASSED", "t::b": "SKIPPED", "t::c": "XFAIL", "t::d[x-1]": "PASSED", "t::e": "FAILED"}
    rep = compare_tests(sm, ["t::a", "t::c", "t::d[x-"], ["t::b", "t::missing"])
    assert rep["FAIL_TO_PASS"] == {"success": ["t::a", "t::c", "t::d[x-"], "failure": []}
    # a skipped PASS_TO_PASS test is maintained, a missing one is a failure
    assert rep["PASS_TO_PASS"] == {"success": ["t::b"], "failure": ["t::missing"]}
    assert resolution(rep) == "RESOLVED_NO"
    # a skipped FAIL_TO_PASS test is no resolution
    assert compare_tests(sm, ["t::b"], [])["FAIL_TO_PASS"]["failure"] == ["t::b"]
    partial = compare_tests(sm, ["t::a", "t::e"], ["t::a"])
    assert resolution(partial) == "RESOLVED_PARTIAL"
    # fail_only: only an explicit FAILED counts against
    assert compare_tests(sm, ["t::missing", "t::e"], [], "fail_only")["FAIL_TO_PASS"] == {
        "success": ["t::missing"], "failure": ["t::e"]}


def test_pytest_parsers():
    log = ("PASSED tests/a.py::test_x\nFAILED tests/a.py::test_y - AssertionError: boom\n"
           "SKIPPED [2] tests/a.py:10: no network\nERROR tests/b.py::test_z\nXFAIL tests/a.py::test_w\n")
    assert parse_pytest(log) == {"tests/a.py::test_x": "PASSED", "tests/a.py::test_y": "FAILED",
                                 "tests/b.py::test_z": "ERROR", "tests/a.py::test_w": "XFAIL"}
    opts = get_parser("parse_log_requests")("PASSED t.py::test_p[/tmp/pytest-1/abc/file.txt]\n")
    assert opts == {"t.py::test_p[/file.txt]": "PASSED"}
    v2 = parse_pytest_v2("\x1b[32mPASSED\x1b[0m tests/test_x.py::test_a[a b]\n"
                         "tests/test_old.py::test_b FAILED\nFAILED tests/t.py::test_c - msg - more\n")
    assert v2 == {"tests/test_x.py::test_a[a b]": "PASSED", "tests/test_old.py::test_b": "FAILED",
                  "tests/t.py::test_c": "FAILED"}


def test_sympy_and_django_parsers():
    sympy_log = ("test_ok_one ok\ntest_bad F\ntest_err E\n"
                 "________________ sympy/core/tests/test_basic.py:test_bad _________________\n")
    assert parse_sympy(sympy_log) == {"test_ok_one": "PASSED", "test_bad": "FAILED", "test_err": "ERROR",
                                      "sympy/core/tests/test_basic.py:test_bad": "FAILED"}
    django_log = ("test_a (app.tests.T) ... ok\ntest_b (app.tests.T) ... FAIL\n"
                  "test_c (app.tests.T) ... skipped 'why'\ntest_d (app.tests.T) ... ERROR\n"
                  "test_e (app.tests.T) ... some output\nok\n")
    assert parse_django(django_log) == {"test_a (app.tests.T)": "PASSED", "test_b (app.tests.T)": "FAILED",
                                        "test_c (app.tests.T)": "SKIPPED", "test_d (app.tests.T)": "ERROR",
                                        "test_e (app.tests.T)": "PASSED"}


def test_unknown_parser_names_the_known_ones():
    with pytest.raises(KeyError, match="known: django"):
        get_parser("parse_log_cobol")


def test_sympy_logs_pass_and_fail():
    assert report_of("sympy__sympy-24066.gold")["resolved"]
    r = report_of("sympy__sympy-24066.noop")  # a patch that changes nothing the tests see
    assert r["patch_successfully_applied"] and not r["resolved"]
    assert r["tests_status"]["FAIL_TO_PASS"]["failure"] == ["test_issue_24062"]
    assert r["tests_status"]["PASS_TO_PASS"]["failure"] == []
