"""The offline demo (the README's main job): `patchwright demo` fixes the sample project in Docker
with the replayed cassette, and says that the model's turns are replayed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent.models.replay import read_cassette
from conftest import run_cli
from patchwright.commands.demo import CASSETTE, SAMPLE

pytestmark = pytest.mark.docker


def test_the_cassette_uses_only_real_tools():
    from agent.localization import SELECT_DEFINITIONS, SELECT_FILES
    from tools.toolset import TOOLS

    names = {t.name for t in TOOLS.specs()} | {SELECT_FILES.name, SELECT_DEFINITIONS.name}
    used = [c.name for turn in read_cassette(CASSETTE) for c in turn.tool_calls]
    assert used and set(used) <= names


def test_demo_fixes_the_sample_in_docker(base_image):
    res = run_cli("demo")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "The model's turns are replayed" in out
    assert "+        return round_cents(gross * (1 - self.discount_percent / 100))" in out
    assert "status: verified" in out
    assert "before: 2 passed, 3 failed" in out and "after:  5 passed" in out
    assert "tests.test_pricing.PricingTest.test_discount_reduces_price" in out


def test_demo_leaves_the_shipped_sample_alone(base_image, tmp_path):
    before = {p: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()}
    res = run_cli("demo", "--keep")
    assert res.returncode == 0, res.stderr
    kept = [line for line in res.stdout.splitlines() if line.startswith("kept:")]
    assert kept
    run_dir = Path(kept[0].split("the run directory ")[1].strip())
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["status"] == "verified" and summary["files_changed"] == ["shop/pricing.py"]
        assert (run_dir.parent / "shop" / "shop" / "pricing.py").read_bytes() == (SAMPLE / "shop" / "pricing.py").read_bytes()
    finally:
        shutil.rmtree(run_dir.parent)
    assert {p: p.read_bytes() for p in SAMPLE.rglob("*") if p.is_file()} == before
