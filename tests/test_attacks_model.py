"""Attacks on the model loop (issue 12): a server that never finishes an answer, usage that cannot be
right, huge issues, answers and observations, a turn with thousands of tool calls, checkpoints that
grow with the square of the steps, and a model that reads the process's secrets and writes them out
encoded. Every model here is the real openai or anthropic SDK client talking to tests/stub_llm.py on
127.0.0.1, or a replay cassette; the workspace is a real LocalWorkspace."""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from pathlib import Path

import pytest

from agent.budget import BudgetLimits
from agent.events import ToolCalled
from agent.fix import FixRequest, run_fix
from agent.models import Message, ModelError, make_model
from agent.models.retry import RetryPolicy
from agent.runtime import AgentConfig
from agent.trajectory import read_trajectory
from conftest import make_repo, run_cli
from sandbox.workspace import LocalWorkspace

FAST = AgentConfig(localize=False, baseline_tests=False, final_tests=False, max_review_rounds=0)
STORAGE = ("checkpoints.sqlite", "conversation.jsonl")


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/core.py": "def add(a, b):\n    return a - b\n",
                                         ".gitignore": "__pycache__/\n"})


def client(stub, api: str, **options):
    """The real SDK client of `api` pointed at the stub."""
    if api == "openai":
        return make_model(f"openai:gpt-4o@{stub.openai_url}", **options)
    return make_model(f"anthropic:claude-sonnet-4-5@{stub.anthropic_url}", api_key="test-key", **options)


def fix(repo: Path, run_dir: Path, model, *, issue: str = "add() subtracts.", agent: AgentConfig = FAST,
        **limits):
    request = FixRequest(repo=str(repo), issue=issue, model="scripted", workspace="local", agent=agent,
                         limits=BudgetLimits(**{"max_steps": 50, **limits}))
    with LocalWorkspace(repo) as ws:
        return run_fix(request, ws, run_dir, model=model)


def storage(run_dir: Path) -> int:
    return sum((run_dir / n).stat().st_size for n in STORAGE if (run_dir / n).exists())


def cassette(path: Path, turns: list[dict]) -> str:
    path.write_text("".join(json.dumps(t) + "\n" for t in turns))
    return f"replay:{path}"


# -- a model call that never ends -------------------------------------------------------------------

@pytest.mark.attack("a server sends the headers, then one byte every 0.5 s (the timeout is 2 s)",
                    expected="the request is abandoned at 2 s of wall time")
@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_a_trickling_server_cannot_hold_a_call_past_its_timeout(stub_llm, api):
    stub_llm.reply("slow", trickle=0.5, trickle_for=20)
    model = client(stub_llm, api, timeout=2, retry=RetryPolicy(max_attempts=1))
    start = time.monotonic()
    with pytest.raises(ModelError, match="no answer within the 2 s timeout"):
        model.complete([Message.user("hi")])
    assert time.monotonic() - start < 4


@pytest.mark.attack("fix --max-time 3 while the server trickles its first answer for 20 s",
                    expected="the run ends at the time budget with status budget_exhausted")
@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_max_time_holds_during_a_model_call(stub_llm, api, repo, tmp_path):
    stub_llm.reply("slow", trickle=0.5, trickle_for=20)
    start = time.monotonic()
    out = fix(repo, tmp_path / "run", client(stub_llm, api), max_time=3)  # the per-call timeout stays 300 s
    took = time.monotonic() - start
    assert out.status == "budget_exhausted" and "time budget exhausted" in out.message, out.message
    assert took < 8, took


# -- tool calls -------------------------------------------------------------------------------------

@pytest.mark.attack("one model turn asks for 2,000 tool calls", expected="20 run; the others get a note, not run")
def test_one_turn_with_2000_tool_calls_runs_at_most_the_cap(repo, tmp_path):
    calls = [{"name": "bash", "arguments": {"command": f"echo call-{i}"}} for i in range(2000)]
    model = make_model(cassette(tmp_path / "c.jsonl", [{"text": "", "tool_calls": calls}, {"text": "Done."}]))
    ran: list[str] = []
    request = FixRequest(repo=str(repo), issue="add() subtracts.", model="replay", workspace="local", agent=FAST)
    with LocalWorkspace(repo) as ws:
        run_fix(request, ws, tmp_path / "run", model=model,
                progress=lambda event: ran.append(event.arguments["command"]) if isinstance(event, ToolCalled) else None)
    assert ran == [f"echo call-{i}" for i in range(20)]
    (step,) = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit" and s.response
               and s.response["tool_calls"]]
    assert len(step.observations) == 2000 and step.data["not_run"] == 1980
    assert "call-19" in step.observations[19].output
    assert step.observations[20].is_error and step.observations[20].output == (
        "Not run: this turn asked for 2000 tool calls and at most 20 are run per turn.")


@pytest.mark.attack("fix --max-time 2, and one turn asks for 20 commands of 0.5 s each",
                    expected="no tool call starts after the time budget; the run ends near 2 s")
def test_max_time_holds_between_tool_calls(repo, tmp_path):
    calls = [{"name": "bash", "arguments": {"command": "sleep 0.5"}} for _ in range(20)]
    model = make_model(cassette(tmp_path / "c.jsonl", [{"text": "", "tool_calls": calls}, {"text": "Done."}]))
    start = time.monotonic()
    out = fix(repo, tmp_path / "run", model, max_time=2)
    took = time.monotonic() - start
    assert out.status == "budget_exhausted" and "time budget exhausted" in out.message
    assert took < 4.5, took
    (step,) = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit"]
    assert 1 <= 20 - step.data["not_run"] <= 5
    assert step.observations[-1].output.startswith("Not run: time budget exhausted")


# -- usage a server reports -------------------------------------------------------------------------

@pytest.mark.attack("the server reports negative and absurd token usage",
                    expected="each bad field is replaced by an estimate, with a warning in the trajectory")
@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_negative_or_absurd_usage_is_replaced_and_warned_about(stub_llm, api, repo, tmp_path):
    stub_llm.reply("", calls=[("bash", {"command": "true"})],
                   usage={"input_tokens": 500, "output_tokens": -10_000_000, "cache_read_tokens": 10**15})
    stub_llm.reply("Done.", usage={"input_tokens": 400, "output_tokens": 7})
    out = fix(repo, tmp_path / "run", client(stub_llm, api), max_tokens=100_000)
    first = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit"][0]
    assert 0 < first.usage["output_tokens"] < 1000 and first.usage["cache_read_tokens"] == 0
    assert 0 < first.usage["input_tokens"] <= 100_000
    warnings = first.response["warnings"]
    assert any("output_tokens=-10000000" in w for w in warnings) and any("cache_read_tokens" in w for w in warnings)
    assert 0 < out.tokens < 100_000 and out.status != "budget_exhausted"


# -- sizes ------------------------------------------------------------------------------------------

@pytest.mark.attack("a 5 MB issue", expected="the agent reads 64 KiB of it, with a note at the cut; checkpoints stay small")
def test_a_huge_issue_is_cut_with_a_note(stub_llm, repo, tmp_path):
    for _ in range(4):
        stub_llm.reply("", calls=[("bash", {"command": "true"})])
    stub_llm.reply("Done.")
    issue = "add() subtracts. " + "Details. " * (5_000_000 // 9) + "THE END"
    fix(repo, tmp_path / "run", client(stub_llm, "openai"), issue=issue)
    prompt = stub_llm.bodies()[0]["messages"][1]["content"]
    assert "characters of this issue cut here (at most 65536 are shown)" in prompt
    assert "add() subtracts." in prompt and "THE END" in prompt and len(prompt) < 70_000
    (step,) = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "issue"]
    assert step.data["chars"] == len(issue) and step.data["cut"] > 4_900_000
    assert storage(tmp_path / "run") < 2_000_000


@pytest.mark.attack("the model answers three times with 3 MB of text and a 3 MB tool call",
                    expected="each answer is cut to 500,000 characters with a note; the call is not run")
def test_huge_model_answers_are_cut(stub_llm, repo, tmp_path):
    for i in range(3):
        stub_llm.reply("x" * 3_000_000, calls=[("create_file", {"path": f"big{i}.py", "content": "#" * 3_000_000})])
    stub_llm.reply("Done.")
    fix(repo, tmp_path / "run", client(stub_llm, "openai"))
    later = stub_llm.bodies()[1]["messages"]
    answer, result = later[-2], later[-1]
    assert len(answer["content"]) < 510_000 and "[... patchwright: the answer was cut here" in answer["content"]
    assert "more than the 500000 an answer may hold; the call was not run" in result["content"]
    steps = [s for s in read_trajectory(tmp_path / "run" / "trajectory.jsonl") if s.node == "edit"]
    assert any("kept the first 500000" in w for w in steps[0].response["warnings"])
    assert "big0.py" not in (tmp_path / "run" / "patch.diff").read_text()  # the call did not run
    total = sum(p.stat().st_size for p in (tmp_path / "run").iterdir())
    assert total < 12_000_000, total


@pytest.mark.attack("a long run: 10, 20 and 40 steps that each read 10 KB",
                    expected="checkpoint storage grows by about one observation per step, not by the whole past")
def test_checkpoint_storage_grows_linearly_with_the_steps(tmp_path):
    data = "".join(f"row {i:03d} {'.' * 40}\n" for i in range(200))  # 10 KB as view_file shows it
    repo = make_repo(tmp_path / "repo", {"data.txt": data, "pkg/__init__.py": ""})
    sizes = {}
    for steps in (10, 20, 40):
        turns = [{"text": f"Step {i}.", "tool_calls": [{"name": "view_file", "arguments": {"path": "data.txt"}}]}
                 for i in range(steps)] + [{"text": "Done."}]
        model = make_model(cassette(tmp_path / f"c{steps}.jsonl", turns))
        fix(repo, tmp_path / f"run{steps}", model)
        sizes[steps] = storage(tmp_path / f"run{steps}")
    early, late = (sizes[20] - sizes[10]) / 10, (sizes[40] - sizes[20]) / 20
    assert late < 1.2 * early, sizes  # flat per step (it doubles per doubling when quadratic)
    assert late < 25_000 and sizes[40] < 1_500_000, sizes


# -- secrets -----------------------------------------------------------------------------------------

SECRET = "sk-live-FAKEsecret0123456789abcdefXYZ"
LEAK = ("mkdir -p .patchwright; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null | grep -a '^DEPLOY_API_KEY=' "
        "| head -1 | cut -d= -f2- > .patchwright/k; cat .patchwright/k; rev .patchwright/k; base64 .patchwright/k; "
        "python3 -c \"import sys; print(open('.patchwright/k').read().strip().encode().hex())\"; "
        "rev .patchwright/k > leak.txt")


def secret_forms(secret: str) -> list[str]:
    """What the tests look for: the secret, reversed, base64 at three offsets, hex."""
    out = [secret, secret[::-1], secret.encode().hex()]
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret.encode()).decode()
        out.append(enc[4 if k else 0: 4 * ((k + len(secret)) // 3)])
    return out


@pytest.mark.attack("in a local workspace the model reads the process's environment from /proc and writes the API "
                    "key out: as is, reversed, base64, hex, and reversed into a file",
                    expected="no form of the key in what the model sees, the trajectory, the conversation, the "
                             "checkpoints, summary.json, patch.diff or the command's output")
def test_a_secret_read_from_proc_is_scrubbed_from_everything_written(stub_llm, repo, tmp_path):
    stub_llm.reply("", calls=[("select_files", {"paths": ["pkg/core.py"]})])  # the real pipeline localizes first
    stub_llm.reply("", calls=[("select_definitions", {"names": ["pkg/core.py:add"]})])
    stub_llm.reply("", calls=[("bash", {"command": LEAK})])
    stub_llm.reply("", calls=[("bash", {"command": "cat leak.txt"})])
    stub_llm.reply(f"Done. (The key, reversed, is {SECRET[::-1]}.)")  # as if it had decoded it itself
    out = tmp_path / "run"
    env = {"DEPLOY_API_KEY": SECRET, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    proc = run_cli("fix", str(repo), "--issue", "add() subtracts.", "--model", f"openai:gpt-4o@{stub_llm.openai_url}",
                   "--workspace", "local", "--out", str(out), "--json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    # the command did read the key: the patch holds its reverse, as a scrubbed line
    assert "+***" in (out / "patch.diff").read_text()
    seen = json.dumps(stub_llm.bodies())
    assert "***" in seen
    for p in [*out.iterdir()]:
        data = p.read_bytes()
        for form in secret_forms(SECRET):
            assert form.encode() not in data, (p.name, form)
    for form in secret_forms(SECRET):
        assert form not in seen and form not in proc.stdout + proc.stderr, form
