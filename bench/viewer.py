"""The viewer's pages: render time and size of a run's page for 100 and 1,000 steps, and how long
headless Chromium takes to load and lay it out.

    python bench/viewer.py [--steps 100 1000] [--rounds 3]

The runs are synthetic (tests/view_synthetic.py: real-sized model turns, tool answers of a few
kilobytes, edits that change the patch, test runs), written by the agent's own TrajectoryWriter.
Prints, per size: the Python render time (`patchwright view`'s work, median), the page's size, the
browser's time from navigation to the load event and to a laid-out first screen, and the time to jump
to the last step and lay it out (steps are laid out when scrolled to; medians; Chromium warmed up on
a first page). Targets (issue 17): a 1,000-step page renders in the browser in under 2 s and weighs
under 5 MB. Needs Chromium and chromedriver (scripts/setup.sh installs them as root on Debian).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser, find  # noqa: E402
from patchwright.view import render_run  # noqa: E402
from view_synthetic import write_run  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_BYTES = 5_000_000
TARGET_STEPS = 1000

LAID_OUT = ("document.body.getBoundingClientRect();"
            "return [performance.getEntriesByType('navigation')[0].loadEventEnd / 1000, performance.now() / 1000];")
"""Seconds from the start of the navigation to its load event, and to now, after a forced layout (an
upper bound: it includes the driver's round trip after the load)."""
TO_LAST = ("var t = performance.now(), steps = document.querySelectorAll('article.step');"
           "steps[steps.length - 1].scrollIntoView(); document.body.getBoundingClientRect();"
           "return (performance.now() - t) / 1000;")
"""Seconds to jump to the last step and lay it out (steps are laid out when scrolled to)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[100, TARGET_STEPS])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    found = find()
    if isinstance(found, str):
        sys.exit(f"bench/viewer.py: {found}")
    browser = Browser(*found)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="patchwright-bench-viewer-") as tmp:
            warm = Path(tmp) / "warm.html"
            warm.write_text(render_run(write_run(Path(tmp) / "warm", 20)))
            browser.open(warm)
            for n in args.steps:
                run_dir = write_run(Path(tmp) / f"run-{n}", n)
                renders, html = [], ""
                for _ in range(args.rounds):
                    t = time.perf_counter()
                    html = render_run(run_dir)
                    renders.append(time.perf_counter() - t)
                page = Path(tmp) / f"page-{n}.html"
                page.write_text(html, encoding="utf-8")
                loads, laid, jumps = [], [], []
                for _ in range(args.rounds):
                    browser.open(page)
                    load, done = browser.js(LAID_OUT)
                    loads.append(load)
                    laid.append(done)
                    jumps.append(browser.js(TO_LAST))
                    if browser.console_errors():
                        sys.exit(f"bench/viewer.py: the {n}-step page logged errors: {browser.console_errors()}")
                rows.append((n, statistics.median(renders), page.stat().st_size, statistics.median(loads),
                             statistics.median(laid), statistics.median(jumps)))
    finally:
        browser.close()

    print(f"{'steps':>6}  {'render (python)':>15}  {'page size':>10}  {'browser: load event':>19}  "
          f"{'laid out':>8}  {'to the last step':>16}  target")
    for n, render, size, load, laid, jump in rows:
        target = ""
        if n == TARGET_STEPS:
            ok = laid + jump < TARGET_SECONDS and size < TARGET_BYTES
            target = (f"laid out + last step < {TARGET_SECONDS:.0f} s, < {TARGET_BYTES / 1e6:.0f} MB: "
                      f"{'met' if ok else 'NOT met'}")
        print(f"{n:>6}  {render:>13.2f} s  {size / 1e6:>7.2f} MB  {load:>17.2f} s  {laid:>6.2f} s  {jump:>14.2f} s  "
              f"{target}")


if __name__ == "__main__":
    main()
