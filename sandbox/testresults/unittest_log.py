"""unittest's verbose output (`python -m unittest -v`, Django's `manage.py test -v 2` /
`runtests.py --verbosity 2`) -> per-test results of the outer session only.

Each test prints `name (dotted.id) ... ` and then its verdict (`ok`, `FAIL`, `ERROR`,
`skipped 'why'`, `expected failure`, `unexpected success`), possibly after output of its own or a
docstring line. A test that runs a unittest session of its own prints a whole session inside the
pending line: a test header while a test is pending opens an inner session, which ends at its
`Ran N tests` and `OK`/`FAILED (...)` lines; nothing inside counts. A failing subtest prints an
indented line under its test and makes the test fail. A module that cannot be imported is a
`_FailedTest` (a collection error, with the missing module from its traceback).
"""

from __future__ import annotations

import re

from .model import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    XFAIL,
    XPASS,
    CollectionError,
    Results,
    TestResult,
    missing_module,
)

_HEAD = re.compile(r"^(\S+) \(([\w.<>]+)\)")
_SUB = re.compile(r"^\s+(\S+) \(([\w.<>]+)\) \(.*\) \.\.\. (FAIL|ERROR)")
_RAN = re.compile(r"^Ran (\d+) tests? in ")
_END = re.compile(r"^(OK|FAILED)\b( \((.*)\))?")
_FOUND = re.compile(r"^Found (\d+) test\(s\)\.")
_BLOCK = re.compile(r"^(ERROR|FAIL|UNEXPECTED SUCCESS): (\S+) \(([\w.<>]+)\)")
_VERDICTS = (("ok", PASSED), ("FAIL", FAILED), ("ERROR", ERROR), ("skipped", SKIPPED),
             ("expected failure", XFAIL), ("unexpected success", XPASS))
_FAILED_TEST = "unittest.loader._FailedTest."
_TALLY = {"failures": FAILED, "errors": ERROR, "skipped": SKIPPED, "expected failures": XFAIL,
          "unexpected successes": XPASS}


def _verdict(text: str) -> tuple[str, str] | None:
    text = text.strip()
    for word, status in _VERDICTS:
        if text == word or (word == "skipped" and text.startswith("skipped ")):
            reason = text[len("skipped "):].strip("'\"") if status == SKIPPED else ""
            return status, reason
    return None


def test_id(name: str, where: str) -> str:
    """The dotted id (`pkg.mod.Class.test_x`) from `test_x (pkg.mod.Class.test_x)` (Python 3.11+) or
    `test_x (pkg.mod.Class)` (before)."""
    return where if where.endswith("." + name) else f"{where}.{name}"


def read_unittest_log(output: str, runner: str = "unittest") -> Results:
    res = Results(runner=runner, source="log")
    lines = output.replace("\r", "").split("\n")
    pending: str | None = None
    depth = 0          # inner sessions open
    inner_ran = False  # the innermost open session printed its `Ran N tests` line
    blocks = None      # where the outer session's ERROR/FAIL blocks start
    for i, line in enumerate(lines):
        if depth:
            if _RAN.match(line):
                inner_ran = True
            elif inner_ran and _END.match(line):
                depth, inner_ran = depth - 1, False
            continue
        if line.startswith("=" * 20) or _RAN.match(line):
            blocks = i
            break
        if res.collected is None and (m := _FOUND.match(line)):
            res.collected = int(m.group(1))
        m = _SUB.match(line)
        if m and pending == test_id(m.group(1), m.group(2)):
            res.tests[pending] = TestResult(pending, FAILED if m.group(3) == "FAIL" else ERROR)
            pending = None
            continue
        m = _HEAD.match(line)
        if m and pending is not None:
            depth += 1  # a test header while a test is pending: an inner session
            continue
        if m:
            pending, text = test_id(m.group(1), m.group(2)), line[m.end():]
            if " ... " not in text:
                continue  # a docstring line follows
            text = text.split(" ... ", 1)[1]
            if _HEAD.match(text):  # the inner session starts on the same line
                depth += 1
                continue
        elif pending is not None:
            text = line.rsplit(" ... ", 1)[1] if " ... " in line else line
        else:
            continue
        v = _verdict(text)
        if v:
            _record(res, pending, *v)
            pending = None
    if blocks is not None:
        _blocks(res, lines[blocks:])
    return res


def _record(res: Results, tid: str, status: str, reason: str) -> None:
    if tid.startswith(_FAILED_TEST):
        res.collection_errors.append(CollectionError(tid[len(_FAILED_TEST):], "cannot be imported"))
        return
    res.tests[tid] = TestResult(tid, status, None, reason)


def _blocks(res: Results, lines: list[str]) -> None:
    """The outer session's `ERROR: x (id)` / `FAIL: x (id)` blocks and its final tally: messages,
    and the missing module of a collection error."""
    for k, line in enumerate(lines):
        if _RAN.match(line):
            for rest in lines[k + 1:]:
                m = _END.match(rest)
                if m:
                    res.runner_counts = {_TALLY[key]: int(n) for key, _, n in
                                         (p.partition("=") for p in (m.group(3) or "").split(", "))
                                         if key in _TALLY and n.isdigit()}
                    break
            return
        m = _BLOCK.match(line)
        if not m:
            continue
        body = []
        for ln in lines[k + 2:]:
            if ln.startswith(("=" * 20, "-" * 20)):
                break
            body.append(ln)
        text = "\n".join(body).strip()
        last = text.split("\n")[-1].strip() if text else ""
        tid = test_id(m.group(2), m.group(3))
        if tid.startswith(_FAILED_TEST):
            for e in res.collection_errors:
                if e.target == tid[len(_FAILED_TEST):]:
                    e.message, e.module = last, missing_module(text)
        elif tid in res.tests and not res.tests[tid].message:
            res.tests[tid].message = last[:200]
