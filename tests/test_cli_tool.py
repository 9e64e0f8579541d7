"""`patchwright tool`: list the tools and their schemas; run one tool on a repository copy (the user's
files untouched); one-line errors for bad calls."""

from __future__ import annotations

import json

from conftest import make_repo, run_cli, tree_snapshot
from tools.toolset import TOOLS

SRC = "def greet(name):\n    return 'hi ' + name\n"


def test_list_shows_every_tool_and_its_schema():
    proc = run_cli("tool", "--list")
    assert proc.returncode == 0, proc.stderr
    for name in TOOLS.names():
        assert f"\n{name}(" in "\n" + proc.stdout
    assert "replace_symbol(name: string, new_source: string)" in proc.stdout
    assert "view_file(path: string, start?: integer = 1, end?: integer)" in proc.stdout
    proc = run_cli("tool", "--list", "--format", "anthropic")
    tools = json.loads(proc.stdout)
    assert [t["name"] for t in tools] == TOOLS.names() and all("input_schema" in t for t in tools)
    proc = run_cli("tool", "--list", "--json")
    assert json.loads(proc.stdout)[0]["parameters"]["required"] == ["path"]


def test_run_a_tool_on_a_copy(tmp_path):
    repo = make_repo(tmp_path / "repo", {"hello.py": SRC})
    before = tree_snapshot(repo)
    env = {"PATCHWRIGHT_CACHE_DIR": str(tmp_path / "cache")}
    proc = run_cli("tool", "view_symbol", "--repo", str(repo), "--args", '{"name": "greet"}', env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "hello.py:greet (function, lines 1-2)"
    args = json.dumps({"name": "greet", "new_source": "def greet(name):\n    return 'hello ' + name\n"})
    proc = run_cli("tool", "replace_symbol", "--repo", str(repo), "--args", args, "--json", env=env)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["is_error"] is False and out["tool"] == "replace_symbol"
    assert "+    return 'hello ' + name" in out["diff"]
    assert tree_snapshot(repo) == before  # the user's repository is never written
    proc = run_cli("tool", "view_symbol", "--repo", str(repo), "--args", '{"name": "nope"}', env=env)
    assert proc.returncode == 1 and "no definition named 'nope'" in proc.stdout


def test_bad_calls_are_one_line_errors(tmp_path):
    repo = make_repo(tmp_path / "repo", {"hello.py": SRC})
    for args, needle in [(["tool", "frob", "--repo", str(repo)], "there is no tool named 'frob'"),
                         (["tool", "view_file", "--repo", str(repo), "--args", "{oops"], "--args is not valid JSON"),
                         (["tool", "view_file", "--repo", str(repo), "--args", "[1]"], "--args must be a JSON object"),
                         (["tool"], "name a tool"),
                         (["tool", "view_file", "--repo", str(tmp_path / "missing")], "no such directory")]:
        proc = run_cli(*args)
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], (args, proc.stderr)
