"""Parity with the official harness: on every recorded log, our parsers and decisions equal swebench's.

Needs the optional extra `patchwright[parity]` (the official `swebench` package); skipped without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.grading import grade
from harness.instance import Instance
from sandbox.log_parsers import get_parser

swebench = pytest.importorskip(
    "swebench.harness.grading",
    reason="the official swebench package is not installed (pip install 'patchwright[parity]')")

LOGS = Path(__file__).parent / "fixtures" / "harness_logs"
STEMS = sorted(p.name[: -len(".json")] for p in LOGS.glob("*.json"))
OFFICIAL = {"pytest": "parse_log_pytest", "pytest_options": "parse_log_pytest_options",
            "pytest_v2": "parse_log_pytest_v2", "sympy": "parse_log_sympy", "seaborn": "parse_log_seaborn",
            "django": "parse_log_django", "matplotlib": "parse_log_matplotlib"}


def _spec(meta: dict):
    from swebench.types import TestSpec

    return TestSpec(instance_id=meta["instance_id"], image="", eval_script_list=[], repo=meta["repo"],
                    version=meta["version"], FAIL_TO_PASS=meta["FAIL_TO_PASS"], PASS_TO_PASS=meta["PASS_TO_PASS"],
                    log_parser=OFFICIAL[meta["log_parser"]], eval_type=meta["eval_type"])


def test_recorded_logs_cover_several_repositories():
    repos = {json.loads((LOGS / f"{s}.json").read_text())["repo"] for s in STEMS}
    assert len(repos) >= 4, repos


@pytest.mark.parametrize("stem", STEMS)
def test_parser_and_report_equal_official(stem):
    from swebench.harness.grading import get_eval_report
    from swebench.harness.log_parsers import PARSER_REGISTRY

    meta = json.loads((LOGS / f"{stem}.json").read_text())
    log_path = LOGS / f"{stem}.log"
    log = log_path.read_text()
    spec = _spec(meta)
    ours_parsed = get_parser(meta["log_parser"])(log)
    assert ours_parsed == PARSER_REGISTRY[spec.log_parser](log, spec)

    official = get_eval_report(spec, {"instance_id": meta["instance_id"], "model_patch": "diff",
                                      "model_name_or_path": "x"}, str(log_path), include_tests_status=True)
    inst = Instance(instance_id=meta["instance_id"], repo=meta["repo"], base_commit="0" * 40,
                    version=meta["version"], FAIL_TO_PASS=meta["FAIL_TO_PASS"], PASS_TO_PASS=meta["PASS_TO_PASS"])
    ours = grade(inst, log, log_parser=meta["log_parser"], eval_type=meta["eval_type"], model_patch="diff")
    o, m = official[meta["instance_id"]], ours[meta["instance_id"]]
    for key in ("patch_is_None", "patch_exists", "patch_successfully_applied", "resolved"):
        assert m[key] == o[key], key
    if "tests_status" in o:
        for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            assert m["tests_status"][key] == o["tests_status"][key], key
    else:
        assert "tests_status" not in m
