"""Grading: a pure function of a test log and an instance, with the official harness's decisions.

The evaluation log (`test_output.txt`) carries the markers SWE-bench's eval scripts print::

    >>>>> Applied Patch (git apply)      or   >>>>> Patch Apply Failed
    >>>>> Start Test Output
    ... the test command's output ...
    >>>>> End Test Output
    >>>>> Test Exit Code: 1
    >>>>> Tests Timed Out                     (only when the tests were killed)

`grade(instance, log)` parses the part between the markers with the instance's log parser and
returns the per-instance report in the official `report.json` format.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.log_parsers import ERROR, FAILED, PASSED, SKIPPED, XFAIL, get_parser

from .instance import Instance
from .specs import SpecTable

APPLY_PATCH_PASS = ">>>>> Applied Patch"
APPLY_PATCH_FAIL = ">>>>> Patch Apply Failed"
RESET_FAILED = ">>>>> Reset Failed"
TESTS_ERROR = ">>>>> Tests Errored"
TESTS_TIMEOUT = ">>>>> Tests Timed Out"
START_TEST_OUTPUT = ">>>>> Start Test Output"
END_TEST_OUTPUT = ">>>>> End Test Output"
TEST_EXIT_CODE = ">>>>> Test Exit Code"
_EXIT_CODE = re.compile(rf"{re.escape(TEST_EXIT_CODE)}:\s*(-?\d+)")
# evidence that a runner ran although nothing was parsed (an empty status map is no pass otherwise)
_SUITE_RAN = re.compile(
    r"Executed [1-9]\d* of \d+|TOTAL: [1-9]\d* (?:SUCCESS|FAILED)|[1-9]\d* passing|Tests:\s+[1-9]\d*"
    r"|Test Suites:\s+(?:\d+ \w+, )*[1-9]\d* total|^# tests [1-9]\d*|[1-9]\d* specs?, \d+ failures?|': ok$",
    re.M)

FAIL_TO_PASS, PASS_TO_PASS, FAIL_TO_FAIL, PASS_TO_FAIL = "FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL"
RESOLVED_FULL, RESOLVED_PARTIAL, RESOLVED_NO = "RESOLVED_FULL", "RESOLVED_PARTIAL", "RESOLVED_NO"


def log_statuses(log: str, log_parser: str) -> tuple[dict[str, str], bool]:
    """(status per test, whether the log describes a run whose results count).

    It does not count when the patch did not apply, the tests errored or timed out, the markers
    are missing, nothing was parsed and nothing says a suite ran, or the test command failed while
    no test failed (a patch printing its own PASSED lines).
    """
    if any(code in log for code in (APPLY_PATCH_FAIL, RESET_FAILED, TESTS_ERROR, TESTS_TIMEOUT)):
        return {}, False
    if START_TEST_OUTPUT not in log or END_TEST_OUTPUT not in log:
        return {}, False
    parse = get_parser(log_parser)
    statuses = parse(log.split(START_TEST_OUTPUT)[1].split(END_TEST_OUTPUT)[0])
    if not statuses:
        statuses = parse(log)  # some runners print outside the markers
    if not statuses and not _SUITE_RAN.search(log):
        return {}, False
    m = _EXIT_CODE.search(log)
    exit_code = int(m.group(1)) if m else None
    if exit_code not in (None, 0) and statuses and not any(s in (FAILED, ERROR) for s in statuses.values()):
        return {}, False
    return statuses, True


def _lookup(case: str, sm: dict[str, str]) -> str | None:
    """The status-map key for a test; a parametrised id cut short matches by prefix when unambiguous."""
    if case in sm:
        return case
    if case.count("[") > case.count("]"):
        matches = [k for k in sm if k.startswith(case)]
        if matches and len({sm[k] in (PASSED, XFAIL) for k in matches}) == 1:
            return matches[0]
    return None


def _passed(case: str, sm: dict[str, str]) -> bool:
    key = _lookup(case, sm)
    return key is not None and sm[key] in (PASSED, XFAIL)


def _failed(case: str, sm: dict[str, str]) -> bool:
    key = _lookup(case, sm)
    return key is None or sm[key] in (FAILED, ERROR, SKIPPED)


def _maintained(case: str, sm: dict[str, str]) -> bool:
    key = _lookup(case, sm)
    return _passed(case, sm) or (key is not None and sm[key] == SKIPPED)


def compare_tests(sm: dict[str, str], f2p: list[str], p2p: list[str], eval_type: str = "pass_and_fail"
                 ) -> dict[str, dict[str, list[str]]]:
    """success/failure lists for FAIL_TO_PASS and PASS_TO_PASS (a skipped PASS_TO_PASS test is kept)."""
    def split(cases: list[str], ok) -> dict[str, list[str]]:
        success, failure = [], []
        for c in cases:
            if eval_type == "fail_only":
                (failure if sm.get(c) == FAILED else success).append(c)
            elif ok(c, sm):
                success.append(c)
            elif _failed(c, sm):
                failure.append(c)
        return {"success": success, "failure": failure}

    return {FAIL_TO_PASS: split(f2p, _passed), PASS_TO_PASS: split(p2p, _maintained),
            FAIL_TO_FAIL: {"success": [], "failure": []}, PASS_TO_FAIL: {"success": [], "failure": []}}


def resolution(report: dict[str, dict[str, list[str]]]) -> str:
    """RESOLVED_FULL when every FAIL_TO_PASS and PASS_TO_PASS test passes; PARTIAL; NO."""
    def rate(key: str) -> float:
        s, f = len(report[key]["success"]), len(report[key]["failure"])
        return 1.0 if s + f == 0 else s / (s + f)

    f2p, p2p = rate(FAIL_TO_PASS), rate(PASS_TO_PASS)
    if f2p == 1 and p2p == 1:
        return RESOLVED_FULL
    if 0 < f2p < 1 and p2p == 1:
        return RESOLVED_PARTIAL
    return RESOLVED_NO


def default_parser(instance: Instance) -> tuple[str, str]:
    """(log parser, eval type) for an instance: its own fields, else its spec's."""
    spec = SpecTable().for_instance(instance)
    return spec.log_parser, spec.eval_type


def grade(instance: Instance, log: str, *, log_parser: str | None = None, eval_type: str | None = None,
          model_patch: str | None = "") -> dict[str, Any]:
    """The official per-instance report for a test log: `{instance_id: {...}}`.

    `model_patch` None means the prediction had no patch at all (`patch_is_None`). The fields are
    patch_is_None, patch_exists, patch_successfully_applied, resolved and, when the log counts,
    tests_status (success/failure lists per FAIL_TO_PASS, PASS_TO_PASS, FAIL_TO_FAIL, PASS_TO_FAIL).
    """
    if log_parser is None or eval_type is None:
        p, e = default_parser(instance)
        log_parser, eval_type = log_parser or p, eval_type or e
    entry: dict[str, Any] = {"patch_is_None": model_patch is None, "patch_exists": model_patch is not None,
                             "patch_successfully_applied": False, "resolved": False}
    if model_patch is None:
        entry["patch_exists"] = False
        return {instance.instance_id: entry}
    statuses, counts = log_statuses(log, log_parser)
    if not counts:
        return {instance.instance_id: entry}
    entry["patch_successfully_applied"] = True
    report = compare_tests(statuses, instance.FAIL_TO_PASS, instance.PASS_TO_PASS, eval_type)
    entry["resolved"] = resolution(report) == RESOLVED_FULL
    entry["tests_status"] = report
    return {instance.instance_id: entry}
