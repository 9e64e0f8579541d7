"""`patchwright run` end to end with a real Docker engine on the built-in suite: the oracle model
through every layer, resume after a kill, the total cost cap, a failing image build, and Ray.

The built-in images are built once (the first test module that needs them builds them; the tags
are content-addressed, so later runs find them)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import run_cli
from harness.instance import load_instances
from swebench_runner.oracle import LABEL

pytestmark = pytest.mark.docker

KEYS = {"instance_id", "model_name_or_path", "model_patch"}


@pytest.fixture(scope="module")
def builtin_images(base_image):
    """Every built-in instance image, built in this process (one build per tag) when missing."""
    from harness.images import ensure_instance_image

    insts = load_instances("builtin")
    with ThreadPoolExecutor(2) as pool:
        tags = list(pool.map(lambda i: ensure_instance_image(i).tag, insts))
    return dict(zip([i.instance_id for i in insts], tags, strict=True))


def run_json(*args: str, expect: int = 0, timeout: float = 900, env: dict | None = None) -> dict:
    proc = run_cli("run", "--json", *args, timeout=timeout, env=env)
    assert proc.returncode == expect, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def predictions(path: Path) -> list[dict]:
    """The lines of a predictions file, checked against the official harness's loader: one JSON
    object a line, no blank line, exactly its three keys, strings, one line per instance."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rows = [json.loads(line) for line in text.splitlines()]
    for row in rows:
        assert isinstance(row, dict) and set(row) == KEYS, row
        assert all(isinstance(row[k], str) for k in KEYS)
    assert len({r["instance_id"] for r in rows}) == len(rows)
    if importlib.util.find_spec("swebench") is not None:  # the official loader itself, when installed
        from swebench.harness.utils import get_predictions_from_file

        assert [p["instance_id"] for p in get_predictions_from_file(str(path), "unused", "test")] == \
            [r["instance_id"] for r in rows]
    return rows


@pytest.fixture(scope="module")
def oracle_run(builtin_images, tmp_path_factory):
    out = tmp_path_factory.mktemp("oracle") / "out"
    summary = run_json("--dataset", "builtin", "--model", "oracle", "--workers", "2", "--eval", "--out", str(out))
    return summary, out


def test_oracle_run_resolves_every_task(oracle_run):
    summary, out = oracle_run
    n = len(load_instances("builtin"))
    assert summary["eval"]["resolved"] == summary["eval"]["total"] == summary["finished"] == n, summary["errors"]
    assert summary["resolved"] == n and summary["not_finished"] == [] and summary["stopped"] is None
    assert summary["oracle"] and summary["model_name_or_path"] == LABEL and summary["cost"] == 0.0
    rows = predictions(out / "predictions.jsonl")
    assert len(rows) == n and {r["model_name_or_path"] for r in rows} == {LABEL}
    gold = {i.instance_id: i for i in load_instances("builtin")}
    for row in rows:
        iid = row["instance_id"]
        d = out / iid
        assert (d / "patch.diff").read_text() == row["model_patch"] != ""
        # the replay reproduces the gold patch's files: the same files, and the official report agrees
        assert json.loads((d / "summary.json").read_text())["files_changed"] == \
            sorted({line[6:] for line in gold[iid].patch.splitlines() if line.startswith("+++ b/")})
        assert json.loads((d / "report.json").read_text())[iid]["resolved"] is True
        rec = json.loads((d / "result.json").read_text())
        assert rec["finished"] and rec["model"] == "oracle" and rec["eval"]["status"] == "resolved"
        assert json.loads((d / "summary.json").read_text())["run_dir"] == str(d)
        steps = [json.loads(line) for line in (d / "trajectory.jsonl").read_text().splitlines()]
        turns = [s["response"] for s in steps if s.get("response")]
        assert turns and all(t["model"] == LABEL and t["text"].startswith("[oracle]") for t in turns)
        assert any(c["name"] == "run_tests" for t in turns for c in t["tool_calls"])
    assert json.loads((out / "eval" / "summary.json").read_text())["resolved"] == n
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_name_or_path"] == LABEL and manifest["invocations"][0]["stopped"] is None


def test_second_invocation_skips_finished_instances_and_redo_runs_again(oracle_run):
    summary, out = oracle_run
    one = "builtin__textkit-2"
    before = json.loads((out / one / "result.json").read_text())
    again = run_json("--dataset", "builtin", "--model", "oracle", "--out", str(out))
    assert again["ran"] == [] and len(again["skipped"]) == summary["finished"] and again["finished"] == summary["finished"]
    assert json.loads((out / one / "result.json").read_text()) == before
    redo = run_json("--dataset", "builtin", "--model", "oracle", "--out", str(out), "--instances", one, "--redo")
    assert redo["ran"] == [one] and redo["skipped"] == []
    assert json.loads((out / one / "result.json").read_text())["worker"] != before["worker"]
    rows = predictions(out / "predictions.jsonl")
    assert len(rows) == summary["finished"] and rows[-1]["instance_id"] == one
    other = run_cli("run", "--dataset", "builtin", "--model", "openai:m@http://127.0.0.1:9/v1", "--out", str(out))
    assert other.returncode == 2 and "holds a run of model oracle" in other.stderr, other.stderr


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def test_killed_run_resumes_without_redoing_finished_instances(builtin_images, tmp_path):
    ids = ["builtin__kvconf-1", "builtin__kvconf-3", "builtin__textkit-1", "builtin__schedules-2"]
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "patchwright", "run", "--dataset", "builtin", "--model", "oracle",
           "--instances", ",".join(ids), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    preds = out / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if preds.exists() and preds.read_text().count("\n") >= 2:
            break
        time.sleep(0.2)
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = [r["instance_id"] for r in predictions(preds)]
    assert 2 <= len(done_before) < len(ids), done_before
    trajectories = {i: (out / i / "trajectory.jsonl").read_bytes() for i in done_before}
    records = {i: json.loads((out / i / "result.json").read_text()) for i in done_before}
    deadline = time.monotonic() + 60  # the workers die with the driver (and remove their containers)
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.5)
    assert not [p for p in workers if _alive(p)], "worker processes outlived the killed run"

    summary = run_json(*cmd[4:], "--eval")
    assert sorted(summary["skipped"]) == sorted(done_before)
    assert sorted(summary["ran"]) == sorted(set(ids) - set(done_before))
    assert summary["finished"] == len(ids) and summary["not_finished"] == []
    assert summary["eval"]["resolved"] == len(ids)  # the earlier ones graded at the end, the others as they finished
    assert sorted(r["instance_id"] for r in predictions(preds)) == sorted(ids)
    for i in done_before:  # not run again
        assert (out / i / "trajectory.jsonl").read_bytes() == trajectories[i]
        rec = json.loads((out / i / "result.json").read_text())
        assert (rec["worker"], rec["elapsed"]) == (records[i]["worker"], records[i]["elapsed"])
        assert rec["eval"]["status"] == "resolved"
    assert not (out / ".work").exists() or not any((out / ".work").iterdir())


def test_ctrl_c_once_lets_the_instance_in_flight_finish(builtin_images, tmp_path):
    ids = ["builtin__kvconf-2", "builtin__textkit-2", "builtin__schedules-1"]
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "patchwright", "run", "--dataset", "builtin", "--model", "oracle",
                             "--instances", ",".join(ids), "--out", str(out), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / ".work" / ids[0]).exists():
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr[-2000:]
    assert "no new instance starts, 1 in flight finish" in stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "interrupted" and summary["ran"] == [ids[0]]
    assert summary["not_finished"] == sorted(ids[1:])
    assert [r["instance_id"] for r in predictions(out / "predictions.jsonl")] == [ids[0]]


def _cassette(path: Path, turns: int, cost: float) -> Path:
    path.write_text("".join(json.dumps({"text": f"thinking {k}", "usage": {"input_tokens": 100, "output_tokens": 10},
                                        "cost": cost}) + "\n" for k in range(turns)))
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_total_cost_cap_stops_new_instances(builtin_images, tmp_path, workers):
    call, cap = 0.4, 1.0
    cassette = _cassette(tmp_path / "costly.jsonl", 40, call)
    ids = ["builtin__kvconf-1", "builtin__kvconf-2", "builtin__textkit-1", "builtin__textkit-3",
           "builtin__invoicer-1", "builtin__schedules-1"]
    out = tmp_path / "out"
    summary = run_json("--dataset", "builtin", "--model", f"replay:{cassette}", "--instances", ",".join(ids),
                       "--workers", str(workers), "--max-total-cost", str(cap), "--max-cost-per-instance", "0",
                       "--out", str(out), expect=1)
    assert summary["stopped"] == "cost_cap" and summary["not_finished"], summary
    assert len(summary["ran"]) + len(summary["not_finished"]) == len(ids)
    records = [json.loads((out / i / "result.json").read_text()) for i in summary["ran"]]
    spent = 0.0
    for rec in records:
        steps = [json.loads(line) for line in (out / rec["instance_id"] / "trajectory.jsonl").read_text().splitlines()]
        calls = sum(1 for s in steps if s.get("response"))
        assert rec["cost"] == pytest.approx(calls * call)
        assert rec["cost"] <= rec["max_cost"] + call + 1e-9  # an instance passes its share by one call at most
        spent += rec["cost"]
    assert summary["cost"] == pytest.approx(spent)
    assert spent <= cap + workers * call + 1e-9  # one call per instance in flight when the cap was reached
    if workers == 1:
        assert spent <= cap + call + 1e-9
    rows = predictions(out / "predictions.jsonl")
    assert sorted(r["instance_id"] for r in rows) == sorted(summary["ran"])
    assert {r["model_name_or_path"] for r in rows} == {f"replay:{cassette}"}


def test_failed_image_build_is_reported_and_the_others_go_on(builtin_images, tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text('repo: patchwright-builtin/invoicer\ndefaults:\n  python: "3.11"\n'
                    '  pip_packages: ["pytest==8.3.4"]\n  install: "echo the-install-step-broke; exit 3"\n'
                    '  test_cmd: "python -m pytest -rA"\n')
    out = tmp_path / "out"
    args = ("--dataset", "builtin", "--model", "oracle", "--instances", "builtin__invoicer-1,builtin__kvconf-1",
            "--specs", str(spec), "--out", str(out))
    summary = run_json(*args, expect=1)
    assert summary["ran"] == ["builtin__kvconf-1"] and summary["not_finished"] == ["builtin__invoicer-1"]
    assert "building patchwright/inst:builtin__invoicer-1" in summary["errors"]["builtin__invoicer-1"]
    assert "\n" not in summary["errors"]["builtin__invoicer-1"]
    assert "the-install-step-broke" in (out / "builtin__invoicer-1" / "image_build.log").read_text()
    assert json.loads((out / "builtin__invoicer-1" / "result.json").read_text())["finished"] is False
    assert [r["instance_id"] for r in predictions(out / "predictions.jsonl")] == ["builtin__kvconf-1"]
    # with the spec fixed, the next invocation tries the failed instance again (and only it)
    again = run_json(*args[:-4], "--out", str(out))
    assert again["ran"] == ["builtin__invoicer-1"] and again["skipped"] == ["builtin__kvconf-1"]


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="Ray is not installed (pip install 'patchwright[ray]'; scripts/setup.sh installs it)")
def test_ray_executor_runs_the_batch(builtin_images, tmp_path):
    """`--executor ray` starts a local Ray instance (in the run's process) and runs each instance as a
    Ray task; the result is the same as the process pool's."""
    ids = ["builtin__kvconf-2", "builtin__textkit-3", "builtin__invoicer-2"]
    out = tmp_path / "out"
    env = {"RAY_USAGE_STATS_ENABLED": "0"}
    summary = run_json("--dataset", "builtin", "--model", "oracle", "--instances", ",".join(ids), "--workers", "2",
                       "--executor", "ray", "--eval", "--out", str(out), env=env)
    assert summary["executor"] == "ray" and summary["eval"]["resolved"] == len(ids) == summary["finished"]
    rows = predictions(out / "predictions.jsonl")
    assert sorted(r["instance_id"] for r in rows) == sorted(ids)
    pids = {json.loads((out / i / "result.json").read_text())["worker"] for i in ids}
    assert all(p.split(":")[1] != str(os.getpid()) for p in pids)
