"""Harness throughput: the built-in suite with gold patches, 1 and 2 workers, images already built.

    python bench/harness.py [--workers 1 2] [--rounds 1]

Prints wall time and instances per minute for each worker count, and the per-instance overhead
outside the tests themselves (image lookup, container start, patch application, test patch,
container removal) with its phases. Anchor (issue: harness): overhead median <= 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.evaluation import EvalOptions, evaluate  # noqa: E402
from harness.instance import load_instances, synthetic_predictions  # noqa: E402

TARGET_OVERHEAD = 2.0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rounds", type=int, default=1, help="runs per worker count (their numbers are pooled)")
    args = ap.parse_args()

    instances = load_instances("builtin")
    preds = synthetic_predictions(instances, "gold")
    t = time.perf_counter()
    warm = evaluate(instances, preds, EvalOptions(), workers=2)  # builds missing images; not measured
    print(f"warm-up: {sum(o.status == 'resolved' for o in warm)}/{len(warm)} resolved, "
          f"{len({i for o in warm for i in o.images_built})} image(s) built, {time.perf_counter() - t:.1f} s")
    if any(o.status != "resolved" for o in warm):
        sys.exit("warm-up did not resolve every task: " + ", ".join(f"{o.instance_id}={o.status} {o.error}"
                                                                     for o in warm if o.status != "resolved"))

    print(f"\n{'workers':>7} {'instances':>9} {'wall s':>7} {'inst/min':>8} {'overhead med':>12} {'p90':>6} "
          f"{'tests med':>9}   phases (median s): image start patch test_patch stop")
    for w in args.workers:
        outs, walls = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            outs += evaluate(instances, preds, EvalOptions(), workers=w)
            walls.append(time.perf_counter() - t)
        over = [o.durations["overhead"] for o in outs]
        tests = [o.durations["tests"] for o in outs]
        phase = {k: statistics.median(o.durations.get(k, 0.0) for o in outs) for k in ("image", "start", "patch", "test_patch", "stop")}
        wall = statistics.median(walls)
        print(f"{w:>7} {len(instances):>9} {wall:>7.1f} {60 * len(instances) / wall:>8.1f} "
              f"{statistics.median(over):>12.2f} {pct(over, 0.9):>6.2f} {statistics.median(tests):>9.2f}   "
              + " ".join(f"{v:.2f}" for v in phase.values()))
        bad = [o.instance_id for o in outs if o.status != "resolved"]
        if bad:
            print(f"        not resolved: {', '.join(bad)}")
    print(f"\nanchor: per-instance overhead median <= {TARGET_OVERHEAD:.0f} s")


if __name__ == "__main__":
    main()
