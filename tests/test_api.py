"""The public Python API DESIGN names (`fix`, `localize`, `evaluate`, `run`) is importable from the
package and does what the commands do (fix and run are covered end to end elsewhere)."""

from __future__ import annotations

import pytest

import patchwright
from conftest import make_repo
from sandbox.errors import UserError


def test_the_package_exports_the_api():
    assert {"fix", "resume", "localize", "evaluate", "run"} <= set(patchwright.__all__)
    assert all(callable(getattr(patchwright, name)) for name in ("fix", "resume", "localize", "evaluate", "run"))


def test_localize_ranks_the_file_the_issue_is_about(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "shop/pricing.py": "def discount_total(items, percent):\n    return sum(items) * percent\n",
        "shop/money.py": "def round_cents(x):\n    return round(x, 2)\n",
        "README.md": "a shop\n",
    })
    loc = patchwright.localize(repo, "discount_total applies the percent as a factor: 10 gives 10x", top_k=2)
    assert loc.files[0].path == "shop/pricing.py"
    assert loc.functions and loc.functions[0].name.endswith("discount_total")


def test_evaluate_grades_empty_predictions_without_running_anything():
    summary = patchwright.evaluate("builtin", "empty")
    assert summary["total"] == 12 and summary["resolved"] == 0


def test_evaluate_refuses_a_predictions_file_with_nothing_readable(tmp_path):
    bad = tmp_path / "preds.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(UserError, match="no readable prediction"):
        patchwright.evaluate("builtin", str(bad))
