"""`patchwright eval` on the built-in suite with a real Docker engine: gold, empty, bad input, cache hits."""

from __future__ import annotations

import json

import pytest

from conftest import make_repo, run_cli
from harness.builtin import HERE as BUILTIN_DIR
from harness.instance import load_instances

pytestmark = pytest.mark.docker

HANG = "".join(line + "\n" for line in [
    "diff --git a/schedules/parse.py b/schedules/parse.py",
    "--- a/schedules/parse.py",
    "+++ b/schedules/parse.py",
    "@@ -9,6 +9,8 @@",
    " ",
    " def parse_duration(text: str) -> timedelta:",
    '     """A timedelta from "1h30m" and the like; ValueError for anything else."""',
    "+    while True:",
    "+        pass",
    "     m = _DURATION.match(text.strip().lower())",
    "     if not m or not any(m.groups()):",
    '         raise ValueError(f"not a duration: {text!r} (expected something like 1h30m)")',
])
NOT_APPLYING = """diff --git a/kvconf/types.py b/kvconf/types.py
--- a/kvconf/types.py
+++ b/kvconf/types.py
@@ -1,3 +1,3 @@
-this line is not in the file
+nor is this one
 TRUE = {"1", "true", "yes", "on"}
"""


def eval_json(*args: str, timeout: float = 900) -> dict:
    proc = run_cli("eval", "--dataset", "builtin", "--json", *args, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def image_ids(client) -> dict[str, str]:
    """Tag -> id of patchwright's images."""
    return {t: img.id for img in client.images.list(filters={"label": "patchwright"}) for t in img.tags}


@pytest.fixture(scope="module")
def gold_run(base_image, tmp_path_factory):
    """One gold run of the whole suite (builds the images the first time)."""
    report = tmp_path_factory.mktemp("gold")
    return eval_json("--predictions", "gold", "--workers", "2", "--report", str(report)), report


def test_gold_resolves_every_task(gold_run):
    summary, report = gold_run
    n = len(load_instances("builtin"))
    assert summary["counts"]["resolved"] == n == summary["total"], summary["errors"]
    one = report / "builtin__textkit-3"
    official = json.loads((one / "report.json").read_text())["builtin__textkit-3"]
    assert official["resolved"] and official["tests_status"]["FAIL_TO_PASS"]["failure"] == []
    assert ">>>>> Start Test Output" in (one / "test_output.txt").read_text()
    assert (one / "patch.diff").read_text().startswith("diff --git a/textkit/case.py")
    md = (report / "summary.md").read_text()
    assert f"**{n} / {n} resolved**" in md


def test_second_run_builds_no_image(gold_run, docker_engine, tmp_path):
    before = image_ids(docker_engine)
    ids = ["builtin__kvconf-1", "builtin__textkit-2"]
    summary = eval_json("--predictions", "gold", "--instances", ",".join(ids), "--report", str(tmp_path))
    assert summary["counts"]["resolved"] == 2
    assert summary["images_built"] == []
    after = image_ids(docker_engine)
    for iid in ids:  # the images the run used existed before it, unchanged
        tag = json.loads((tmp_path / iid / "outcome.json").read_text())["image"]
        assert tag in before and after[tag] == before[tag]


def test_empty_predictions_resolve_nothing(tmp_path):
    summary = eval_json("--predictions", "empty", "--report", str(tmp_path))
    assert summary["resolved"] == 0 and summary["counts"]["empty_patch"] == summary["total"]


def test_bad_input_is_reported_and_the_rest_graded(gold_run, docker_engine, tmp_path):
    regression = (BUILTIN_DIR / "tasks" / "textkit-3" / "regression.diff").read_text()
    gold = {i.instance_id: i.patch for i in load_instances("builtin")}
    preds = tmp_path / "preds.jsonl"
    lines = [
        json.dumps({"instance_id": "builtin__kvconf-1", "model_name_or_path": "m", "model_patch": gold["builtin__kvconf-1"]}),
        '{"instance_id": "builtin__kvconf-3", "model_patch": ',  # malformed (line 2)
        json.dumps({"instance_id": "builtin__no-such-task", "model_name_or_path": "m", "model_patch": "x"}),
        json.dumps({"instance_id": "builtin__kvconf-2", "model_name_or_path": "m", "model_patch": NOT_APPLYING}),
        json.dumps({"instance_id": "builtin__textkit-3", "model_name_or_path": "m", "model_patch": regression}),
        json.dumps({"instance_id": "builtin__schedules-2", "model_name_or_path": "m", "model_patch": HANG}),
    ]
    preds.write_text("\n".join(lines) + "\n")
    proc = run_cli("eval", "--dataset", "builtin", "--predictions", str(preds), "--workers", "2", "--timeout", "15",
                   "--report", str(tmp_path / "r"), "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert f"{preds}:2: not JSON" in proc.stderr
    assert summary["malformed_prediction_lines"][0].startswith(f"{preds}:2:")
    assert summary["unknown_instance_ids"] == ["builtin__no-such-task"]
    assert "unknown instance id builtin__no-such-task" in proc.stderr
    ids = summary["ids"]
    assert ids["resolved"] == ["builtin__kvconf-1"]
    assert ids["patch_failed"] == ["builtin__kvconf-2"]
    assert sorted(ids["unresolved"]) == ["builtin__schedules-2", "builtin__textkit-3"]
    assert summary["timed_out"] == ["builtin__schedules-2"]
    assert summary["total"] == 4
    hang = json.loads((tmp_path / "r" / "builtin__schedules-2" / "outcome.json").read_text())
    assert hang["timed_out"] and hang["durations"]["tests"] < 60
    assert ">>>>> Tests Timed Out" in (tmp_path / "r" / "builtin__schedules-2" / "test_output.txt").read_text()
    reg = json.loads((tmp_path / "r" / "builtin__textkit-3" / "report.json").read_text())["builtin__textkit-3"]
    assert reg["tests_status"]["PASS_TO_PASS"]["failure"] == ["tests/test_case.py::test_to_snake_digits"]
    assert "--fuzz=5" in (tmp_path / "r" / "builtin__kvconf-2" / "test_output.txt").read_text()
    # the hung test's container is gone with the run
    left = docker_engine.containers.list(all=True, filters={"label": "patchwright.kind=workspace"})
    assert not [c for c in left if "schedules-2" in (c.image.tags or [""])[0]]


def test_failed_image_build_is_an_error_with_its_log(gold_run, tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text('repo: patchwright-builtin/invoicer\ndefaults:\n  python: "3.11"\n'
                    '  pip_packages: ["pytest==8.3.4"]\n  install: "echo the-install-step-broke; exit 3"\n'
                    '  test_cmd: "python -m pytest -rA"\n')
    summary = eval_json("--predictions", "gold", "--instances", "builtin__invoicer-1,builtin__kvconf-1",
                        "--specs", str(spec), "--report", str(tmp_path / "r"))
    assert summary["ids"]["error"] == ["builtin__invoicer-1"]
    assert summary["ids"]["resolved"] == ["builtin__kvconf-1"]
    assert "building patchwright/inst:builtin__invoicer-1" in summary["errors"]["builtin__invoicer-1"]
    log = (tmp_path / "r" / "builtin__invoicer-1" / "image_build.log").read_text()
    assert "the-install-step-broke" in log


def test_bad_cli_input_is_one_line(tmp_path):
    bad = run_cli("eval", "--dataset", "builtin", "--predictions", "gold", "--instances", "builtin__nope")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "unknown instance id" in bad.stderr and "Traceback" not in bad.stderr
    missing = run_cli("eval", "--dataset", str(tmp_path / "none.jsonl"), "--predictions", "gold")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_agent_api_run_tests_in_instance_image(gold_run):
    """The pieces the agent uses: instance image -> DockerWorkspace -> apply a patch -> run named tests."""
    from harness.images import ensure_instance_image
    from harness.specs import SpecTable
    from sandbox.docker_workspace import DockerWorkspace
    from sandbox.patching import apply_patch
    from sandbox.testing import run_tests

    inst = load_instances("builtin", ["builtin__kvconf-1"])[0]
    spec = SpecTable().for_instance(inst)
    image = ensure_instance_image(inst, spec)
    assert image.built == []
    with DockerWorkspace(image.tag) as ws:
        assert ws.diff() == ""
        assert apply_patch(ws, inst.test_patch).method == "git apply"
        before = run_tests(ws, spec.test_command(), tests=inst.FAIL_TO_PASS + inst.PASS_TO_PASS)
        assert set(before.status_of(inst.FAIL_TO_PASS).values()) == {"FAILED"}
        assert set(before.status_of(inst.PASS_TO_PASS).values()) == {"PASSED"}
        assert apply_patch(ws, inst.patch).applied
        after = run_tests(ws, spec.test_command(), tests=inst.FAIL_TO_PASS)
        assert after.passed and after.status_of(inst.FAIL_TO_PASS) == {t: "PASSED" for t in inst.FAIL_TO_PASS}
        assert "kvconf/types.py" in ws.diff()


def test_patch_fuzz_fallback_is_recorded(tmp_path):
    from sandbox.patching import apply_patch
    from sandbox.workspace import LocalWorkspace

    repo = make_repo(tmp_path / "r", {"a.py": "".join(f"line{i}\n" for i in range(1, 11))})
    # the context says "line3 old" where the file has "line3": git apply refuses, patch --fuzz applies
    patch = ("--- a/a.py\n+++ b/a.py\n@@ -2,5 +2,5 @@\n line2\n line3 old\n line4\n-line5\n+LINE5\n line6\n"
             " line7\n")
    with LocalWorkspace(repo) as ws:
        res = apply_patch(ws, patch)
        assert res.applied and res.method == "patch --fuzz"
        assert "LINE5" in ws.read_file("a.py") and "line3\n" in ws.read_file("a.py")
        assert not ws.exists("a.py.orig")
        bad = apply_patch(ws, "--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-x\n+y\n")
        assert not bad.applied and bad.method == "failed" and "nope.py" in bad.output
        assert ws.diff().count("diff --git") == 1


def test_instance_image_and_eval_script_fields_are_used(gold_run, tmp_path):
    """Newer SWE-bench rows carry image, eval_script and log_parser: those win over our own steps."""
    from harness.evaluation import EvalOptions, evaluate_instance
    from harness.images import ensure_instance_image
    from harness.instance import Prediction

    inst = load_instances("builtin", ["builtin__kvconf-3"])[0]
    tag = ensure_instance_image(inst).tag
    script = ("cd /testbed\ngit apply -v - <<'EOF_PW'\n" + inst.test_patch + "EOF_PW\n"
              "echo '>>>>> Start Test Output'\npython -m pytest -rA tests/test_parser.py\n"
              "echo '>>>>> End Test Output'\n")
    row = inst.model_copy(update={"image": tag, "eval_script": script, "log_parser": "parse_log_pytest"})
    out = evaluate_instance(row, Prediction(instance_id=inst.instance_id, model_patch=inst.patch),
                            EvalOptions(report_dir=tmp_path))
    assert out.status == "resolved" and out.image == tag and out.images_built == []
    log = (tmp_path / inst.instance_id / "test_output.txt").read_text()
    assert "+ python -m pytest" not in log  # our own test step did not run
    assert "PASSED tests/test_parser.py::test_invalid_line_message_names_the_line" in log


def test_images_command(gold_run):
    built = run_cli("images", "build", "--dataset", "builtin", "--instances", "builtin__kvconf-1", "--json")
    assert built.returncode == 0, built.stderr
    result = json.loads(built.stdout)["builtin__kvconf-1"]
    assert result["built"] == [] and result["tag"].startswith("patchwright/inst:builtin__kvconf-1-")
    listed = run_cli("images", "list", "--json")
    rows = json.loads(listed.stdout)
    assert any(r["tag"] == result["tag"] and r["kind"] == "instance" for r in rows)
    assert any(r["kind"] == "env" and r["env"] == "patchwright-builtin/kvconf@1.0" for r in rows)


def test_official_image_source_failure_is_one_line(tmp_path):
    # no official image exists for a built-in task: whether or not a registry answers, the pull
    # fails, and the instance is an error with one line that says what to do
    proc = run_cli("eval", "--dataset", "builtin", "--predictions", "gold", "--instances", "builtin__kvconf-1",
                   "--image-source", "official", "--report", str(tmp_path), "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ids"]["error"] == ["builtin__kvconf-1"]
    err = summary["errors"]["builtin__kvconf-1"]
    assert "cannot pull swebench/sweb.eval.x86_64.builtin_1776_kvconf-1:latest" in err and "\n" not in err
