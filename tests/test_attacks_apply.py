"""`patchwright fix --apply` and the final patch: uncommitted changes in files whose names git
quotes, the patch of a failed run, the summary's agreement with patch.diff, and what the agent or
the tests leave behind. Local workspace and the stub model server: no Docker, no real API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, make_repo, run_cli, tree_snapshot
from sandbox.apply_local import apply_to_tree, touched_files
from sandbox.errors import UserError

ALWAYS_QUOTED = ['q"uote.py', "ta\tb.py", "new\nline.py", "back\\slash.py"]
"""Names git quotes in a diff whatever core.quotepath says."""
NAMES = [*ALWAYS_QUOTED, "ünïcode.py", "sp ace.py"]
"""With a non-ASCII name (quoted only with core.quotepath on) and a name git never quotes."""
QUOTED_CASES = [(n, q) for q in ("off", "on") for n in ALWAYS_QUOTED] + [("ünïcode.py", "on")]
BODY = "".join(f"line {k}\n" for k in range(1, 11))


def patch_from_clone(repo: Path, tmp: Path, name: str, *config: str) -> str:
    """The patch a run would make for `name`: line 1 changed, in a clone (git's own quoting)."""
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    (clone / name).write_text(BODY.replace("line 1\n", "line one\n"))
    return git(clone, *config, "diff", "--no-color")


@pytest.mark.attack("`fix --apply` while a file git quotes (q\"uote.py, tab, newline, backslash, non-ASCII) "
                    "has uncommitted changes", expected="refused naming the file; the tree unchanged")
@pytest.mark.parametrize(("name", "quotepath"), QUOTED_CASES)
def test_apply_sees_uncommitted_changes_in_files_git_quotes(tmp_path, name, quotepath):
    repo = make_repo(tmp_path / "repo", {name: BODY, "other.py": "x = 1\n"})
    patch = patch_from_clone(repo, tmp_path, name, "-c", f"core.quotepath={quotepath}")
    assert touched_files(patch) == [name]
    with open(repo / name, "a") as fh:  # the user's own work, far from the patch's hunk
        fh.write("my uncommitted line\n")
    before = tree_snapshot(repo)
    with pytest.raises(UserError, match="not applied: .* uncommitted changes"):
        apply_to_tree(repo, patch)
    assert tree_snapshot(repo) == before


@pytest.mark.parametrize("name", NAMES)
def test_patch_paths_agree_with_git_for_names_git_quotes(tmp_path, name):
    """patch_files reads back every name as git itself does (`git apply --numstat -z`)."""
    repo = make_repo(tmp_path / "repo", {name: BODY})
    patch = patch_from_clone(repo, tmp_path, name, "-c", "core.quotepath=on")
    numstat = subprocess.run(["git", "-C", str(repo), "apply", "--numstat", "-z", "-"], input=patch.encode(),
                             capture_output=True, check=True).stdout.decode()
    assert numstat.split("\t", 2)[2].rstrip("\0") == name
    assert touched_files(patch) == [name]
    apply_to_tree(repo, patch)  # clean: applied
    assert (repo / name).read_text().startswith("line one\n")


# -- a whole `fix` run against the stub model ------------------------------------------------------

CALC = "def mean(values):\n    return sum(values) / (len(values) + 1)\n"
GOOD = "def mean(values):\n    return sum(values) / len(values)\n"
TESTS = ("import unittest\n\nfrom calc import mean\n\n\nclass T(unittest.TestCase):\n"
         "    def test_mean(self):\n        self.assertEqual(mean([1, 2, 3]), 2.0)\n")


def calc_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"calc.py": CALC, "test_calc.py": TESTS})


def localize_and_fix(stub, path: str = "calc.py") -> None:
    stub.reply("Here.", calls=[("select_files", {"paths": [path]})])
    stub.reply(calls=[("select_definitions", {"names": [f"{path}:mean"]})])
    stub.reply("Fixing.", calls=[("replace_symbol", {"name": f"{path}:mean", "new_source": GOOD})])


def fix_cli(repo: Path, stub, out: Path, *extra: str):
    return run_cli("fix", str(repo), "--issue", "mean([1, 2, 3]) is 1.5", "--model",
                   f"openai:gpt-4o@{stub.openai_url}", "--workspace", "local", "--test-cmd",
                   f"{sys.executable} -B -m unittest -v", "--out", str(out), *extra)


@pytest.mark.attack("`fix --apply` on a repository where q\"uote.py has uncommitted changes",
                    expected="refused, exit 2, naming q\"uote.py; the tree unchanged")
def test_fix_apply_refuses_over_uncommitted_changes_in_a_quoted_name(tmp_path, stub_llm):
    name = 'q"uote.py'
    repo = make_repo(tmp_path / "repo", {name: CALC, "test_calc.py": TESTS.replace("from calc import mean", (
        "import importlib.util\nspec = importlib.util.spec_from_file_location('q', 'q\"uote.py')\n"
        "q = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(q)\nmean = q.mean"))})
    (repo / name).write_text(CALC + "\n# my own uncommitted note\n")
    localize_and_fix(stub_llm, name)
    stub_llm.reply("Done.")
    before = tree_snapshot(repo)
    proc = fix_cli(repo, stub_llm, tmp_path / "run", "--apply")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "patchwright: error: not applied: q\"uote.py has uncommitted changes" in proc.stderr
    assert tree_snapshot(repo) == before
    assert "+    return sum(values) / len(values)" in (tmp_path / "run" / "patch.diff").read_text()


def failing_run(stub) -> None:
    """A run that edits, then loses its model (the server answers 400): status error, a patch so far."""
    localize_and_fix(stub)
    stub.fail(400, message="the model went away")


@pytest.mark.attack("`fix --apply` when the run ends with status error (its patch so far exists)",
                    expected="not applied, the reason said, exit 1; the tree unchanged")
def test_fix_apply_does_not_apply_the_patch_of_a_failed_run(tmp_path, stub_llm):
    repo = calc_repo(tmp_path)
    failing_run(stub_llm)
    before = tree_snapshot(repo)
    proc = fix_cli(repo, stub_llm, tmp_path / "run", "--apply")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "status: error" in proc.stdout and "applied to your working tree" not in proc.stdout
    assert "not applied: the run ended with status error; only a verified or submitted patch is applied" \
        in proc.stdout
    assert tree_snapshot(repo) == before
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["applied"] is False and summary["apply_note"].startswith("the run ended with status error")


@pytest.mark.attack("the workspace breaks after an edit (its git directory removed): the run ends in error",
                    expected="summary.json's files_changed lists exactly the files of patch.diff")
def test_summary_always_agrees_with_patch_diff(tmp_path, stub_llm):
    repo = calc_repo(tmp_path)
    bad = "def mean(values):\n    return sum(values) / (len(values) - 1)\n"
    stub_llm.reply("Here.", calls=[("select_files", {"paths": ["calc.py"]})])
    stub_llm.reply(calls=[("select_definitions", {"names": ["calc.py:mean"]})])
    stub_llm.reply("Fixing.", calls=[("replace_symbol", {"name": "calc.py:mean", "new_source": bad})])
    stub_llm.reply("Done.")  # the tests fail: back to editing, with the patch so far checkpointed
    stub_llm.reply("Oops.", calls=[("bash", {"command": "rm -rf .git"})])
    stub_llm.reply("Done.")
    proc = fix_cli(repo, stub_llm, tmp_path / "run", "--json")
    assert proc.returncode == 1, proc.stderr[-2000:]
    patch = (tmp_path / "run" / "patch.diff").read_text()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "error" and "(len(values) - 1)" in patch
    assert summary["files_changed"] == touched_files(patch) == ["calc.py"]
    assert [a["files_changed"] for a in summary["attempts"]] == [["calc.py"]]
    assert json.loads(proc.stdout)["files_changed"] == ["calc.py"]


# -- what the agent or the tests leave behind ------------------------------------------------------

LITTER = ("printf 'PK\\003\\004\\000\\001' > blob.zip && echo trace > debug.log && mkdir -p .mypy_cache pkg.egg-info "
          "&& echo '{}' > .mypy_cache/cache.json && echo x > pkg.egg-info/PKG-INFO "
          "&& python -c \"import sqlite3; sqlite3.connect('state.sqlite').execute('create table t(x)').connection"
          ".commit()\" && chmod +x test_calc.py && ln -s /etc/passwd passwd && ln -s calc.py alias.py")


@pytest.mark.attack("the agent leaves a binary file, a log, caches, a SQLite file, a chmod and a symlink to "
                    "/etc/passwd in the tree", expected="only the fix in patch.diff; the rest listed as left out")
def test_the_final_patch_leaves_out_what_the_agent_left_behind(tmp_path, stub_llm):
    repo = calc_repo(tmp_path)
    localize_and_fix(stub_llm)
    stub_llm.reply("Checking.", calls=[("bash", {"command": LITTER})])
    stub_llm.reply("Done.")
    proc = fix_cli(repo, stub_llm, tmp_path / "run", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    patch = (tmp_path / "run" / "patch.diff").read_text()
    assert summary["status"] == "verified"
    assert touched_files(patch) == summary["files_changed"] == ["alias.py", "calc.py"]  # an inside link stays
    assert sorted(summary["left_out"]) == [".mypy_cache/cache.json (junk)", "blob.zip (binary)", "debug.log (junk)",
                                           "passwd (symlink)", "pkg.egg-info/PKG-INFO (junk)", "state.sqlite (junk)",
                                           "test_calc.py (mode)"]
    assert "/etc/passwd" not in patch and "old mode" not in patch
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["left_out"] == summary["left_out"]


def test_patch_hygiene_keeps_what_the_policy_asks_for_and_the_rest_applies(tmp_path):
    from sandbox.hygiene import PatchPolicy, clean_patch

    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", "run.sh": "echo hi\n"})
    (repo / "a.py").write_text("x = 2\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "a.py").chmod(0o755)  # a content change with a chmod: the content stays
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00\x01")
    (repo / "up").symlink_to("../outside")
    git(repo, "add", "-A")
    diff = git(repo, "-c", "core.quotepath=off", "diff", "--cached", "--no-renames")
    patch, left = clean_patch(diff)
    assert sorted(map(str, left)) == ["__pycache__/a.cpython-311.pyc (junk)", "a.py (mode)", "run.sh (mode)",
                                      "up (symlink)"]
    assert touched_files(patch) == ["a.py"]
    git(repo, "reset", "-q", "--hard")
    subprocess.run(["git", "-C", str(repo), "apply", "-"], input=patch.encode(), check=True)
    assert (repo / "a.py").read_text() == "x = 2\n" and not (repo / "a.py").stat().st_mode & 0o111
    kept, left = clean_patch(diff, PatchPolicy(keep_mode=True, keep_outside_symlinks=True, keep_junk=True,
                                               keep_binary=True))
    assert kept == diff and left == []
