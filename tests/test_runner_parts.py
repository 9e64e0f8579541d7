"""The batch runner's parts without Docker: datasets and selection, the run directory, the oracle
model through the real graph and tools on a local workspace, and its refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agent.fix import FixRequest, run_fix
from agent.models import make_model
from agent.trajectory import read_trajectory
from conftest import git, make_repo, run_cli
from harness.instance import Instance
from sandbox.errors import UserError
from swebench_runner.datasets import load_dataset, parse_slice, select
from swebench_runner.oracle import LABEL
from swebench_runner.store import RunStore
from swebench_runner.task import InstanceRecord, InstanceResult, model_name

SHAPES = '''\
import math


def area(r):
    """The area of a circle of radius r."""
    return math.pi * r


def perimeter(r):
    return 2 * math.pi * r
'''
TESTS = '''\
import math
import unittest

from geo.shapes import perimeter


class ShapesTest(unittest.TestCase):
    def test_perimeter(self):
        self.assertEqual(perimeter(1), 2 * math.pi)
'''
GOLD = "".join(line + "\n" for line in [
    'diff --git a/geo/shapes.py b/geo/shapes.py',
    '--- a/geo/shapes.py',
    '+++ b/geo/shapes.py',
    '@@ -3,7 +3,7 @@ import math',
    ' ',
    ' def area(r):',
    '     """The area of a circle of radius r."""',
    '-    return math.pi * r',
    '+    return math.pi * r * r',
    ' ',
    ' ',
    ' def perimeter(r):',
    'diff --git a/geo/units.py b/geo/units.py',
    'new file mode 100644',
    '--- /dev/null',
    '+++ b/geo/units.py',
    '@@ -0,0 +1,2 @@',
    '+def cm(x):',
    '+    return x / 100',
])


def _instances(n: int) -> list[Instance]:
    return [Instance(instance_id=f"o__r-{k}", repo="o/r", base_commit="0" * 40, patch="x") for k in range(n)]


def test_selection_by_ids_filter_and_slice():
    insts = _instances(6)
    assert [i.instance_id for i in select(insts, slice_="1:3")] == ["o__r-1", "o__r-2"]
    assert [i.instance_id for i in select(insts, slice_="-2:")] == ["o__r-4", "o__r-5"]
    assert [i.instance_id for i in select(insts, pattern=r"-[135]$", slice_=":2")] == ["o__r-1", "o__r-3"]
    assert [i.instance_id for i in select(insts, ids=["o__r-5", "o__r-0"])] == ["o__r-0", "o__r-5"]
    assert parse_slice("3:") == slice(3, None)
    with pytest.raises(UserError, match="unknown instance id"):
        select(insts, ids=["nope"])
    with pytest.raises(UserError, match="--slice 'x' is malformed"):
        select(insts, slice_="x")
    with pytest.raises(UserError, match="not a regular expression"):
        select(insts, pattern="(")
    with pytest.raises(UserError, match="no instance of the dataset matches"):
        select(insts, pattern="zzz")


def test_datasets_builtin_jsonl_and_bad_names(tmp_path):
    assert len(load_dataset("builtin")) >= 12
    rows = tmp_path / "d.jsonl"
    rows.write_text("".join(json.dumps(i.model_dump()) + "\n" for i in _instances(2)))
    assert [i.instance_id for i in load_dataset(str(rows))] == ["o__r-0", "o__r-1"]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(UserError, match="holds no instances"):
        load_dataset(str(empty))
    with pytest.raises(UserError, match="unknown dataset 'nosuch'"):
        load_dataset("nosuch")
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.jsonl"))


def test_hf_dataset_without_the_library_or_offline_is_one_line(monkeypatch):
    import importlib.util

    if importlib.util.find_spec("datasets") is not None:  # installed: offline mode must fail cleanly
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
        with pytest.raises(UserError, match="cannot load hf:nobody/no-such-dataset"):
            load_dataset("hf:nobody/no-such-dataset")
    else:
        with pytest.raises(UserError, match=r"needs the `datasets` package"):
            load_dataset("hf:princeton-nlp/SWE-bench_Lite:test")
    with pytest.raises(UserError, match="hf:NAME"):
        load_dataset("hf:")


def test_store_resumes_from_predictions_and_cuts_a_torn_line(tmp_path):
    store = RunStore(tmp_path / "out")
    store.open("builtin", "oracle", model_name("oracle"))
    for k, finished in ((1, True), (2, False), (3, True)):
        rec = InstanceRecord(instance_id=f"i-{k}", status="submitted" if finished else "error", finished=finished,
                             model="oracle", model_name_or_path=model_name("oracle"), cost=0.5)
        store.save(InstanceResult(rec, patch=f"patch {k}\n", files={"trajectory.jsonl": b"{}\n"}))
    assert store.finished() == {"i-1": "patch 1\n", "i-3": "patch 3\n"}  # i-2 could not run: not finished
    assert (tmp_path / "out" / "i-2" / "result.json").exists()
    with store.predictions.open("a") as fh:  # a kill in the middle of a line
        fh.write('{"instance_id": "i-4", "model_na')
    (tmp_path / "out" / ".work" / "i-5").mkdir(parents=True)  # an instance in flight when killed
    store.close()  # the killed invocation's lock went with its process
    again = RunStore(tmp_path / "out")
    again.open("builtin", "oracle", model_name("oracle"))
    assert again.finished() == {"i-1": "patch 1\n", "i-3": "patch 3\n"}
    assert store.predictions.read_text().endswith("}\n") and not (tmp_path / "out" / ".work").exists()
    again.forget({"i-1"})
    assert list(again.finished()) == ["i-3"] and not (tmp_path / "out" / "i-1").exists()
    again.close()
    with pytest.raises(UserError, match="holds a run of model oracle"):
        RunStore(tmp_path / "out").open("builtin", "replay:x.jsonl", "replay:x.jsonl")
    with pytest.raises(UserError, match="holds a run over dataset builtin"):
        RunStore(tmp_path / "out").open("other.jsonl", "oracle", model_name("oracle"))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(UserError, match="holds no patchwright run"):
        RunStore(tmp_path / "busy").open("builtin", "oracle", model_name("oracle"))


def test_oracle_replays_the_gold_patch_through_the_graph(tmp_path):
    """The oracle on a local workspace, two attempts: each views the file, edits through the derived
    tool calls, runs the tests and stops; the result is the gold patch's files."""
    from sandbox.workspace import LocalWorkspace

    repo = make_repo(tmp_path / "repo", {"geo/__init__.py": "", "geo/shapes.py": SHAPES, "tests/__init__.py": "",
                                            "tests/test_shapes.py": TESTS})
    expected = tmp_path / "expected"
    git(tmp_path, "clone", "-q", str(repo), str(expected))
    (expected / "gold.diff").write_text(GOLD)
    git(expected, "apply", "gold.diff")
    request = FixRequest(repo=str(repo), issue="area() forgets to square the radius", model="oracle",
                         workspace="local", test_cmd=f"{sys.executable} -m unittest -v", attempts=2)
    with LocalWorkspace(repo) as ws:
        model = make_model("oracle", gold_patch=GOLD, read_files=ws.read_many)
        outcome = run_fix(request, ws, tmp_path / "run", model=model)
        for path in ("geo/shapes.py", "geo/units.py"):
            assert ws.read_file(path) == (expected / path).read_text()
    assert outcome.files_changed == ["geo/shapes.py", "geo/units.py"]
    assert [a.status for a in outcome.attempts] == ["submitted", "submitted"]
    assert outcome.cost == 0.0 and outcome.model == "oracle"
    steps = read_trajectory(tmp_path / "run" / "trajectory.jsonl")
    edits = [s for s in steps if s.node == "edit" and s.response]
    calls = [[c["name"] for c in s.response["tool_calls"]] for s in edits]
    assert calls[:5] == [["view_file"], ["replace_symbol"], ["create_file"], ["run_tests"], []]
    assert calls[5:] == calls[:5]  # the second attempt replays the same way
    assert all(s.response["model"] == LABEL and s.response["text"].startswith("[oracle]") for s in edits)
    assert all(not o.is_error for s in edits for o in s.observations or [])
    tests = next(o.output for s in edits for o in s.observations or [] if o.name == "run_tests")
    assert "1 passed" in tests.lower()


def test_oracle_refuses_without_a_gold_patch(tmp_path, small_repo):
    with pytest.raises(UserError, match="replays an instance's gold patch and was given none"):
        make_model("oracle")
    with pytest.raises(UserError, match="takes no model name"):
        make_model("oracle:gpt", gold_patch=GOLD, read_files=dict)
    proc = run_cli("fix", str(small_repo), "--issue", "x", "--model", "oracle", "--workspace", "local",
                   "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "gold patch" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_input_is_one_line_and_touches_nothing(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    unpatched = tmp_path / "unpatched.jsonl"
    unpatched.write_text(json.dumps({"instance_id": "o__r-1", "repo": "o/r", "base_commit": "0" * 40}) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    cases = [
        (["--dataset", "nosuch", "--model", "oracle"], "unknown dataset 'nosuch'"),
        (["--dataset", str(empty), "--model", "oracle"], "holds no instances"),
        (["--dataset", "builtin", "--model", "openai:gpt-5"], "OPENAI_API_KEY"),
        (["--dataset", "builtin", "--model", "anthropic:claude-sonnet-5-5"], "ANTHROPIC_API_KEY"),
        (["--dataset", "builtin", "--model", "nosuch:model"], "unknown model provider"),
        (["--dataset", str(unpatched), "--model", "oracle"], "replays gold patches"),
        (["--dataset", "builtin", "--model", "oracle", "--slice", "a:b"], "--slice 'a:b' is malformed"),
        (["--dataset", "builtin", "--model", "oracle", "--instances", "builtin__nope"], "unknown instance id"),
        (["--dataset", "builtin", "--model", "oracle", "--executor", "dask"], "unknown --executor 'dask'"),
    ]
    for k, (args, message) in enumerate(cases):
        out = tmp_path / f"out{k}"
        proc = subprocess.run([sys.executable, "-m", "patchwright", "run", *args, "--out", str(out)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr and proc.stderr.strip().count("\n") == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and not out.exists()


def test_instances_file_takes_ids_as_the_command_line_does(tmp_path):
    """`--instances @FILE`: one id a line, or several separated by commas or spaces, `#` comments."""
    from patchwright.commands.eval import _split_ids

    ids = tmp_path / "ids.txt"
    ids.write_text("a__b-1,a__b-2\n# a comment\n  a__b-3  a__b-4 # trailing\n\n")
    assert _split_ids(f"@{ids}") == ["a__b-1", "a__b-2", "a__b-3", "a__b-4"]
    assert _split_ids("a__b-1, a__b-2") == ["a__b-1", "a__b-2"]


def test_batch_events_pickle_and_the_display_matches_them_by_type():
    """The workers' events cross process boundaries; the display reads them by type, not by name."""
    import io
    import pickle

    from rich.console import Console

    from patchwright.commands.run import RunDisplay
    from swebench_runner.events import (
        Graded,
        InstanceFinished,
        InstancePhase,
        InstanceStarted,
        InstanceStep,
        RunPlanned,
        Stopping,
    )

    plan = RunPlanned(total=2, done=0, to_run=2, model="oracle", model_name_or_path="oracle", oracle=True, note=None,
                      executor="local", workers=1, out="runs/x", cost_before=0.0, resolved_before=0, evaluate=True)
    rec = InstanceRecord(instance_id="o__r-1", status="submitted", finished=True, cost=0.25)
    events = [plan, InstanceStarted("o__r-1"), InstancePhase("o__r-1", "edit"), InstanceStep("o__r-1", 0.1, 3),
              InstanceFinished(rec), Graded("o__r-1", "resolved"), Stopping("cost_cap", 1)]
    assert [pickle.loads(pickle.dumps(e)) for e in events] == events
    out = io.StringIO()
    display = RunDisplay(Console(file=out, width=200), live=False)
    for e in events[:4]:
        display(e)
    assert display.phase == {"o__r-1": "edit"} and display.live_cost == {"o__r-1": 0.1}
    for e in events[4:]:
        display(e)
    text = out.getvalue()
    assert "run: 2 of 2 instance(s) to run" in text and "o__r-1" in text
    assert "graded o__r-1: resolved" in text and "the total cost cap is reached" in text
    assert display.phase == {} and display.done == 1 and display.resolved == 1 and display.cost_done == 0.25
