"""Instances, predictions, specs and the built-in suite: loading, errors, lookups (no Docker)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.builtin import HERE as BUILTIN_DIR
from harness.images import env_image_tag, instance_image_tag, official_image_name
from harness.instance import load_instances, load_predictions, synthetic_predictions
from harness.specs import DEFAULT_SPEC, SpecTable, read_spec_file, shipped_specs
from sandbox.diffs import new_paths
from sandbox.errors import UserError
from sandbox.images import OFFLINE_RELEASES
from sandbox.testing import directives_for, files_of_tests

ROW = {"instance_id": "o__r-1", "repo": "o/r", "base_commit": "a" * 40, "FAIL_TO_PASS": '["t.py::test_a"]',
       "PASS_TO_PASS": [], "version": 1.0, "patch": "p", "test_patch": "diff --git a/t.py b/t.py\n"}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_load_instances_accepts_swebench_json_text_fields(tmp_path):
    (inst,) = load_instances(write_jsonl(tmp_path / "d.jsonl", [ROW]))
    assert inst.FAIL_TO_PASS == ["t.py::test_a"] and inst.version == "1.0" and inst.repo_slug == "o__r"


def test_malformed_dataset_line_is_named(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [ROW, "{not json", {"instance_id": "x"}])
    with pytest.raises(UserError, match=r"d\.jsonl:2: not JSON .*and 1 more"):
        load_instances(path)


def test_unknown_instance_id_and_duplicates(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [ROW])
    with pytest.raises(UserError, match="unknown instance id.*nope"):
        load_instances(path, ["nope"])
    with pytest.raises(UserError, match="appears twice"):
        load_instances(write_jsonl(tmp_path / "e.jsonl", [ROW, ROW]))
    with pytest.raises(UserError, match="no such file"):
        load_instances(tmp_path / "missing.jsonl")


def test_predictions_keep_good_lines_and_report_bad_ones(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [
        {"instance_id": "a", "model_patch": "x", "model_name_or_path": "m"},
        "oops",
        {"model_patch": "no id"},
        {"instance_id": "b", "model_patch": None},
    ])
    preds, errors, duplicates = load_predictions(path)
    assert sorted(preds) == ["a", "b"] and preds["b"].model_patch is None
    assert [(e.line, e.message.split(" ")[0]) for e in errors] == [(2, "not"), (3, "instance_id:")]
    assert str(errors[0]).startswith(f"{path}:2:") and duplicates == []


def test_spec_lookup_order_and_default(tmp_path):
    table = SpecTable()
    spec, origin = table.lookup("pytest-dev/pytest", "5.4")
    assert origin == "shipped" and spec.python == "3.9" and "pluggy==0.13.1" in spec.pip_packages
    assert table.lookup("someone/unknown", "1.0") == (DEFAULT_SPEC, "default")
    user = tmp_path / "mine.yaml"
    user.write_text(yaml.safe_dump({"repo": "pytest-dev/pytest", "defaults": {"python": "3.13"},
                                    "versions": {"5.4": {"test_cmd": "pytest -x"}}}))
    mine = SpecTable([user])
    assert mine.lookup("pytest-dev/pytest", "5.4")[0].test_cmd == "pytest -x"
    assert mine.lookup("pytest-dev/pytest", "5.4")[1] == "user"
    assert mine.lookup("pytest-dev/pytest", "6.0")[1] == "shipped"  # not in the user file
    bad = tmp_path / "bad.yaml"
    bad.write_text("repo: x/y\nversions:\n  '1': {pyhton: '3.9'}\n")
    with pytest.raises(UserError, match=r"bad\.yaml: x/y 1: pyhton: Extra inputs"):
        read_spec_file(bad)


def test_instance_fields_win_over_spec():
    (inst,) = load_instances("builtin", ["builtin__kvconf-1"])
    inst = inst.model_copy(update={"log_parser": "parse_log_django", "eval_type": "fail_only"})
    spec = SpecTable().for_instance(inst)
    assert spec.log_parser == "parse_log_django" and spec.eval_type == "fail_only"


def test_shipped_specs_cover_the_nine_repositories_with_offline_pythons():
    repos = {"psf/requests", "pallets/flask", "pytest-dev/pytest", "sympy/sympy", "pylint-dev/pylint",
             "sphinx-doc/sphinx", "pydata/xarray", "mwaskom/seaborn", "astropy/astropy"}
    table = shipped_specs()
    assert repos <= set(table)
    lite = Path(__file__).resolve().parents[1] / ".." / "shared" / "swebench" / "lite-test.jsonl"
    for repo in repos:
        for version, spec in table[repo].items():
            assert spec.python in OFFLINE_RELEASES or not spec.offline, (repo, version, spec.python)
    if lite.is_file():  # every Lite version of the nine has a spec (not the default)
        for row in map(json.loads, lite.read_text().splitlines()):
            if row["repo"] in repos:
                assert SpecTable().lookup(row["repo"], row["version"])[1] == "shipped", row["instance_id"]


def test_test_directives():
    patch = ("diff --git a/tests/test_a.py b/tests/test_a.py\n--- a/tests/test_a.py\n+++ b/tests/test_a.py\n"
             "diff --git a/tests/data.json b/tests/data.json\n")
    assert new_paths(patch) == ["tests/test_a.py", "tests/data.json"]
    assert directives_for(new_paths(patch), "files") == ["tests/test_a.py"]
    assert directives_for(["tests/admin_views/tests.py"], "django") == ["admin_views.tests"]
    assert files_of_tests(["a.py::T::x", "a.py::y", "b.py::z[1]", "test_name"]) == ["a.py", "b.py"]


def test_builtin_suite_shape():
    insts = load_instances("builtin")
    assert len(insts) >= 12
    kinds = set()
    for inst in insts:
        meta = yaml.safe_load((BUILTIN_DIR / "tasks" / inst.instance_id.split("__", 1)[1] / "task.yaml").read_text())
        kinds.add(meta["kind"])
        assert inst.FAIL_TO_PASS and inst.PASS_TO_PASS and inst.patch.startswith("diff --git")
        assert inst.test_patch.startswith("diff --git") and len(inst.problem_statement) > 200
        assert not set(inst.FAIL_TO_PASS) & set(inst.PASS_TO_PASS)
    assert {"wrong logic in one function", "a missing edge case", "a change across two files", "a new parameter",
            "an exception message", "a regression that only PASS_TO_PASS catches"} <= kinds
    # a base commit is the same wherever the suite is loaded (fixed identity and date)
    again = {i.instance_id: i.base_commit for i in load_instances("builtin")}
    assert again == {i.instance_id: i.base_commit for i in insts}
    gold = synthetic_predictions(insts, "gold")
    assert all(gold[i.instance_id].model_patch == i.patch for i in insts)


def test_image_tags_are_content_addressed(tmp_path):
    from harness.builtin import builtin_source

    inst = load_instances("builtin", ["builtin__kvconf-1"])[0]
    spec = SpecTable().for_instance(inst)
    src = builtin_source(inst.repo)
    base = "patchwright/base:py3.11-test"  # the tag is computed, nothing is built: no engine needed
    env1 = env_image_tag(inst, spec, src, base)[0]
    assert env1 == env_image_tag(inst, spec, src, base)[0]
    changed = spec.model_copy(update={"pip_packages": ["pytest==8.3.3"]})
    assert env_image_tag(inst, changed, src, base)[0] != env1
    assert env_image_tag(inst, spec, src, "patchwright/base:py3.11-other")[0] != env1
    assert instance_image_tag(inst, spec, env1) == instance_image_tag(inst, spec, env1)
    moved = inst.model_copy(update={"base_commit": "b" * 40})
    assert instance_image_tag(moved, spec, env1) != instance_image_tag(inst, spec, env1)
    assert official_image_name("django__django-11099") == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"


def test_package_data_in_a_wheel(tmp_path):
    """The built-in suite and the specs ship in a non-editable install (pyproject's package-data)."""
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(root)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {res.stderr.strip()[-200:]}")
    import zipfile

    (wheel,) = tmp_path.glob("patchwright-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "harness/specs/sympy.yaml" in names and "harness/specs/builtin.yaml" in names
    for inst in load_instances("builtin"):
        task = inst.instance_id.split("__", 1)[1]
        for f in ("task.yaml", "issue.md", "gold.diff", "test.diff"):
            assert f"harness/builtin/tasks/{task}/{f}" in names
    assert "harness/builtin/projects/textkit/textkit/case.py" in names
    assert "harness/builtin/projects/kvconf/pyproject.toml" in names


def test_export_commit_is_one_commit_with_the_nearest_tag(tmp_path):
    from conftest import git, make_repo
    from harness.instance import Instance
    from harness.sources import export_commit, repo_source

    src = make_repo(tmp_path / "owner__proj", {"a.py": "x = 1\n"})
    git(src, "tag", "v1.2.0")
    (src / "a.py").write_text("x = 2\n")
    git(src, "commit", "-qam", "two")
    head = git(src, "rev-parse", "HEAD").strip()
    mirror = tmp_path / "mirrors" / "owner__proj"
    mirror.parent.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(src), str(mirror))
    inst = Instance(instance_id="owner__proj-1", repo="owner/proj", base_commit=head)
    assert repo_source(inst, tmp_path / "mirrors", online=False) == mirror
    dest = tmp_path / "out"
    export_commit(mirror, head, dest)
    assert (dest / "a.py").read_text() == "x = 2\n"
    assert git(dest, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(dest, "rev-parse", "HEAD").strip() == head
    assert git(dest, "tag").split() == ["v1.2.0"] and git(dest, "remote").strip() == ""
    with pytest.raises(UserError, match="not in"):
        export_commit(mirror, "f" * 40, tmp_path / "out2")
    other = Instance(instance_id="o__x-1", repo="o/x", base_commit=head)
    with pytest.raises(UserError, match="no mirror of o/x"):
        repo_source(other, tmp_path / "mirrors", online=False)
