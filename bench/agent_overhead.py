"""The agent's own cost: time per step spent outside the model, and the size of the first prompt.

A scripted model (answers at once, no network) drives the real graph, tools and workspace on a
sympy checkout taken from a mirror at a SWE-bench Lite instance's base commit (`git archive` into a
temporary directory; the mirror is only read), with that instance's issue:

- the first prompt (localization's, the first model call) and the first prompt of the edit loop,
  in tokens (as the repository map counts them: tiktoken's cl100k when its data is cached, else
  an estimate that errs high);
- the time of each edit step minus the model's time (graph, checkpoint, tools, workspace,
  trajectory): median, p90 and per tool, over a mix of navigation and editing steps.

    python bench/agent_overhead.py --mirrors DIR [--instance sympy__sympy-11400] [--rounds 3]
        [--workspace docker|local]

Targets (issue 5): median step overhead <= 150 ms; first prompt <= 8k tokens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.fix import FixRequest, run_fix  # noqa: E402
from agent.localization import count_tokens, prompt_size  # noqa: E402
from agent.models import ModelClient, ModelTurn, ToolCall  # noqa: E402
from agent.runtime import AgentConfig  # noqa: E402
from agent.testplan import EXIT_CODE, TestPlan  # noqa: E402
from agent.trajectory import read_trajectory  # noqa: E402

TARGET_STEP_MS = 150
TARGET_PROMPT = 8000


class ScriptedModel(ModelClient):
    """Answers from a list of (tool, arguments) steps; records every request's messages and tools."""

    provider = "bench"

    def __init__(self, localize: list[tuple[str, dict]], steps: list[tuple[str, dict]]):
        super().__init__("scripted")
        self.script = [*localize, *steps]
        self.requests: list[tuple[list, list]] = []

    def _complete(self, messages, tools):
        self.requests.append((messages, tools))
        n = len(self.requests)
        if n > len(self.script):
            return ModelTurn(text="Done.", stop_reason="end_turn", cost=0.0)
        name, args = self.script[n - 1]
        return ModelTurn(text="", tool_calls=[ToolCall(f"call-{n}", name, args)], stop_reason="tool_use", cost=0.0)


def steps_for(rounds: int) -> list[tuple[str, dict]]:
    """Navigation and editing steps on sympy (names that exist across its history)."""
    out: list[tuple[str, dict]] = []
    for k in range(rounds):
        helper = f"_bench_helper_{k}"
        out += [
            ("list_dir", {"path": "sympy/core"}),
            ("skeleton", {"path": "sympy/core/basic.py"}),
            ("view_symbol", {"name": "sympy/core/basic.py:Basic.atoms"}),
            ("find_symbol", {"name": "simplify"}),
            ("search", {"pattern": "def _eval_subs", "glob": "sympy/core/*.py"}),
            ("view_file", {"path": "sympy/core/basic.py", "start": 1, "end": 60}),
            ("insert_symbol", {"path": "sympy/core/basic.py", "source": f"def {helper}(x):\n    return x + 1\n"}),
            ("replace_symbol", {"name": f"sympy/core/basic.py:{helper}",
                                "new_source": f"def {helper}(x):\n    return x + 2\n"}),
            ("view_symbol", {"name": f"sympy/core/basic.py:{helper}"}),
            ("str_replace", {"path": "sympy/core/basic.py", "old": f"def {helper}(x):\n    return x + 2\n",
                             "new": f"def {helper}(x):\n    return x + 3\n"}),
            ("create_file", {"path": f".patchwright/scratch_{k}.py", "content": "print('scratch')\n"}),
            ("bash", {"command": f"python .patchwright/scratch_{k}.py"}),
        ]
    return out


def checkout(mirror: Path, commit: str, dest: Path) -> Path:
    """The tree of `commit` from a bare mirror, as a fresh one-commit repository at `dest`."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "--git-dir", str(mirror), "archive", "--format=tar", commit],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    env = ["-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "-C", str(dest), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(dest), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(dest), *env, "commit", "-q", "-m", "base"], check=True)
    return dest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mirrors", default=str(ROOT.parent / "mirrors"), help="directory of bare git mirrors")
    ap.add_argument("--dataset", default=str(ROOT.parent / "shared" / "swebench" / "lite-test.jsonl"))
    ap.add_argument("--instance", default=None, help="a sympy instance id (default: the dataset's first)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the 12-step mix")
    ap.add_argument("--workspace", choices=["docker", "local"], default="docker")
    args = ap.parse_args()

    instances = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    inst = next(i for i in instances if i["repo"] == "sympy/sympy" and args.instance in (None, i["instance_id"]))
    mirror = Path(args.mirrors) / "sympy__sympy"
    gold_files = sorted({line[6:] for line in inst["patch"].splitlines() if line.startswith("+++ b/")})
    with tempfile.TemporaryDirectory(prefix="pw-bench-agent-") as tmp:
        t0 = time.perf_counter()
        repo = checkout(mirror, inst["base_commit"], Path(tmp) / "sympy")
        print(f"{inst['instance_id']}: checkout {time.perf_counter() - t0:.1f} s")
        model = ScriptedModel([("select_files", {"paths": gold_files}), ("select_definitions", {"names": []})],
                              steps_for(args.rounds))
        request = FixRequest(repo=str(repo), issue=inst["problem_statement"], model="bench:scripted",
                             workspace=args.workspace, agent=AgentConfig(baseline_tests=False, final_tests=False))
        plan = TestPlan("true", EXIT_CODE, False, 60)
        t0 = time.perf_counter()
        if args.workspace == "docker":
            from sandbox.docker_workspace import DockerWorkspace
            from sandbox.images import ensure_base_image

            ws = DockerWorkspace(ensure_base_image("3.11"), repo)
        else:
            from sandbox.workspace import LocalWorkspace

            ws = LocalWorkspace(repo)
        with ws:
            print(f"workspace ({args.workspace}) ready in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            outcome = run_fix(request, ws, Path(tmp) / "run", model=model, plan=plan)
            total = time.perf_counter() - t0
        steps = read_trajectory(Path(tmp) / "run" / "trajectory.jsonl")

    first = prompt_size(*model.requests[0])
    first_edit = prompt_size(*model.requests[2])
    print(f"\nfirst prompt (localization, files): {first} tokens   (target <= {TARGET_PROMPT})")
    print(f"first prompt of the edit loop:       {first_edit} tokens   (target <= {TARGET_PROMPT})")
    messages, tools = model.requests[2]
    parts = {"system": count_tokens(messages[0].content), "repository context": count_tokens(messages[1].content),
             "issue": count_tokens(messages[2].content),
             f"{len(tools)} tool schemas": count_tokens(json.dumps([t.openai_schema() for t in tools]))}
    print("  " + ", ".join(f"{k} {v}" for k, v in parts.items()))

    edits = [s for s in steps if s.node == "edit"]
    prev = {s.step: s for s in steps}
    per_step, by_tool = [], {}
    parts: dict[str, list[float]] = {"tools": [], "diff": [], "graph, checkpoint, trajectory": []}
    for s in edits:
        before = prev.get(s.step - 1)
        if before is None:
            continue
        model_time = (s.response or {}).get("duration", 0.0)
        overhead = (s.elapsed - before.elapsed - model_time) * 1000
        tool = ((s.response or {}).get("tool_calls") or [{"name": "(final answer)"}])[0]["name"]
        per_step.append(overhead)
        t = s.data.get("timings", {})
        by_tool.setdefault(tool, []).append((overhead, t.get("tools", 0) * 1000, t.get("diff", 0) * 1000))
        parts["tools"].append(t.get("tools", 0) * 1000)
        parts["diff"].append(t.get("diff", 0) * 1000)
        parts["graph, checkpoint, trajectory"].append(overhead - (t.get("tools", 0) + t.get("diff", 0)) * 1000)
    ordered = sorted(per_step)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    print(f"\nedit steps: {len(per_step)}, run {total:.1f} s in all (index and localization included), "
          f"status {outcome.status}")
    print(f"overhead per step: median {statistics.median(per_step):.0f} ms   (target <= {TARGET_STEP_MS} ms), "
          f"p90 {p90:.0f} ms, max {ordered[-1]:.0f} ms")
    print("  where it goes (median per step): " + ", ".join(
        f"{k} {statistics.median(v):.0f} ms" for k, v in parts.items()))
    print("  by the step's tool (median of the whole step outside the model; of it, the tool and the diff):")
    for tool, xs in sorted(by_tool.items(), key=lambda kv: statistics.median(x[0] for x in kv[1])):
        whole, tools, diff = (statistics.median(x[k] for x in xs) for k in range(3))
        print(f"    {tool:<16} {whole:6.0f} ms  (tool {tools:.0f}, diff {diff:.0f}; {len(xs)} steps)")
    index = next((s for s in steps if s.node == "index"), None)
    localize = [s for s in steps if s.node == "localize"]
    if index is not None:
        print(f"index node: {index.duration:.1f} s; localize node: {sum(s.duration or 0 for s in localize):.1f} s "
              "(once per run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
