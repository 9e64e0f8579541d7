"""The result of one test run, per test: what ran, with which status, and what could not run.

Statuses: passed, failed, error (setup/teardown or an exception outside an assertion where the
runner tells them apart), skipped, xfail (an expected failure), xpass (an unexpected pass that the
runner does not count as a failure). Collection errors (a test file that cannot be imported) are
not tests: they are kept apart, with the missing module when the cause is an ImportError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = "passed", "failed", "error", "skipped", "xfail", "xpass"
STATUSES = (PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS)

_MISSING = re.compile(r"No module named '([\w.]+)'")


def missing_module(text: str) -> str | None:
    """The module an ImportError/ModuleNotFoundError in `text` names (the last one), else None."""
    found = _MISSING.findall(text)
    return found[-1] if found else None


@dataclass
class TestResult:
    """One test's outcome."""

    __test__ = False

    id: str
    """The id the runner takes back: a pytest node id, a dotted unittest id, `path.py::name` for sympy."""
    status: str
    """One of STATUSES."""
    duration: float | None = None
    """Seconds, when the runner reports it."""
    message: str = ""
    """The first line of the failure, error or skip reason."""


@dataclass
class CollectionError:
    """A test file (or module) that could not be collected."""

    target: str
    """The file or dotted module."""
    message: str
    """The error's last line."""
    module: str | None = None
    """The module that could not be imported, for an ImportError/ModuleNotFoundError."""


@dataclass
class Results:
    """What one run of a test command produced, read from the outer session only."""

    runner: str
    """pytest, unittest, django or sympy."""
    source: str
    """Where the per-test statuses come from: `junit` (XML report) or `log` (console output)."""
    tests: dict[str, TestResult] = field(default_factory=dict)
    collection_errors: list[CollectionError] = field(default_factory=list)
    no_results: list[str] = field(default_factory=list)
    """Requested files or labels that yielded no test, no skip and no collection error."""
    timed_out: bool = False
    collected: int | None = None
    """How many tests the runner announced before running (when it says so)."""
    runner_counts: dict[str, int] | None = None
    """The runner's own final tally (status -> count), when the run got that far."""

    def statuses(self) -> dict[str, str]:
        return {t.id: t.status for t in self.tests.values()}

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for t in self.tests.values():
            out[t.status] += 1
        return out

    @property
    def not_run(self) -> int | None:
        """Tests announced but without a result (a cut run), when the announced count is known."""
        if self.collected is None:
            return None
        return max(0, self.collected - len(self.tests))

    def summary(self) -> str:
        """One paragraph for a person or a model: counts, collection errors, silent targets, a cut."""
        c = self.counts()
        parts = [f"{c[PASSED]} passed", f"{c[FAILED]} failed", f"{c[ERROR]} errors", f"{c[SKIPPED]} skipped"]
        parts += [f"{c[s]} {s}" for s in (XFAIL, XPASS) if c[s]]
        lines = [", ".join(parts) + "."]
        for e in self.collection_errors:
            why = f"cannot import {e.module}" if e.module else e.message
            lines.append(f"collection error in {e.target}: {why} (none of its tests ran).")
        for target in self.no_results:
            lines.append(f"{target}: no test result (the runner did not collect or run it).")
        if self.timed_out:
            ran = f"{len(self.tests)} tests finished"
            left = self.not_run
            lines.append(f"the run was cut by its time limit: {ran}"
                         + (f", {left} of {self.collected} announced did not." if left is not None
                            else "; the tests after them did not run."))
        return "\n".join(lines)
