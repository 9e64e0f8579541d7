"""The attack set of the hardening pass: every attack kept as a test (marker `attack`), run and
printed as a table: attack, what must happen (expected), what happened (observed).

    python bench/attacks.py [-k EXPR] [--json FILE] [pytest args...]

An attack test is marked `@pytest.mark.attack("what the attacker or careless user does",
expected="what must happen instead")`. Observed is `contained` when the test passed, the first
line of its failure otherwise, `skipped: reason` when it could not run (Docker attacks fail rather
than skip under PATCHWRIGHT_REQUIRE_DOCKER=1). Exit status: 0 when every attack is contained.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


class Collector:
    """A pytest plugin that records each attack test's marker and outcome."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            mark = item.get_closest_marker("attack")
            if mark is None:
                continue
            what = mark.args[0] if mark.args else (item.function.__doc__ or item.name).strip().splitlines()[0]
            self.rows[item.nodeid] = {"test": item.nodeid, "attack": what,
                                      "expected": mark.kwargs.get("expected", ""), "observed": "not run"}

    def pytest_runtest_logreport(self, report):
        row = self.rows.get(report.nodeid)
        if row is None:
            return
        if report.when == "call" and report.passed:
            row["observed"] = "contained"
        elif report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            row["observed"] = f"skipped: {reason.removeprefix('Skipped: ')}"
        elif report.failed:
            text = getattr(report, "longreprtext", "") or str(report.longrepr)
            lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("E ")]
            first = lines[0][1:].strip() if lines else (text.strip().splitlines() or ["failed"])[-1]
            row["observed"] = f"NOT CONTAINED ({report.when}): {first[:200]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the rows as JSON to this file")
    args, rest = ap.parse_known_args()
    collector = Collector()
    os.chdir(ROOT)
    # run as a script, this file's directory comes first on sys.path, and bench/harness.py would
    # shadow the harness package the tests import
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    pytest.main(["-q", "-m", "attack", "-p", "no:cacheprovider", "--no-header", "-rN", *rest,
                 str(ROOT / "tests")], plugins=[collector])
    rows = list(collector.rows.values())
    width = [max([len(h)] + [min(len(r[k]), 70) for r in rows]) for h, k in
             (("attack", "attack"), ("expected", "expected"))]
    print()
    print(f"{'attack':<{width[0]}}  {'expected':<{width[1]}}  observed")
    for r in rows:
        print(f"{r['attack'][:70]:<{width[0]}}  {r['expected'][:70]:<{width[1]}}  {r['observed']}")
    contained = sum(r["observed"] == "contained" for r in rows)
    print(f"\n{contained} of {len(rows)} attacks contained")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if rows and contained == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
