"""Per-test agreement with the hand-checked corpus (tests/fixtures/test_results/), side by side:
the harness's SWE-bench grading log parsers (kept as they are, for grading parity) and the
agent's structured-results readers (sandbox.testresults: JUnit XML first, outer session only).

    python bench/testresults.py

For each recorded run: how many of its tests each reader gives the hand-checked status, and how
many test names it reports that the run's outer session does not have ("extra": inner sessions'
tests, printed lines). The grading parsers name tests as SWE-bench does (django `name (id)`,
sympy the bare function name); statuses map to theirs (xpass -> PASSED: SWE-bench has no xpass).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.log_parsers import get_parser  # noqa: E402
from sandbox.testresults import read_results  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "test_results"
GRADING = {"pytest": "pytest", "unittest": "unittest", "django": "django", "sympy": "sympy"}
TO_GRADING = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED", "xfail": "XFAIL",
              "xpass": "PASSED"}


def grading_name(runner: str, test_id: str) -> str:
    if runner == "django":
        return f"{test_id.rsplit('.', 1)[1]} ({test_id})"
    if runner == "sympy":
        return test_id.split("::", 1)[1]
    return test_id


def main() -> int:
    rows, totals = [], [0, 0, 0, 0, 0]
    for d in sorted(p for p in CORPUS.iterdir() if (p / "expected.json").exists()):
        exp = json.loads((d / "expected.json").read_text())
        meta = json.loads((d / "meta.json").read_text())
        log = (d / "output.log").read_text(encoding="utf-8")
        junit = d / "junit.xml"
        runner, tests = exp["runner"], exp["tests"]
        graded = get_parser(GRADING[runner])(log)
        names = {grading_name(runner, t): s for t, s in tests.items()}
        g_ok = sum(graded.get(n) == TO_GRADING[s] for n, s in names.items())
        g_extra = sum(n not in names for n in graded)
        res = read_results(runner, log, junit=junit.read_text(encoding="utf-8") if junit.exists() else None,
                           requested=exp["requested"], timed_out=meta["timed_out"])
        got = res.statuses()
        n_ok = sum(got.get(t) == s for t, s in tests.items())
        n_extra = sum(t not in tests for t in got)
        rows.append((d.name, runner, len(tests), g_ok, g_extra, n_ok, n_extra))
        for i, v in enumerate((len(tests), g_ok, g_extra, n_ok, n_extra)):
            totals[i] += v
    print(f"{'recorded run':28} {'runner':9} {'tests':>5}   {'grading parsers':>17}   {'structured results':>18}")
    print(f"{'':28} {'':9} {'':>5}   {'agree':>8} {'extra':>8}   {'agree':>9} {'extra':>8}")
    for name, runner, n, g_ok, g_extra, n_ok, n_extra in rows:
        print(f"{name:28} {runner:9} {n:5}   {g_ok:8} {g_extra:8}   {n_ok:9} {n_extra:8}")
    n, g_ok, g_extra, n_ok, n_extra = totals
    print(f"{'total (' + str(len(rows)) + ' runs)':28} {'':9} {n:5}   {g_ok:8} {g_extra:8}   {n_ok:9} {n_extra:8}")
    print(f"agreement: grading parsers {100 * g_ok / n:.1f}% ({g_extra} extra names), "
          f"structured results {100 * n_ok / n:.1f}% ({n_extra} extra names)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
