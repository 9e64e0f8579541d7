"""Attacks through the inputs of `patchwright run` and `patchwright eval`: instance ids that are
paths, bytes that are not UTF-8, files that do not exist, duplicate predictions (no Docker).

Every write of these commands lands in a directory named by an instance id, so an id must be one
safe path component; it is checked where datasets and predictions are read, and every write or
delete under a run or report directory is checked again (tests/test_attacks_rundir.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli, tree_snapshot
from harness.instance import Instance, Prediction, load_instances, load_predictions
from sandbox.errors import UserError

ROW = {"repo": "o/r", "base_commit": "a" * 40, "problem_statement": "x", "FAIL_TO_PASS": ["t.py::test_a"],
       "patch": "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"}
UNSAFE_IDS = ["..", ".", "../../victim", "/abs/path", "a/b", "a\\b", "", "id with space", "x\n"]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows))
    return path


def one_line_error(proc) -> str:
    """The single stderr line of a refused command (no traceback)."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


@pytest.mark.attack("a dataset line whose instance_id is '..', an absolute path or has a slash",
                    expected="the dataset is refused naming file:line, exit 2")
@pytest.mark.parametrize("bad", UNSAFE_IDS)
def test_an_unsafe_instance_id_in_a_dataset_is_refused_with_its_line(tmp_path, bad):
    path = write_jsonl(tmp_path / "d.jsonl", [{**ROW, "instance_id": "ok-1"}, {**ROW, "instance_id": bad}])
    with pytest.raises(UserError, match=r"d\.jsonl:2: unsafe instance id"):
        load_instances(path)
    with pytest.raises(ValueError, match="unsafe instance id"):  # any other way in is checked too
        Instance(instance_id=bad, repo="o/r", base_commit="a" * 40)
    with pytest.raises(ValueError, match="unsafe instance id"):
        Prediction(instance_id=bad, model_patch="")


@pytest.mark.attack("`patchwright run` over a dataset with instance_id '../../victim'",
                    expected="exit 2 naming the line; the directory outside --out is not deleted")
def test_run_refuses_a_path_id_and_deletes_nothing_outside_out(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    dataset = write_jsonl(tmp_path / "evil.jsonl", [{**ROW, "instance_id": "../../victim"}])
    (tmp_path / "tmp" / "deep").mkdir(parents=True)  # temporary directories of the run: two levels down
    before = tree_snapshot(tmp_path)
    proc = run_cli("run", "--dataset", str(dataset), "--model", "oracle", "--offline", "--out", str(tmp_path / "out"),
                   env={"TMPDIR": str(tmp_path / "tmp" / "deep")})
    line = one_line_error(proc)
    assert f"{dataset}:1: unsafe instance id" in line
    assert (victim / "precious.txt").read_text() == "keep me"
    assert tree_snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.attack("`patchwright eval` over a dataset with instance_id '../escaped'",
                    expected="exit 2 naming the line; nothing written outside --report")
def test_eval_refuses_a_path_id_and_writes_nothing_outside_the_report(tmp_path):
    dataset = write_jsonl(tmp_path / "evil.jsonl", [{**ROW, "instance_id": "../escaped"}])
    before = tree_snapshot(tmp_path)
    proc = run_cli("eval", "--dataset", str(dataset), "--predictions", "gold", "--offline",
                   "--report", str(tmp_path / "report"))
    assert f"{dataset}:1: unsafe instance id" in one_line_error(proc)
    assert tree_snapshot(tmp_path) == before and not (tmp_path / "escaped").exists()


@pytest.mark.attack("a predictions file with a line whose instance_id is '../../x'",
                    expected="the predictions are refused naming file:line, exit 2")
def test_an_unsafe_id_in_predictions_is_refused_with_its_line(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [
        {"instance_id": "builtin__kvconf-1", "model_patch": ""},
        {"instance_id": "../../x", "model_patch": ""},
    ])
    proc = run_cli("eval", "--dataset", "builtin", "--predictions", str(preds), "--report", str(tmp_path / "r"))
    assert f"{preds}:2: unsafe instance id" in one_line_error(proc)
    assert not (tmp_path / "r").exists()


def test_inside_refuses_every_way_out_of_its_root(tmp_path):
    from harness.paths import UnsafePath, inside

    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    assert inside(root, "a-1") == root / "a-1"
    assert inside(root, "a-1", "report.json") == root / "a-1" / "report.json"
    for parts in [("..",), (".",), ("",), ("../x",), ("/etc",), ("a", "../../x"), ("link", "x")]:
        with pytest.raises(UnsafePath, match="refusing to write outside"):
            inside(root, *parts)


@pytest.mark.attack("a predictions file with a byte that is not UTF-8 on one line",
                    expected="that line flagged as file:line, the other lines scored, exit 0")
def test_a_non_utf8_prediction_line_is_flagged_and_the_rest_scored(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [
        {"instance_id": "builtin__kvconf-1", "model_patch": ""},
        b'{"instance_id": "builtin__kvconf-2", "model_patch": "caf\xe9"}',
        {"instance_id": "builtin__kvconf-3", "model_patch": ""},
    ])
    proc = run_cli("eval", "--dataset", "builtin", "--predictions", str(preds), "--json",
                   "--report", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["total"] == 2 and summary["ids"]["empty_patch"] == ["builtin__kvconf-1", "builtin__kvconf-3"]
    assert summary["malformed_prediction_lines"] == [f"{preds}:2: not UTF-8 text (byte 0xe9 at column 57)"]
    assert f"{preds}:2: not UTF-8 text" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.attack("a dataset file with a byte that is not UTF-8",
                    expected="one line naming file:line, exit 2 (no UnicodeDecodeError)")
def test_a_non_utf8_dataset_line_is_one_line_naming_it(tmp_path):
    dataset = write_jsonl(tmp_path / "d.jsonl", [{**ROW, "instance_id": "o__r-1"}, b'{"instance_id": "\xff"}'])
    for cmd in (["eval", "--predictions", "gold", "--offline"], ["run", "--model", "oracle", "--offline"]):
        proc = run_cli(*cmd, "--dataset", str(dataset), "--out" if cmd[0] == "run" else "--report",
                       str(tmp_path / cmd[0]))
        assert f"{dataset}:2: not UTF-8 text (byte 0xff" in one_line_error(proc)


@pytest.mark.attack("`--instances @/nonexistent` (eval, run, images build)",
                    expected="one line naming the missing file, exit 2 (no FileNotFoundError)")
def test_instances_from_a_missing_file_is_one_line(tmp_path):
    missing = tmp_path / "nonexistent"
    for cmd in (["eval", "--predictions", "gold"], ["run", "--model", "oracle", "--out", str(tmp_path / "o")],
                ["images", "build"]):
        proc = run_cli(*cmd, "--dataset", "builtin", "--instances", f"@{missing}")
        assert f"--instances @{missing}: no such file" in one_line_error(proc)
    assert not (tmp_path / "o").exists()


@pytest.mark.attack("a predictions file naming the same instance on two lines",
                    expected="a warning with both line numbers; the last line is scored")
def test_duplicate_prediction_ids_warn_with_line_numbers_and_the_last_wins(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [
        {"instance_id": "builtin__kvconf-1", "model_patch": "diff --git a/x b/x\n", "model_name_or_path": "first"},
        {"instance_id": "builtin__kvconf-2", "model_patch": ""},
        {"instance_id": "builtin__kvconf-1", "model_patch": "", "model_name_or_path": "last"},
    ])
    found, errors, duplicates = load_predictions(preds)
    assert found["builtin__kvconf-1"].model_name_or_path == "last" and not errors
    assert [(d.instance_id, d.lines) for d in duplicates] == [("builtin__kvconf-1", [1, 3])]
    proc = run_cli("eval", "--dataset", "builtin", "--predictions", str(preds), "--json",
                   "--report", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "builtin__kvconf-1 on lines 1, 3: line 3 (the last) is scored" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["duplicate_predictions"] == ["builtin__kvconf-1 on lines 1, 3: line 3 (the last) is scored"]
    assert summary["ids"]["empty_patch"] == ["builtin__kvconf-1", "builtin__kvconf-2"]  # the last, empty, one
    assert "Duplicate predictions" in (tmp_path / "r" / "summary.md").read_text()
