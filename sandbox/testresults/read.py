"""The entry point: a run's output (and its JUnit XML report, when there is one) -> `Results`.

pytest: the JUnit XML report is the source of the statuses (`--junitxml=PATH`; the outer
session writes it, so inner sessions never count), refined by the console's outer summary (xpass);
without a report (a cut run: pytest writes it at the end) the console's outer session is read.
unittest and Django: their verbose output (`-v`, `-v 2`). sympy: `bin/test --verbose` and
`bin/doctest --verbose`. Any other runner's JUnit XML reads as `junit`. A requested target (file, node id, dotted label) that yields
no test, skip or collection error is listed in `no_results`: it never counts as passed.
"""

from __future__ import annotations

from .junit import read_junit
from .model import Results
from .pytest_log import paths_in, read_pytest_log
from .sympy_log import read_sympy_log
from .unittest_log import read_unittest_log

RUNNERS = ("pytest", "unittest", "django", "sympy", "junit")


def _dotted(target: str) -> str:
    return target.removesuffix(".py").replace("/", ".") if target.endswith(".py") else target


def yields(target: str, test_id: str, runner: str) -> bool:
    """Whether `test_id` belongs to the requested `target`."""
    if runner in ("unittest", "django"):
        dotted = _dotted(target)
        return test_id == dotted or test_id.startswith(dotted + ".") or dotted.endswith("." + test_id)
    target = target.rstrip("/")
    return test_id == target or test_id.startswith((target + "::", target + "[", target + "/"))


def read_results(runner: str, output: str, *, junit: str | None = None, requested: list[str] | tuple = (),
                 timed_out: bool = False) -> Results:
    """Per-test results of one run of `runner`. `junit` is the report's text when the run wrote
    one; `requested` the files, ids or labels the command was given."""
    if runner not in RUNNERS:
        raise ValueError(f"unknown test runner {runner!r} (known: {', '.join(RUNNERS)})")
    if runner == "pytest":
        res = None
        if junit:
            try:
                res = read_junit(junit, "pytest", [*requested, *paths_in(output)])
            except ValueError:
                res = None  # a half-written report: read the console
        res = read_pytest_log(output, res)
    elif runner == "junit":
        res = read_junit(junit or "", "junit")
    elif runner == "sympy":
        res = read_sympy_log(output, requested)
    else:
        res = read_unittest_log(output, runner)
    res.timed_out = timed_out
    found = [*res.tests, *(e.target for e in res.collection_errors)]
    res.no_results = [t for t in requested if not any(yields(t, f, runner) or yields(f, t, runner) for f in found)]
    return res
