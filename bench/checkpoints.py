"""How the run directory's checkpoint storage grows with the steps of a run.

A scripted model (no network) drives the real graph, tools and a local workspace on a small
repository with a long issue. Every edit step runs `bash` printing OBS characters (the bash tool
keeps 10,000 of them), so the conversation grows by about that much per step. For each step count
the run's checkpoint storage is measured: checkpoints.sqlite, plus conversation.jsonl where the run
keeps its conversation.

    python bench/checkpoints.py [--steps 5,10,20,40] [--issue-kb 200] [--obs-kb 20]

Target (issue 12): storage linear in the steps; the column `per step` (bytes added per step since
the previous row) stays flat instead of growing with the steps.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.budget import BudgetLimits  # noqa: E402
from agent.fix import FixRequest, run_fix  # noqa: E402
from agent.models import ModelClient, ModelTurn, ToolCall  # noqa: E402
from agent.runtime import AgentConfig  # noqa: E402
from sandbox.workspace import LocalWorkspace  # noqa: E402

STORAGE = ("checkpoints.sqlite", "checkpoints.sqlite-wal", "conversation.jsonl")


class ScriptedModel(ModelClient):
    """Localizes, then runs `steps` bash calls that print `obs` characters each, then stops."""

    provider = "bench"

    def __init__(self, steps: int, obs: int):
        super().__init__("scripted")
        self.steps, self.obs, self.n = steps, obs, 0

    def _complete(self, messages, tools):
        self.n += 1
        if self.n == 1:
            return ModelTurn("", [ToolCall("c1", "select_files", {"paths": ["pkg/core.py"]})], cost=0.0)
        if self.n == 2:
            return ModelTurn("", [ToolCall("c2", "select_definitions", {"names": ["pkg/core.py:add"]})], cost=0.0)
        if self.n - 2 <= self.steps:
            cmd = f"python3 -c \"print('{self.n % 10}' * {self.obs})\""
            return ModelTurn("Looking.", [ToolCall(f"c{self.n}", "bash", {"command": cmd})], cost=0.0)
        return ModelTurn("Done.", cost=0.0)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pkg").mkdir()
    (path / "pkg" / "__init__.py").write_text("")
    (path / "pkg" / "core.py").write_text("def add(a, b):\n    return a + b\n")
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-C", str(path), *args], check=True, env=env, capture_output=True)
    return path


def measure(steps: int, issue_kb: int, obs_kb: int, tmp: Path) -> int:
    repo = make_repo(tmp / f"repo-{steps}")
    run_dir = tmp / f"run-{steps}"
    issue = "add() is wrong. " + "Details follow. " * (issue_kb * 1024 // 16)
    request = FixRequest(repo=str(repo), issue=issue, model="bench", workspace="local",
                         limits=BudgetLimits(max_steps=steps + 10),
                         agent=AgentConfig(baseline_tests=False, final_tests=False, max_review_rounds=0))
    with LocalWorkspace(repo) as ws:
        run_fix(request, ws, run_dir, model=ScriptedModel(steps, obs_kb * 1024))
    return sum((run_dir / name).stat().st_size for name in STORAGE if (run_dir / name).exists())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="5,10,20,40", help="edit steps per run, comma-separated")
    ap.add_argument("--issue-kb", type=int, default=200, help="size of the issue (KiB)")
    ap.add_argument("--obs-kb", type=int, default=20, help="size of each step's observation (KiB)")
    args = ap.parse_args()
    counts = [int(s) for s in args.steps.split(",")]
    print(f"issue {args.issue_kb} KiB, a command printing {args.obs_kb} KiB per step (10,000 characters kept)")
    print(f"{'steps':>6} {'storage (bytes)':>16} {'per step':>12}")
    with tempfile.TemporaryDirectory(prefix="patchwright-bench-ckpt-") as tmp:
        prev = None
        for n in counts:
            size = measure(n, args.issue_kb, args.obs_kb, Path(tmp))
            per = "" if prev is None else f"{(size - prev[1]) / (n - prev[0]):,.0f}"
            print(f"{n:>6} {size:>16,} {per:>12}", flush=True)
            prev = (n, size)


if __name__ == "__main__":
    main()
