"""A relay run becomes a replay cassette (`patchwright cassette`), and the cassette played with
`replay:` makes the same patch with the same status: for `fix` on a local copy, and for a batch
`run` over a built-in instance in Docker (`replay:DIR`, one cassette per instance)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import test_relay_e2e
from relay_helpers import Answerer
from test_relay_e2e import KVCONF, fix_args, solve_calc, solve_kvconf

from agent.models.relay import cassette_lines
from conftest import run_cli
from sandbox.errors import UserError

calc, kvconf_image = test_relay_e2e.calc, test_relay_e2e.kvconf_image  # its fixtures: the same repository, image

MALFORMED = '{"content": "look", "tool_calls": [{"name": "view_fil", "arguments": {}}]}'


def with_detours():
    """solve_calc, with arguments given as a string of JSON on turn 1 and one malformed reply on turn 3
    (rejected by the relay, so never in the cassette)."""
    malformed = iter([MALFORMED])

    def answer(request: dict, markdown: str) -> dict | str:
        if request["turn"] == 1:
            return {"content": "stats",
                    "tool_calls": [{"name": "select_files", "arguments": '{"paths": ["calc/stats.py"]}'}]}
        if request["turn"] == 3 and (reply := next(malformed, None)):
            return reply
        return solve_calc(request, markdown)
    return answer


def test_relay_fix_becomes_a_cassette_that_replays_to_the_same_patch(calc, tmp_path):
    turns, cassette = tmp_path / "turns", tmp_path / "calc.jsonl"
    with Answerer(turns, with_detours()) as other:
        res = run_cli(*fix_args(calc, f"relay:{turns}", tmp_path / "relayed"), "--json", timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    relayed = json.loads(res.stdout)
    assert relayed["status"] == "verified" and other.failures == [] and other.asked_twice == []
    assert (turns / "turn-0003.rejected-1.json").exists()

    res = run_cli("cassette", str(turns), "-o", str(cassette))
    assert res.returncode == 0 and res.stderr == f"{cassette}: 5 turn(s)\n", res.stderr
    lines = [json.loads(line) for line in cassette.read_text().splitlines()]
    assert lines[0] == {"text": "stats", "tool_calls": [{"name": "select_files",
                                                          "arguments": {"paths": ["calc/stats.py"]}}]}
    assert lines[2] == {"text": "look", "tool_calls": [{"name": "view_file", "arguments": {"path": "calc/stats.py"}}]}
    assert lines[-1] == {"text": "mean divides by the count now.", "tool_calls": []}  # its notes left out
    assert "view_fil\"" not in cassette.read_text()
    assert run_cli("cassette", str(turns)).stdout == cassette.read_text()  # no -o: standard output

    res = run_cli(*fix_args(calc, f"replay:{cassette}", tmp_path / "replayed"), "--json", timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    replayed = json.loads(res.stdout)
    assert (replayed["status"], replayed["steps"]) == (relayed["status"], relayed["steps"]) == ("verified", 5)
    patch = (tmp_path / "relayed" / "patch.diff").read_text()
    assert "+    return sum(values) / len(values)" in patch
    assert (tmp_path / "replayed" / "patch.diff").read_text() == patch


def test_cassette_errors_are_one_line(tmp_path):
    empty = tmp_path / "empty"
    (empty / "some-instance").mkdir(parents=True)
    res = run_cli("cassette", str(empty))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "holds no answered relay turn" in res.stderr
    unanswered = tmp_path / "unanswered"
    unanswered.mkdir()
    (unanswered / "turn-0001.json").write_text(json.dumps({"turn": 1, "messages": [], "tools": []}))
    res = run_cli("cassette", str(unanswered))
    assert res.returncode == 2 and "holds no answered relay turn" in res.stderr
    res = run_cli("cassette", str(tmp_path / "missing"))
    assert res.returncode == 2 and res.stderr == f"patchwright: error: no such relay directory: {tmp_path / 'missing'}\n"


def test_a_reply_the_relay_would_reject_is_named_not_copied(tmp_path):
    tools = [{"name": "view_file", "description": "", "parameters": {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}]
    (tmp_path / "turn-0001.json").write_text(json.dumps({"turn": 1, "messages": [], "tools": tools}))
    (tmp_path / "turn-0001.reply.json").write_text('{"tool_calls": [{"name": "view_file", "arguments": {"p": 1}}]}')
    with pytest.raises(UserError, match=r"turn-0001.reply.json is not a reply the relay accepts: .*missing required"):
        cassette_lines(tmp_path)


def test_batch_relay_dir_needs_an_output_directory(tmp_path):
    turns = tmp_path / "turns" / "one-instance"
    turns.mkdir(parents=True)
    (turns / "turn-0001.json").write_text(json.dumps({"turn": 1, "messages": [], "tools": []}))
    (turns / "turn-0001.reply.json").write_text('{"content": "done"}')
    res = run_cli("cassette", str(tmp_path / "turns"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "with -o DIR" in res.stderr
    res = run_cli("cassette", str(tmp_path / "turns"), "-o", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "one-instance.jsonl").read_text() == '{"text": "done", "tool_calls": []}\n'


def test_replay_dir_names_the_instance_without_a_cassette(calc, tmp_path):
    (tmp_path / "cassettes").mkdir()
    (tmp_path / "cassettes" / f"{KVCONF}.jsonl").write_text('{"text": "done"}\n')
    res = run_cli("run", "--dataset", "builtin", "--instances", f"{KVCONF},builtin__kvconf-2", "--model",
                  f"replay:{tmp_path / 'cassettes'}", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert (f"replay:{tmp_path / 'cassettes'} has no cassette for instance builtin__kvconf-2 "
            f"(looked for {tmp_path / 'cassettes' / 'builtin__kvconf-2.jsonl'})") in res.stderr
    res = run_cli(*fix_args(calc, f"replay:{tmp_path / 'cassettes'}", tmp_path / "fix"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "name one cassette file here" in res.stderr


def batch(model: str, out: Path) -> tuple[dict, dict]:
    """`run` over kvconf-1 with --eval: (summary, the instance's prediction)."""
    res = run_cli("run", "--dataset", "builtin", "--instances", KVCONF, "--model", model, "--eval", "--out", str(out),
                  "--json", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["instance_id"] for r in rows] == [KVCONF]
    return json.loads(res.stdout), rows[0]


@pytest.mark.docker
def test_relay_batch_becomes_cassettes_that_replay_to_the_same_patch(kvconf_image, tmp_path):
    turns, cassettes = tmp_path / "turns", tmp_path / "cassettes"
    with Answerer(turns, solve_kvconf) as other:
        relayed, relayed_row = batch(f"relay:{turns}", tmp_path / "relayed")
    assert other.failures == [] and relayed["resolved"] == 1
    res = run_cli("cassette", str(turns), "-o", str(cassettes))
    assert res.returncode == 0 and res.stderr == f"{cassettes / KVCONF}.jsonl: 5 turn(s)\n", res.stderr
    replayed, replayed_row = batch(f"replay:{cassettes}", tmp_path / "replayed")
    assert replayed["resolved"] == 1 and replayed["statuses"] == relayed["statuses"]
    assert "+    return value in TRUE" in relayed_row["model_patch"]
    assert replayed_row["model_patch"] == relayed_row["model_patch"]
    assert replayed_row["model_name_or_path"] == f"replay:{cassettes}"


def test_help_names_cassettes_and_replay_dirs():
    assert "replay:DIR: DIR/INSTANCE_ID.jsonl for each instance" in " ".join(run_cli("run", "--help").stdout.split())
    top = run_cli("--help").stdout
    assert "cassette" in top and "replay cassettes" in top
