"""Recorded runs as regression tests. Every cassette under tests/fixtures/cassettes/builtin/
(INSTANCE_ID.jsonl: the turns of a relay run in which a capable model played the model, turned into
a cassette by `patchwright cassette`; the README there says how) is replayed over the built-in suite
in one `patchwright run --model replay:DIR --eval`, and each instance must play its cassette to the
end (every turn, no more) and produce its recorded patch (INSTANCE_ID.patch), which the harness
grades resolved. A change to prompts, tools or the graph that
changes the agent's flow changes a patch or runs a cassette out of turns, and fails here.

With no cassette recorded there is one skipped test saying so; PATCHWRIGHT_REQUIRE_CASSETTES=1 makes
it a failure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli

CASSETTES = Path(__file__).resolve().parent / "fixtures" / "cassettes" / "builtin"
IDS = sorted(p.stem for p in CASSETTES.glob("*.jsonl"))
REQUIRED = os.environ.get("PATCHWRIGHT_REQUIRE_CASSETTES") == "1"


@pytest.fixture(scope="module")
def replayed(base_image, tmp_path_factory) -> dict:
    """One batch run replaying every cassette (two workers), graded: its summary and each instance's
    prediction and record."""
    out = tmp_path_factory.mktemp("cassettes") / "run"
    res = run_cli("run", "--dataset", "builtin", "--instances", ",".join(IDS), "--model", f"replay:{CASSETTES}",
                  "--eval", "--workers", "2", "--out", str(out), "--json", timeout=300 + 120 * len(IDS))
    assert res.returncode in (0, 1), res.stderr[-3000:]  # 1: some instance did not finish (asserted per instance)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    return {"summary": json.loads(res.stdout), "patches": {r["instance_id"]: r["model_patch"] for r in rows},
            "out": out}


@pytest.mark.parametrize("instance_id", [pytest.param(i, marks=pytest.mark.docker) for i in IDS]
                         or [pytest.param(None, id="none-recorded")])
def test_cassette_replays_to_its_recorded_patch(instance_id, request):
    if instance_id is None:
        why = (f"no cassette recorded in {CASSETTES.relative_to(Path(__file__).resolve().parent.parent)} "
               "(its README.md says how to record one)")
        if REQUIRED:
            pytest.fail(f"{why}, and PATCHWRIGHT_REQUIRE_CASSETTES=1")
        pytest.skip(why)
    recorded = CASSETTES / f"{instance_id}.patch"
    assert recorded.is_file(), f"{instance_id}.jsonl has no recorded patch {recorded.name} next to it"
    run = request.getfixturevalue("replayed")  # only now: it needs Docker
    assert instance_id not in run["summary"]["errors"], run["summary"]["errors"][instance_id]
    assert instance_id in run["patches"], f"{instance_id} did not finish: {run['summary']['not_finished']}"
    record = json.loads((run["out"] / instance_id / "result.json").read_text())
    turns = sum(1 for line in (CASSETTES / f"{instance_id}.jsonl").read_text().splitlines() if line.strip())
    assert record["status"] != "error", record["message"]  # e.g. the cassette ran out of turns
    assert record["steps"] == turns, f"the replayed run took {record['steps']} of the cassette's {turns} turns"
    assert run["patches"][instance_id] == recorded.read_text(), "the replayed run made another patch"
    assert record["eval"]["status"] == "resolved", record["eval"]
