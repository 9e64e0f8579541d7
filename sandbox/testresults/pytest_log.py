"""pytest's console output -> per-test results of the outer session only.

Inner sessions (pytester, plugins that run pytest in a test) print whole sessions of their own
into the outer one's report sections (captured stdout of FAILURES/PASSES); a line-by-line parser
counts their `FAILED x` lines as ours. This reader reads only:

- the outer short test summary: the last `short test summary info` block, which must run to the
  final `=== ... in N.NNs ===` line at the very end of the output (so `-rA` gives every status);
- verbose lines (`path::id STATUS [ 10%]`, xdist's `[gw0] [ 10%] STATUS path::id`) before the
  outer session's first report section, which is all a cut run leaves;
- the outer `collected N items` / xdist `N workers [M items]` line and final tally.
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

WORDS = {"PASSED": PASSED, "FAILED": FAILED, "ERROR": ERROR, "SKIPPED": SKIPPED, "XFAIL": XFAIL, "XPASS": XPASS}
RANK = {ERROR: 3, FAILED: 2}  # a test that passed and then failed its teardown is an error

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SECTION = re.compile(r"^=+ (.+?) =+$")
_FINAL = re.compile(r"^=+ (.*\bin [\d.]+s\b.*?) =+$")
_START = re.compile(r"^=+ test session starts =+$")
_VERBOSE = re.compile(r"^(\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b.*?(\[\s*\d+%\])?$")
_XDIST = re.compile(r"^\[gw\d+\] \[\s*\d+%\] (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S.*?)\s*$")
_COLLECTED = re.compile(r"^(?:collecting \.\.\. )?collected (\d+) items?")
_WORKERS = re.compile(r"^\d+ workers \[(\d+) items?\]")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")
_COUNT_STATUS = {"passed": PASSED, "failed": FAILED, "error": ERROR, "errors": ERROR, "skipped": SKIPPED,
                 "xfailed": XFAIL, "xpassed": XPASS}
_REPORT_SECTIONS = ("ERRORS", "FAILURES", "PASSES", "warnings summary", "short test summary info", "XFAILURES",
                    "XPASSES", "slowest")


def _lines(output: str) -> list[str]:
    return _ANSI.sub("", output).replace("\r", "").split("\n")


def _set(res: Results, tid: str, status: str, message: str = "") -> None:
    old = res.tests.get(tid)
    if old is None or RANK.get(status, 0) >= RANK.get(old.status, 0):
        res.tests[tid] = TestResult(tid, status, old.duration if old else None, message or (old.message if old else ""))


def outer_summary(lines: list[str]) -> tuple[list[str], str | None]:
    """(the outer short test summary's entries, the final tally line) — ([], None) when the run did
    not end with them (cut, or crashed)."""
    tail = len(lines) - 1
    while tail >= 0 and not lines[tail].strip():
        tail -= 1
    if tail < 0 or not _FINAL.match(lines[tail].strip()):
        return [], None
    final = _FINAL.match(lines[tail].strip()).group(1)
    for i in range(tail - 1, -1, -1):
        m = _SECTION.match(lines[i].strip())
        if m and m.group(1) == "short test summary info":
            return [ln for ln in lines[i + 1:tail] if ln.strip()], final
        if m:
            break
    return [], final


def tally(final: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for n, word in _COUNT.findall(final):
        if word in _COUNT_STATUS:
            out[_COUNT_STATUS[word]] = out.get(_COUNT_STATUS[word], 0) + int(n)
    return out


def summary_entry(line: str) -> tuple[str, str, str] | None:
    """(status, node id, message) of one short-summary line; None for SKIPPED [n] location lines."""
    word, _, rest = line.partition(" ")
    if word not in WORDS or not rest or (word == "SKIPPED" and rest.startswith("[")):
        return None
    tid, _, message = rest.partition(" - ")
    return WORDS[word], tid.strip(), message.strip()


def session_lines(lines: list[str]) -> list[str]:
    """The outer session's progress part: from its start to its first report section."""
    start = next((i for i, ln in enumerate(lines) if _START.match(ln.strip())), 0)
    out = []
    for ln in lines[start + 1:]:
        m = _SECTION.match(ln.strip())
        if m and m.group(1).startswith(_REPORT_SECTIONS):
            break
        out.append(ln)
    return out


def collection_message(lines: list[str], target: str) -> tuple[str, str | None]:
    """The error line and the missing module of `ERROR collecting target` (the outer ERRORS section
    comes first, so the first such header is the outer session's)."""
    head = re.compile(rf"^_+ ERROR collecting {re.escape(target)} _+$")
    for i, ln in enumerate(lines):
        if head.match(ln.strip()):
            body = []
            for nxt in lines[i + 1:]:
                if re.match(r"^(_{3,}|={3,}|-{3,}) ", nxt.strip()) or re.match(r"^[=_-]{10,}$", nxt.strip()):
                    break
                body.append(nxt)
            text = "\n".join(body)
            errors = [b.strip()[1:].strip() for b in body if b.startswith("E ")]
            return (errors[-1] if errors else text.strip().split("\n")[-1]), missing_module(text)
    return "", None


def read_pytest_log(output: str, res: Results | None = None) -> Results:
    """Read the console output; with `res` (from JUnit XML) only refine it: xpass (JUnit writes a
    non-strict xpass as a pass) and the missing module of collection errors."""
    lines = _lines(output)
    from_log = res is None
    res = res or Results(runner="pytest", source="log")
    progress = session_lines(lines)
    for ln in progress:
        m = _COLLECTED.match(ln.strip()) or _WORKERS.match(ln.strip())
        if m and res.collected is None:
            res.collected = int(m.group(1))
    entries, final = outer_summary(lines)
    if final is not None:
        res.runner_counts = tally(final)
    if from_log:
        for ln in progress:
            m = _XDIST.match(ln.strip())
            if m:
                _set(res, m.group(2), WORDS[m.group(1)])
                continue
            m = _VERBOSE.match(ln.rstrip())
            if m and "::" in m.group(1) and " " not in m.group(1).split("::", 1)[0]:
                _set(res, m.group(1), WORDS[m.group(2)])
    for ln in entries:
        e = summary_entry(ln.strip())
        if e is None:
            continue
        status, tid, message = e
        if status == ERROR and "::" not in tid:  # a file that could not be collected
            if from_log and not any(c.target == tid for c in res.collection_errors):
                msg, module = collection_message(lines, tid)
                res.collection_errors.append(CollectionError(tid, msg or message, module))
            continue
        if from_log:
            _set(res, tid, status, message)
        elif status == XPASS and tid in res.tests and res.tests[tid].status == PASSED:
            res.tests[tid].status = XPASS
    return res


def paths_in(output: str) -> list[str]:
    """Test file paths the console names (progress lines, node ids): hints for JUnit classnames."""
    found = dict.fromkeys(re.findall(r"(?m)^(?:\[gw\d+\] \[\s*\d+%\] \w+ |[A-Z]+ )?([\w./-]+\.py)(?=::| |$)",
                                     _ANSI.sub("", output)))
    return list(found)
