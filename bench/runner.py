"""Batch-run wall time: `patchwright run --dataset builtin --model oracle --eval` on the process pool
with 1 and 2 workers and on a local Ray instance, images already built.

    python bench/runner.py [--configs local:1 local:2 ray:2] [--rounds 1]

Each configuration runs the real command in a subprocess (interpreter start, Ray's start and stop
included) into a fresh run directory. Prints wall time, instances per minute, the median time per
instance on its worker and the machine's load average before and after (the machine may be shared).
Anchor (issue: batch runs): where Ray costs more than the pool, by how much.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.images import ensure_instance_image  # noqa: E402
from harness.instance import load_instances  # noqa: E402


def run_once(executor: str, workers: int) -> tuple[float, dict, list[float]]:
    with tempfile.TemporaryDirectory(prefix="pw-bench-run-") as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "patchwright", "run", "--dataset", "builtin", "--model", "oracle", "--eval",
               "--workers", str(workers), "--executor", executor, "--out", str(out), "--json"]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(f"{executor}:{workers} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        summary = json.loads(proc.stdout)
        per = [json.loads((out / i / "result.json").read_text())["elapsed"] for i in summary["ran"]]
        return wall, summary, per


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["local:1", "local:2", "ray:2"],
                    help="EXECUTOR:WORKERS, e.g. local:2 or ray:2")
    ap.add_argument("--rounds", type=int, default=1, help="runs per configuration (median wall time shown)")
    args = ap.parse_args()

    instances = load_instances("builtin")
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        built = [b for img in pool.map(ensure_instance_image, instances) for b in img.built]
    print(f"images: {len(instances)} ready, {len(built)} built now, {time.perf_counter() - t:.1f} s; "
          f"{os.cpu_count()} CPU(s)")
    print(f"\n{'config':>8} {'resolved':>8} {'wall s':>7} {'inst/min':>8} {'per-inst med s':>14}   load avg before -> after")
    walls: dict[str, float] = {}
    for config in args.configs:
        executor, _, workers = config.partition(":")
        runs = []
        for _ in range(args.rounds):
            load = os.getloadavg()[0]
            wall, summary, per = run_once(executor, int(workers or 1))
            runs.append((wall, summary, per, load, os.getloadavg()[0]))
        wall = statistics.median(r[0] for r in runs)
        walls[config] = wall
        summary, per = runs[-1][1], [p for r in runs for p in r[2]]
        n = summary["selected"]
        print(f"{config:>8} {summary['resolved']:>4}/{n:<3} {wall:>7.1f} {60 * n / wall:>8.1f} "
              f"{statistics.median(per):>14.1f}   " + ", ".join(f"{r[3]:.2f} -> {r[4]:.2f}" for r in runs))
    for config, wall in walls.items():
        executor, _, workers = config.partition(":")
        pool = walls.get(f"local:{workers}")
        if executor == "ray" and pool:
            print(f"\n{config} vs local:{workers}: {wall - pool:+.1f} s ({100 * (wall - pool) / pool:+.0f}%)")


if __name__ == "__main__":
    main()
