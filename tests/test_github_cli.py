"""`patchwright github` as a command, and the action and example workflow that run it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from github_scenario import FIX, MODEL_KEY, TOKEN, Scenario, ScriptedFixer, labeled

from conftest import run_cli
from patchwright.cli import cli

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ["model", "max-cost", "trigger-label", "trigger-comment", "allowed-associations", "workspace", "test-cmd"]


@pytest.fixture
def sc(tmp_path):
    scenario = Scenario(tmp_path)
    yield scenario
    scenario.close()


def event_file(tmp_path: Path, payload: dict) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_an_ignored_event_is_one_line_and_exit_0(tmp_path):
    proc = run_cli("github", "--event", event_file(tmp_path, labeled(1, "bug")), env={"GITHUB_TOKEN": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("patchwright: ignoring this event: label 'bug' is not the trigger label "
                                   "'patchwright'")


def test_without_the_fix_pipeline_the_command_says_so_and_touches_nothing(sc, tmp_path):
    proc = run_cli("github", "--event", event_file(tmp_path, labeled(1)), "--repo", str(sc.checkout),
                   "--model", "anthropic:claude-sonnet-5-5",
                   env={"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": sc.gh.api_url, "GITHUB_EVENT_NAME": "issues"})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "patchwright: error: the fix pipeline is not available in this build"
    assert sc.gh.requests == []


@pytest.mark.parametrize("args,message", [
    (["--event", "/nonexistent/event.json"], "patchwright: error: no such event file: /nonexistent/event.json"),
    (["--event", "EVENT"], "patchwright: error: no model: pass --model (the action's `model` input)"),
])
def test_user_errors_are_one_line(tmp_path, args, message):
    args = [event_file(tmp_path, labeled(1)) if a == "EVENT" else a for a in args]
    proc = run_cli("github", *args, env={"PATCHWRIGHT_MODEL": ""})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(message)


def test_the_command_wires_its_options_to_the_bot_and_the_fixer(sc, tmp_path, monkeypatch):
    """The whole command with the stand-in fixer behind the seam the real pipeline will fill."""
    fixer = ScriptedFixer(FIX)
    monkeypatch.setattr("patchwright.commands.github._default_fixer", lambda: fixer)
    for k, v in {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": sc.gh.api_url, "GITHUB_EVENT_NAME": "issues",
                 "ANTHROPIC_API_KEY": MODEL_KEY}.items():
        monkeypatch.setenv(k, v)
    sc.issue(8, "clamp ignores the upper bound", "body")
    out = tmp_path / "run"
    rc = cli.main(["github", "--event", event_file(tmp_path, labeled(8, "fix-me")), "--repo", str(sc.checkout),
                   "--model", "openai:gpt-5", "--max-cost", "1.5", "--trigger-label", "fix-me",
                   "--workspace", "local", "--test-cmd", "python -B -m unittest", "--out", str(out)],
                  standalone_mode=False)
    assert rc == 0
    options = fixer.calls[0]["options"]
    assert (options.model, options.max_cost, options.workspace, options.test_cmd, options.out_dir) == (
        "openai:gpt-5", 1.5, "local", "python -B -m unittest", out)
    assert sc.gh.branch_sha("acme/calc", "patchwright/issue-8")
    assert [p["title"] for p in sc.gh.repos["acme/calc"].pulls.values()] == ["Fix #8: clamp ignores the upper bound"]
    assert (out / "github.jsonl").exists() and (out / "trajectory.jsonl").exists()


def test_without_a_token_the_command_stops_before_calling_github(sc, tmp_path, monkeypatch):
    monkeypatch.setattr("patchwright.commands.github._default_fixer", lambda: ScriptedFixer(FIX))
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    from harness.errors import UserError

    with pytest.raises(UserError, match="GITHUB_TOKEN is not set"):
        cli.main(["github", "--event", event_file(tmp_path, labeled(1)), "--repo", str(sc.checkout),
                  "--model", "openai:gpt-5"], standalone_mode=False)
    assert sc.gh.requests == []


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_action_runs_the_bot_with_its_inputs_and_nothing_spliced_into_scripts():
    action = load_yaml(ROOT / "action.yml")
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert list(inputs) == INPUTS
    assert inputs["model"]["required"] is True
    assert {k: inputs[k].get("default") for k in INPUTS[1:]} == {
        "max-cost": "", "trigger-label": "patchwright", "trigger-comment": "/patchwright fix",
        "allowed-associations": "OWNER,MEMBER,COLLABORATOR", "workspace": "docker", "test-cmd": ""}
    scripts = [s["run"] for s in action["runs"]["steps"] if "run" in s]
    assert any('patchwright github --event "$GITHUB_EVENT_PATH"' in s for s in scripts)
    for s in scripts:  # expressions in a script's text are an injection path; env variables are not
        assert "${{" not in s
    env = next(s["env"] for s in action["runs"]["steps"] if "patchwright github" in s.get("run", ""))
    assert {v for v in env.values()} == {f"${{{{ inputs.{name} }}}}" for name in INPUTS}


def test_the_example_workflow_has_the_permissions_and_the_guards():
    wf = load_yaml(ROOT / "examples" / "patchwright.yml")
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert on == {"issues": {"types": ["labeled"]}, "issue_comment": {"types": ["created"]}}
    assert wf["permissions"] == {"contents": "write", "pull-requests": "write", "issues": "write"}
    job = wf["jobs"]["fix"]
    assert "!github.event.pull_request" in job["if"] and "!github.event.issue.pull_request" in job["if"]
    checkout, action = job["steps"]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["persist-credentials"] is False
    assert set(action["with"]) <= set(INPUTS) and "model" in action["with"]
    assert action["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"


@pytest.mark.parametrize("doc", ["README.md", "docs/github.md"])
def test_the_inputs_are_documented(doc):
    text = (ROOT / doc).read_text()
    for name in INPUTS:
        assert re.search(rf"`{re.escape(name)}`", text), f"{doc} does not document the input {name}"
    assert "examples/patchwright.yml" in text
