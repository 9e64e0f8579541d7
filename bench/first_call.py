"""Time from start to the first model call, and the whole wall time, of the oracle on SWE-bench
instances (`patchwright run --model oracle`), read from each instance's trajectory.

    python bench/first_call.py --dataset LITE.jsonl --instances sympy__sympy-15345 --mirrors DIR

Anchor: the first model call within 60 s of the start on a sympy instance with its spec (it was
30 minutes and more while the index node ran the whole suite first). Images are built beforehand
(`patchwright images build`), so the numbers are the agent's, not the build's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--instances", required=True, help="comma-separated ids")
    ap.add_argument("--mirrors", default=None)
    ap.add_argument("--eval", action="store_true", help="grade the patches too (not part of the agent's time)")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="pw-first-call-"))
    cmd = [sys.executable, "-m", "patchwright", "run", "--dataset", args.dataset, "--instances", args.instances,
           "--model", "oracle", "--out", str(out), "--offline"]
    if args.mirrors:
        cmd += ["--mirrors", args.mirrors]
    if args.eval:
        cmd.append("--eval")
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    print(f"command exit {proc.returncode}; wall time of the batch {wall:.1f} s")
    for iid in args.instances.split(","):
        steps = [json.loads(line) for line in (out / iid / "trajectory.jsonl").read_text().splitlines() if line.strip()]
        first = next((s for s in steps if s.get("request")), None)
        tests = [s for s in steps if s["node"] in ("test", "submit")]
        summary = json.loads((out / iid / "summary.json").read_text()) if (out / iid / "summary.json").exists() else {}
        print(f"{iid}: first model call at {first['elapsed'] if first else float('nan'):.1f} s after the start "
              f"(anchor <= 60 s); agent ran {steps[-1]['elapsed']:.1f} s; status {summary.get('status')}; "
              f"test steps: " + ", ".join(f"{s['node']} {s.get('duration') or 0:.1f} s" for s in tests))
    report = out / "summary.json"
    if report.exists():
        s = json.loads(report.read_text())
        print("batch:", {k: s[k] for k in ("resolved", "finished") if k in s})
    print(f"(run directory: {out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
