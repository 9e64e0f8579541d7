"""Test results as table rows: per test its status before and after, and what changed (a new failure,
a fix, a test still failing). Statuses are the harness's (PASSED, FAILED, ERROR, SKIPPED, ...);
anything else is shown as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .read import mapping, strings

BAD = ("FAILED", "ERROR")
MAX_ROWS = 2000
"""Rows shown of one table; the rest is counted."""


@dataclass
class Row:
    test: str
    before: str | None
    after: str | None
    mark: str = ""
    """What changed: `new failure`, `fixed`, `still failing`, `new test` or empty."""
    cls: str = ""
    """CSS class of the mark: bad, good, warn."""


@dataclass
class Table:
    """Rows worth reading first (changed or failing), and the unchanged ones folded."""

    rows: list[Row] = field(default_factory=list)
    same: list[Row] = field(default_factory=list)
    cut: int = 0
    """Rows left out past MAX_ROWS."""
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)


def mark(before: str | None, after: str | None) -> tuple[str, str]:
    """(label, class) of a test whose status went from `before` to `after`."""
    if after in BAD:
        if before == "PASSED":
            return "new failure", "bad"
        if before in BAD:
            return "still failing", "warn"
        return ("new test, failing" if before is None else "failing"), "bad"
    if after == "PASSED" and before in BAD:
        return "fixed", "good"
    if after is not None and before is None:
        return "new test", ""
    if after is None and before is not None:
        return "not run after", ""
    if before != after:
        return "changed", ""
    return "", ""


def _tally(statuses: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses.values():
        out[s] = out.get(s, 0) + 1
    return out


ORDER = {"new failure": 0, "new test, failing": 1, "failing": 1, "still failing": 2, "fixed": 3, "new test": 4,
         "changed": 5, "not run after": 6}


def compare(before: Any, after: Any) -> Table:
    """The table of two {test: status} maps (either may be missing)."""
    b = {k: str(v) for k, v in mapping(before).items()}
    a = {k: str(v) for k, v in mapping(after).items()}
    table = Table(counts_before=_tally(b), counts_after=_tally(a))
    for test in sorted(set(b) | set(a)):
        label, cls = mark(b.get(test), a.get(test)) if a else ("", "")
        row = Row(test, b.get(test), a.get(test), label, cls)
        (table.rows if label else table.same).append(row)
    table.rows.sort(key=lambda r: ORDER.get(r.mark, 9))
    return _cut(table)


def failing_now(failing: Any, before: Any) -> Table:
    """The table of a test step that lists the tests failing after it (their exact status unknown):
    each with its status before, when the baseline is known."""
    b = mapping(before)
    table = Table()
    for test in strings(failing):
        prior = b.get(test) if b else None
        label, cls = mark(prior if b else "?", "FAILED")
        table.rows.append(Row(test, prior if b else None, "failing", label, cls))
    table.rows.sort(key=lambda r: ORDER.get(r.mark, 9))
    return _cut(table)


def graded(report_entry: Any) -> Table:
    """The table of an official report.json entry: FAIL_TO_PASS and PASS_TO_PASS tests (and the others),
    each passing or failing after the patch."""
    status = mapping(mapping(report_entry).get("tests_status"))
    table = Table()
    for group, results in status.items():
        res = mapping(results)
        for test in strings(res.get("failure")):
            should = "PASSED" if group.endswith("_TO_PASS") else "FAILED"
            label = "should pass" if should == "PASSED" else "expected to fail"
            table.rows.append(Row(test, group, "FAILED", label, "bad" if should == "PASSED" else "warn"))
        for test in strings(res.get("success")):
            table.same.append(Row(test, group, "PASSED"))
    return _cut(table)


def _cut(table: Table) -> Table:
    if len(table.rows) > MAX_ROWS:
        table.cut += len(table.rows) - MAX_ROWS
        table.rows = table.rows[:MAX_ROWS]
    room = max(MAX_ROWS - len(table.rows), 0)
    if len(table.same) > room:
        table.cut += len(table.same) - room
        table.same = table.same[:room]
    return table
