"""Environments built with a real engine for small repositories made here: each kind of project
builds an image whose tests run (or fails with the one line saying what to state in
[tool.patchwright]); the tag survives source edits and follows dependency files. Each image is
built once per test session. Build containers reach PyPI as every image build does; nothing else
uses the network."""

from __future__ import annotations

import json

import pytest

from conftest import make_repo, run_cli

pytestmark = pytest.mark.docker

PY311 = 'requires-python = ">=3.9,<3.12"\n'
TEST_SIX = "import six\n\n\ndef test_six():\n    assert six.PY3\n"

KINDS = {
    "setuptools-extra": {
        "setup.py": "from setuptools import setup\nsetup(name='demo', version='1', packages=['demo'],\n"
                    "      python_requires='>=3.9,<3.12', extras_require={'test': ['pytest', 'six']})\n",
        "demo/__init__.py": "def add(a, b):\n    return a + b\n",
        "tests/test_demo.py": "import six\nfrom demo import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
                              "def test_six():\n    assert six.PY3\n",
    },
    "poetry-groups": {
        "pyproject.toml": '[build-system]\nrequires = ["poetry-core>=1.0"]\nbuild-backend = "poetry.core.masonry.api"\n'
                          '[tool.poetry]\nname = "pdemo"\nversion = "0.1.0"\ndescription = ""\nauthors = ["a <a@b.c>"]\n'
                          'packages = [{include = "pdemo"}]\n[tool.poetry.dependencies]\npython = ">=3.9,<3.12"\n'
                          '[tool.poetry.group.test.dependencies]\npytest = ">=7"\ntomli-w = "^1.0"\n',
        "pdemo/__init__.py": "NAME = 'pdemo'\n",
        "tests/test_p.py": "import tomli_w\nfrom pdemo import NAME\n\n\ndef test_dump():\n"
                           "    assert tomli_w.dumps({'n': NAME}) == 'n = \"pdemo\"\\n'\n",
    },
    "pep735-groups": {
        "pyproject.toml": '[build-system]\nrequires = ["flit_core>=3.4"]\nbuild-backend = "flit_core.buildapi"\n'
                          f'[project]\nname = "gdemo"\nversion = "1"\ndescription = "d"\n{PY311}'
                          '[dependency-groups]\ntests = ["pytest", {include-group = "extra"}]\nextra = ["six"]\n',
        "gdemo/__init__.py": "",
        "tests/test_g.py": TEST_SIX,
    },
    "requirements-dev": {
        "requirements-dev.txt": "pytest\nsix\n",
        ".python-version": "3.11\n",
        "tool.py": "def double(x):\n    return 2 * x\n",
        "tests/test_tool.py": "import six\nfrom tool import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
    },
    "tox-deps": {
        "setup.cfg": "[metadata]\nname = tdemo\nversion = 1\n[options]\npackages = tdemo\npython_requires = >=3.9,<3.12\n",
        "setup.py": "from setuptools import setup\nsetup()\n",
        "tox.ini": "[tox]\nenvlist = py311\n[testenv]\ndeps =\n    pytest\n    six\ncommands = pytest {posargs} tests\n",
        "tdemo/__init__.py": "",
        "tests/test_t.py": TEST_SIX,
    },
    "pytest-plugin": {
        "pyproject.toml": f'[project]\nname = "x"\nversion = "1"\n{PY311}[build-system]\nrequires = ["setuptools"]\n'
                          'build-backend = "setuptools.build_meta"\n[tool.setuptools]\npackages = []\n'
                          '[tool.pytest.ini_options]\naddopts = "--timeout=60"\n',
        "tests/test_x.py": "def test_x():\n    assert True\n",
    },
}


@pytest.fixture(scope="session")
def built(docker_engine, base_image, tmp_path_factory):
    """{kind: (repo path, Environment)}: each kind's image, built once per session."""
    from sandbox.environment import environment_for

    out = {}
    for kind, files in KINDS.items():
        repo = make_repo(tmp_path_factory.mktemp("envrepos") / kind, files)
        out[kind] = (repo, environment_for(repo))
    return out


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_builds_and_its_tests_run(built, kind):
    from sandbox.environment import open_environment
    from sandbox.environment.check import check

    repo, env = built[kind]
    assert env.recipe.python == "3.11" and env.image.startswith("patchwright/repo-env:")
    assert not env.missing and not env.note
    with open_environment(env, repo) as ws:
        res = check(ws, env.recipe, budget=120)
    assert res.complete, res.to_dict()
    assert res.collected >= 1 and res.passed == res.collected and res.failed == res.errors == 0


def test_editable_install_sees_the_workspace_source(built):
    """The workspace's copy of the tree is what the tests import (an edit there is seen)."""
    from sandbox.environment import open_environment

    repo, env = built["setuptools-extra"]
    assert env.install == "editable"
    with open_environment(env, repo) as ws:
        assert ws.diff() == ""  # what the install generated is put back, and is no part of a diff
        ws.write_file("demo/__init__.py", "def add(a, b):\n    return a - b\n")
        res = ws.run("python -m pytest -q -p no:cacheprovider tests/test_demo.py::test_add")
    assert res.exit_code == 1 and "1 failed" in res.output


def test_tag_stable_under_source_edits_and_changes_with_dependencies(built):
    from sandbox.environment import DirTree, env_tag, environment_for, recipe_for

    repo, env = built["requirements-dev"]
    (repo / "tool.py").write_text("def double(x):\n    return x + x\n")
    (repo / "tests/test_more.py").write_text("def test_more():\n    assert 1\n")
    again = environment_for(repo)
    assert again.image == env.image and not again.built and again.seconds < 5

    def tag() -> str:
        return env_tag(recipe_for(DirTree(repo)), DirTree(repo), "requirements-dev", "base")

    before = tag()
    (repo / "requirements-dev.txt").write_text("pytest\nsix>=1.16\n")
    try:
        assert tag() != before
    finally:
        (repo / "requirements-dev.txt").write_text("pytest\nsix\n")
    assert tag() == before


def test_not_a_python_project_gets_the_base_image_and_a_note(docker_engine, base_image, tmp_path):
    repo = make_repo(tmp_path / "go", {"main.go": "package main\n", "README.md": "# go\n"})
    res = run_cli("env", str(repo), "--json", "--python", "3.11")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["image"] == base_image and out["recipe"]["kind"] == "none"
    assert any("not a Python project" in n for n in out["notes"])


def test_broken_install_fails_with_one_line_naming_tool_patchwright(docker_engine, base_image, tmp_path):
    repo = make_repo(tmp_path / "broken", {
        "setup.py": "import sys\nsys.exit('this project needs libfrob (apt install libfrob-dev)')\n",
        ".python-version": "3.11\n", "tests/test_b.py": "def test_b():\n    pass\n"})
    res = run_cli("env", str(repo))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("patchwright: error: installing the project (pip install -e \".\") failed: ")
    assert "[tool.patchwright]" in lines[-1] and "Traceback" not in res.stderr


def test_env_check_json_reports_the_figures(built):
    repo, env = built["pytest-plugin"]
    res = run_cli("env", str(repo), "--check", "--json", "--budget", "120")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["image"] == env.image and out["built"] is False
    assert out["check"]["collected"] == 1 and out["check"]["passed"] == 1 and out["complete"] is True
    assert "pytest-timeout" in out["recipe"]["requirements"]


def test_env_check_exits_non_zero_naming_the_missing_module(built, tmp_path):
    repo, env = built["pep735-groups"]
    # imported under a block, so detection does not guess it (a guess would change the recipe)
    (repo / "tests/test_missing.py").write_text("if True:\n    import xmlschema\n\n\ndef test_m():\n    pass\n")
    try:
        res = run_cli("env", str(repo), "--check", "--budget", "120")
    finally:
        (repo / "tests/test_missing.py").unlink()
    assert res.returncode == 1, res.stdout + res.stderr
    assert "cannot collect tests/test_missing.py: No module named 'xmlschema'" in res.stdout
    assert "environment: cannot import xmlschema; 1 test file cannot be collected" in res.stdout


def test_harness_default_spec_detects_a_self_made_task(docker_engine, base_image, tmp_path):
    """An instance whose repository no spec names is built and graded with the detected environment:
    its test extra's pytest is installed, so gold resolves it."""
    from conftest import git
    from harness.evaluation import EvalOptions, evaluate_instance
    from harness.instance import Instance, Prediction
    from harness.specs import SpecTable

    repo = make_repo(tmp_path / "mirrors" / "someone__calc", {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
                          f'[project]\nname = "calc"\nversion = "1"\n{PY311}'
                          '[project.optional-dependencies]\ntest = ["pytest>=7", "six"]\n'
                          '[tool.setuptools]\npackages = ["calc"]\n',
        "calc/__init__.py": "def mean(xs):\n    return sum(xs) / (len(xs) + 1)\n",
        "tests/test_calc.py": "import six\nfrom calc import mean\n\n\ndef test_one():\n    assert mean([2]) == 2\n",
    })
    base = git(repo, "rev-parse", "HEAD").strip()
    gold = ("diff --git a/calc/__init__.py b/calc/__init__.py\n--- a/calc/__init__.py\n+++ b/calc/__init__.py\n"
            "@@ -1,2 +1,2 @@\n def mean(xs):\n-    return sum(xs) / (len(xs) + 1)\n+    return sum(xs) / len(xs)\n")
    test_patch = ("diff --git a/tests/test_more.py b/tests/test_more.py\nnew file mode 100644\n--- /dev/null\n"
                  "+++ b/tests/test_more.py\n@@ -0,0 +1,5 @@\n+from calc import mean\n+\n+\n"
                  "+def test_three():\n+    assert mean([1, 2, 3]) == 2\n")
    inst = Instance(instance_id="someone__calc-1", repo="someone/calc", base_commit=base, version="1",
                    problem_statement="mean() is off", patch=gold, test_patch=test_patch,
                    FAIL_TO_PASS=["tests/test_more.py::test_three"], PASS_TO_PASS=[])
    spec = SpecTable().for_instance(inst, tmp_path / "mirrors")
    assert spec.note.startswith("detected from the repository") and "pytest>=7" in spec.pip_packages
    out = evaluate_instance(inst, Prediction(instance_id=inst.instance_id, model_patch=gold),
                            EvalOptions(mirrors=tmp_path / "mirrors", online=False, report_dir=tmp_path / "report"))
    assert out.status == "resolved", out


CALC = {
    "setup.py": "from setuptools import setup\nsetup(name='calc', version='1', packages=['calc'],\n"
                "      python_requires='>=3.9,<3.12', extras_require={'test': ['pytest', 'six']})\n",
    "calc/__init__.py": "",
    "calc/stats.py": "def mean(values):\n    return sum(values) / (len(values) + 1)\n",
    "tests/test_stats.py": "import six\n\nfrom calc.stats import mean\n\n\ndef test_mean_of_three():\n"
                           "    assert mean([1, 2, 3]) == 2\n\n\ndef test_six():\n    assert six.PY3\n",
    ".gitignore": "__pycache__/\n*.egg-info/\n",
}
GOOD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"


def test_fix_in_docker_runs_the_real_tests_in_the_detected_environment(docker_engine, base_image, tmp_path):
    """`fix` with a replayed model, Docker by default: the workspace is the detected environment, so the
    suite (pytest and six, from the test extra) really runs before and after the edit."""
    from agent.runtime import AgentConfig
    from patchwright import api

    repo = make_repo(tmp_path / "calc", CALC)
    cassette = tmp_path / "cassette.jsonl"
    turns = [
        {"tool_calls": [{"name": "select_files", "arguments": {"paths": ["calc/stats.py"]}}]},
        {"tool_calls": [{"name": "select_definitions", "arguments": {"names": ["calc/stats.py:mean"]}}]},
        {"tool_calls": [{"name": "replace_symbol", "arguments": {"name": "calc/stats.py:mean",
                                                                   "new_source": GOOD_MEAN}}]},
        {"text": "Fixed mean."},
    ]
    cassette.write_text("".join(json.dumps(t) + "\n" for t in turns))
    out = api.fix(repo, "mean([1, 2, 3]) returns 1.5", f"replay:{cassette}", out=tmp_path / "run",
                  agent=AgentConfig(max_review_rounds=0))
    assert out.status == "resolved", out.message
    assert out.test_command.startswith("python -m pytest -rA") and out.environment == ""
    assert out.tests_before["tests/test_stats.py::test_mean_of_three"] == "FAILED"
    assert out.tests_before["tests/test_stats.py::test_six"] == "PASSED"  # six is installed
    assert out.tests_after["tests/test_stats.py::test_mean_of_three"] == "PASSED"
    assert out.files_changed == ["calc/stats.py"]  # nothing the install generated is in the patch


def test_an_incomplete_environment_is_said_in_the_first_observation(built):
    from agent.fix import FixRequest
    from agent.prompting import render
    from patchwright.api import with_environment
    from sandbox.factory import open_workspace

    repo, _ = built["pep735-groups"]
    (repo / "tests/test_missing.py").write_text("if True:\n    import xmlschema\n\n\ndef test_m():\n    pass\n")
    try:
        with open_workspace(str(repo), "docker", None) as ws:
            request = with_environment(FixRequest(repo=str(repo), issue="x", model="replay:x"), ws)
    finally:
        (repo / "tests/test_missing.py").unlink()
    note = "environment: cannot import xmlschema; 1 test file cannot be collected"
    assert request.environment == note and request.test_cmd.startswith("python -m pytest")
    assert note in render("task", issue="x", environment=request.environment)
