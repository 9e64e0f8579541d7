"""Environment detection on small repository trees made here: what is installed, which Python,
which test command, where each fact came from; the repository's config; the image tag."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from sandbox.environment import (
    DirTree,
    EnvironmentConfigError,
    GitTree,
    env_tag,
    recipe_for,
)

PYTHONS = ["3.9", "3.11", "3.13"]


def make(tmp_path, files: dict[str, str]):
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return tmp_path


def recipe(tmp_path, files, pythons=PYTHONS):
    return recipe_for(DirTree(make(tmp_path, files)), pythons)


def names(r) -> set[str]:
    from sandbox.environment.reqs import req_name

    return {req_name(x) for x in r.requirements}


def source_of(r, what, value_start):
    return next(f.source for f in r.facts if f.what == what and f.value.startswith(value_start))


TEST = {"tests/test_a.py": "def test_a():\n    assert True\n"}


def test_setuptools_test_extra_in_setup_py(tmp_path):
    r = recipe(tmp_path, {**TEST, "setup.py": """
        from setuptools import setup
        TESTS = ["pytest>=7", "freezegun"]
        setup(name="demo", install_requires=["requests"], extras_require={"test": TESTS, "docs": ["sphinx"]},
              python_requires=">=3.8")
        """})
    assert r.project and r.extras == ["test"]
    assert {"requests", "pytest", "freezegun"} <= names(r) and "sphinx" not in names(r)
    assert r.test.parser == "pytest" and r.test.command.startswith("python -m pytest -rA")
    assert source_of(r, "requirement", "freezegun") == "extras -> extra test"
    assert r.python == "3.13"


def test_pyproject_extras_prefer_test_over_dev(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "demo"
        version = "1"
        dependencies = ["attrs"]
        [project.optional-dependencies]
        tests = ["pytest", "demo[speed]"]
        speed = ["ujson"]
        dev = ["black"]
        """})
    assert r.extras == ["tests", "speed"]  # a self-reference brings its extra along
    assert {"attrs", "pytest", "ujson"} <= names(r) and "black" not in names(r)


def test_poetry_groups_and_dev_dependencies(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": """
        [build-system]
        requires = ["poetry-core"]
        build-backend = "poetry.core.masonry.api"
        [tool.poetry]
        name = "demo"
        [tool.poetry.dependencies]
        python = "^3.10"
        click = "^8.1"
        local = {path = "../local"}
        [tool.poetry.group.test.dependencies]
        pytest = "~7.4"
        hypothesis = {version = "^6.0", extras = ["cli"]}
        [tool.poetry.group.docs.dependencies]
        sphinx = "*"
        """})
    assert "click>=8.1,<9" in r.requirements
    assert "pytest>=7.4,<7.5" in r.requirements and "hypothesis[cli]>=6.0,<7" in r.requirements
    assert "sphinx" not in names(r) and "local" not in names(r)
    assert r.python == "3.13"  # ^3.10 admits 3.13
    r2 = recipe(tmp_path / "old", {**TEST, "pyproject.toml": """
        [tool.poetry]
        name = "old"
        [tool.poetry.dev-dependencies]
        pytest = "^6.2"
        [build-system]
        requires = ["poetry-core"]
        build-backend = "poetry.core.masonry.api"
        """})
    assert "pytest>=6.2,<7" in r2.requirements
    assert source_of(r2, "requirement", "pytest") == "pyproject.toml [tool.poetry.group.dev]"


def test_pep735_groups_with_include(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": """
        [build-system]
        requires = ["flit_core"]
        build-backend = "flit_core.buildapi"
        [project]
        name = "demo"
        version = "1"
        [dependency-groups]
        tests = ["pytest", {include-group = "typing"}]
        typing = ["mypy"]
        dev = ["ruff", {include-group = "tests"}]
        """})
    assert {"pytest", "mypy"} <= names(r) and "ruff" not in names(r)
    assert source_of(r, "requirement", "mypy") == "pyproject.toml [dependency-groups] tests"


def test_one_requirement_under_different_markers_keeps_each_line(tmp_path):
    """boltons: `dev = ["pytest>=7,<8; python_version < '3.8'", "pytest>=8; python_version >= '3.8'"]`
    kept only the first line, which installs nothing on 3.13: the tests found no pytest."""
    r = recipe(tmp_path, {**TEST, "pyproject.toml": """
        [build-system]
        requires = ["flit_core"]
        build-backend = "flit_core.buildapi"
        [project]
        name = "demo"
        version = "1"
        dependencies = ["attrs", "attrs>=20"]
        [dependency-groups]
        dev = ["pytest>=7,<8; python_version < '3.8'", "pytest>=8; python_version >= '3.8'",
               "pytest>=8; python_version >= '3.8'"]
        """})
    assert [q for q in r.requirements if q.startswith("pytest")] == [
        "pytest>=7,<8; python_version < '3.8'", "pytest>=8; python_version >= '3.8'"]
    assert [q for q in r.requirements if q.startswith("attrs")] == ["attrs"]  # unmarked: the first stays alone


def test_requirements_dev_txt_with_includes(tmp_path):
    r = recipe(tmp_path, {**TEST, "setup.py": "from setuptools import setup\nsetup(name='demo')\n",
                          "requirements.txt": "six\n",
                          "requirements-dev.txt": "-r requirements.txt\n-e .[extra]\npytest-randomly  # order\n"
                                                  "-c constraints.txt\n./vendor/thing\n"})
    assert {"six", "pytest-randomly", "pytest"} <= names(r)
    assert r.extras == ["extra"]
    assert any("./vendor/thing" in n for n in r.notes)
    assert {"requirements.txt", "requirements-dev.txt"} <= set(r.dependency_files)


def test_requirements_test_dir_wins_over_dev(tmp_path):
    r = recipe(tmp_path, {**TEST, "requirements/dev.txt": "sphinx\n", "requirements/tests.txt": "pytest\nmock\n"})
    assert {"pytest", "mock"} <= names(r) and "sphinx" not in names(r)
    assert not r.project  # no pyproject.toml or setup.py: nothing of the repository is installed


def test_tox_deps_extras_and_paths(tmp_path):
    r = recipe(tmp_path, {"src/demo/__init__.py": "", "testing/test_x.py": "import pytest\n",
                          "setup.cfg": "[metadata]\nname = demo\n[options.extras_require]\nfast = uvloop\n",
                          "setup.py": "from setuptools import setup\nsetup()\n",
                          "tox.ini": """
        [tox]
        envlist = py{38,39,310}
        [testenv]
        deps =
            pytest-xdist
            py38: importlib-metadata
            -r{toxinidir}/requirements-ci.txt
        extras = fast
        commands = pytest {posargs} testing
        """, "requirements-ci.txt": "coverage\n"})
    assert {"pytest-xdist", "coverage", "uvloop"} <= names(r) and "importlib-metadata" not in names(r)
    assert r.extras == ["fast"]
    assert r.test.command.endswith("-o testpaths=testing")
    assert r.python == "3.9"  # tested on 3.8-3.10: the newest available among them


def test_nox_sessions_read_statically(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": '[project]\nname="demo"\nversion="1"\n'
                                                    '[project.optional-dependencies]\nhttp=["httpx"]\n',
                          "requirements/unit.txt": "responses\n", "noxfile.py": """
        import nox
        DEPS = ["pretend", "freezegun"]
        @nox.session
        def tests(session):
            session.install("-e", ".[http]", *DEPS)
            session.install("-r", "requirements/unit.txt")
            session.run("pytest", "tests")
        @nox.session
        def docs(session):
            session.install("sphinx")
        """})
    assert {"pretend", "freezegun", "responses", "httpx"} <= names(r) and "sphinx" not in names(r)
    assert r.extras == ["http"]
    assert source_of(r, "requirement", "pretend") == "noxfile.py tests()"


def test_pipfile(tmp_path):
    r = recipe(tmp_path, {**TEST, "Pipfile": '[packages]\nrequests = "*"\n[dev-packages]\npytest = ">=7"\n'
                                             'gitdep = {git = "https://example.invalid/x.git"}\n'})
    assert "requests" in r.requirements and "pytest>=7" in r.requirements and "gitdep" not in names(r)


def test_pytest_plugins_from_config(tmp_path):
    r = recipe(tmp_path, {**TEST, "pytest.ini": """
        [pytest]
        addopts = -p pytest_mock --cov=demo -n auto -p no:cacheprovider -p xdist --timeout=30
        required_plugins = pytest-randomly>=3 pytest-env
        asyncio_mode = auto
        """})
    assert {"pytest", "pytest-mock", "pytest-cov", "pytest-xdist", "pytest-timeout", "pytest-randomly",
            "pytest-env", "pytest-asyncio"} <= names(r)
    assert "pytest-randomly>=3" in r.requirements
    assert source_of(r, "requirement", "pytest-cov") == "pytest.ini addopts --cov=demo"


def test_fixtures_markers_and_conftest_imports(tmp_path):
    r = recipe(tmp_path, {"tests/conftest.py": "import trustme\nimport helpers\nfrom yaml import safe_load\n"
                                               "import os\ntry:\n    import optional_thing\nexcept ImportError:\n    pass\n",
                          "tests/helpers.py": "",
                          "tests/test_b.py": "import pytest\n@pytest.mark.asyncio\nasync def test_b(mocker):\n    pass\n"})
    assert {"pytest", "pytest-asyncio", "pytest-mock"} <= names(r)
    assert r.optional == ["trustme", "PyYAML"]  # not os, not a local module, not a guarded import
    assert source_of(r, "optional", "trustme") == "tests/conftest.py imports trustme (a guess: declared nowhere)"


def test_test_imports_use_what_the_project_declares_elsewhere(tmp_path):
    r = recipe(tmp_path, {"pyproject.toml": '[project]\nname="demo"\nversion="1"\n'
                                            '[project.optional-dependencies]\ndiagrams=["railroad-diagrams>=1"]\n',
                          "tests/test_d.py": "import railroad\nimport pytest\n",
                          "tests/test_e.py": "import onlyhere\n"})
    assert r.optional == ["railroad-diagrams>=1"]  # the declared distribution, not PyPI's `railroad`
    assert any("onlyhere" in n for n in r.notes)  # one test file's import is not guessed


def test_unittest_suite(tmp_path):
    r = recipe(tmp_path, {"demo/__init__.py": "", "demo/tests/__init__.py": "",
                          "demo/tests/test_core.py": "import unittest\nclass T(unittest.TestCase):\n    pass\n",
                          "setup.py": "from setuptools import setup\nsetup(name='demo')\n"})
    assert r.test.parser == "unittest" and r.test.command == "python -m unittest -v" and r.test.takes_files
    assert "pytest" not in names(r)
    r2 = recipe(tmp_path / "t", {"tests/test_x.py": "import unittest\n", "x.py": ""})
    assert r2.test.command == "python -m unittest discover -v -s tests"


def test_not_a_python_project(tmp_path):
    r = recipe(tmp_path, {"main.go": "package main\n", "README.md": "hi\n"})
    assert r.kind == "none" and r.test is None and not r.requirements
    assert "not a Python project" in r.notes[0]


def test_c_extension_gets_a_compiler(tmp_path):
    r = recipe(tmp_path, {**TEST, "setup.py": "from setuptools import setup, Extension\n"
                                              "setup(name='c', ext_modules=[Extension('c._x', ['src/x.c'])])\n",
                          "src/x.c": "int x;\n"})
    assert "gcc" in r.apt_packages
    assert source_of(r, "apt", "gcc") == "setup.py declares C extensions"


def test_generated_c_sources_are_made_with_cython_first(tmp_path):
    r = recipe(tmp_path, {**TEST, "requirements.txt": "Cython~=3.0\n",
                          "setup.py": "from setuptools import setup, Extension\n"
                                      "setup(ext_modules=[Extension('m._c', sources=['m/_c.c'])])\n",
                          "m/_c.pyx": "cdef int x\n", "m/__init__.py": ""})
    assert r.prepare == ["python -m cython m/_c.pyx"] and "Cython~=3.0" in r.requirements
    assert "gcc" in r.apt_packages


def test_lock_file_pins_become_constraints(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": '[project]\nname="demo"\nversion="1"\n'
                                                    '[dependency-groups]\ntests=["pytest"]\n',
                          "uv.lock": '[[package]]\nname = "pytest"\nversion = "8.3.4"\n'
                                     '[[package]]\nname = "demo"\nversion = "1"\nsource = { editable = "." }\n'
                                     '[[package]]\nname = "numpy"\nversion = "1.26.4"\n'
                                     '[[package]]\nname = "numpy"\nversion = "2.1.0"\n'})
    assert r.constraints == ["pytest==8.3.4"]  # not the project itself, not a package locked at two versions
    assert "uv.lock" in r.dependency_files


@pytest.mark.parametrize("files, expected, source", [
    ({"pyproject.toml": '[project]\nname="d"\nrequires-python=">=3.8,<3.12"\n'}, "3.11", "requires-python"),
    ({"setup.py": "from setuptools import setup\nsetup(python_requires='<3.10')\n"}, "3.9", "python_requires"),
    ({"setup.cfg": "[metadata]\nname=d\nclassifiers =\n    Programming Language :: Python :: 3.9\n"
                   "    Programming Language :: Python :: 3.10\n"}, "3.9", "classifiers"),
    ({".python-version": "3.11.4\n", "pyproject.toml": '[project]\nname="d"\n'}, "3.11", ".python-version"),
    ({"runtime.txt": "python-3.12.1\n"}, "3.11", "runtime.txt"),
    ({"tox.ini": "[tox]\nenvlist = py39, py310-django{4,5}\n"}, "3.9", "tox.ini envlist"),
    ({".github/workflows/ci.yml": "jobs:\n  t:\n    strategy:\n      matrix:\n"
                                  "        python-version: ['3.10', '3.11', '3.12']\n"}, "3.11", "CI workflow"),
    ({"pyproject.toml": '[project]\nname="d"\n'}, "3.13", "newest available"),
])
def test_python_version(tmp_path, files, expected, source):
    r = recipe(tmp_path, {"x.py": "", **files})
    assert r.python == expected
    assert source in source_of(r, "python", expected)


def test_config_in_pyproject_wins(tmp_path):
    r = recipe(tmp_path, {**TEST, "pyproject.toml": """
        [project]
        name = "demo"
        [tool.patchwright]
        python = "3.9"
        apt_packages = ["libxml2-dev"]
        pip_packages = ["lxml"]
        setup = ["make data"]
        test_command = "python -m pytest tests/unit"
        """})
    assert r.python == "3.9" and "libxml2-dev" in r.apt_packages and "lxml" in r.requirements
    assert r.setup == ["make data"] and r.test.command == "python -m pytest tests/unit -rA"
    assert source_of(r, "python", "3.9") == "pyproject.toml [tool.patchwright]"


def test_config_yaml_and_errors(tmp_path):
    r = recipe(tmp_path, {**TEST, ".patchwright.yml": "image: registry.example/dev:1\ntest_command: make test\n"})
    assert r.image == "registry.example/dev:1" and r.test.parser == "exit_code"
    for text, message in [("pyhton: '3.9'\n", ".patchwright.yml: pyhton: unknown key (known: python, "),
                          ("apt_packages: gcc\n", ".patchwright.yml: apt_packages: Input should be a valid list"),
                          ("python: 3.10\n", '.patchwright.yml: python: quote the version (python: "3.10"'),
                          ("python: '3.9.1'\n", ".patchwright.yml: python: expected a version like 3.12, got '3.9.1'"),
                          ("python: '2.7'\n", ".patchwright.yml: python: expected a version like 3.12, got '2.7'"),
                          ("- a\n", ".patchwright.yml: expected a mapping of keys, got list"),
                          ("a: [\n", ".patchwright.yml: not valid YAML")]:
        (tmp_path / ".patchwright.yml").write_text(text)
        with pytest.raises(EnvironmentConfigError) as exc:
            recipe_for(DirTree(tmp_path), PYTHONS)
        assert str(exc.value).startswith(message) and "\n" not in str(exc.value)


def test_git_tree_reads_a_commit(tmp_path):
    make(tmp_path, {**TEST, "pyproject.toml": '[project]\nname="d"\ndependencies=["six"]\n'})
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (tmp_path / "pyproject.toml").write_text('[project]\nname="d"\ndependencies=["attrs"]\n')
    assert "six" in recipe_for(GitTree(tmp_path / ".git"), PYTHONS).requirements
    assert "attrs" in recipe_for(DirTree(tmp_path), PYTHONS).requirements
    # the newest release tag is the version a tag-versioned build gets in the image (which has no tags)
    assert recipe_for(DirTree(tmp_path), PYTHONS).version is None
    subprocess.run([*git, "tag", "v1.4.0"], check=True)
    before = env_tag(recipe_for(DirTree(tmp_path), PYTHONS), DirTree(tmp_path), "d")
    assert recipe_for(DirTree(tmp_path), PYTHONS).version == "1.4.0"
    assert recipe_for(GitTree(tmp_path), PYTHONS).version == "1.4.0"
    subprocess.run([*git, "tag", "v1.5.0"], check=True)
    assert env_tag(recipe_for(DirTree(tmp_path), PYTHONS), DirTree(tmp_path), "d") == before  # not in the tag


def test_tag_hashes_recipe_and_dependency_files_only(tmp_path):
    make(tmp_path, {**TEST, "src/demo/core.py": "x = 1\n", "requirements-dev.txt": "pytest\n",
                    "setup.py": "from setuptools import setup\nsetup(name='demo', install_requires=['six'])\n"})

    def tag():
        return env_tag(recipe_for(DirTree(tmp_path), PYTHONS), DirTree(tmp_path), "demo", "base:1")

    first = tag()
    assert first.startswith("patchwright/repo-env:demo-py3.13-")
    (tmp_path / "src/demo/core.py").write_text("x = 2\n")
    (tmp_path / "tests/test_a.py").write_text("def test_a():\n    assert 1\n")
    assert tag() == first
    (tmp_path / "requirements-dev.txt").write_text("pytest>=8\n")
    second = tag()
    assert second != first
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(name='demo', install_requires=get())\n")
    assert tag() != second  # a dynamic setup.py: its text is hashed


def _committed_at(path, date: str):
    env = {"GIT_AUTHOR_DATE": f"{date}T12:00:00Z", "GIT_COMMITTER_DATE": f"{date}T12:00:00Z"}
    from sandbox import git

    git.commit_all(path, "x", env=env)
    return path


@pytest.mark.parametrize("config, date, bound", [
    ({"setup.cfg": "[tool:pytest]\nfilterwarnings =\n    error\n    ignore::UserWarning\n"}, "2026-03-03", "pytest<9.1"),
    ({"pyproject.toml": '[project]\nname="d"\n[tool.pytest.ini_options]\n'
                        'filterwarnings = ["error::DeprecationWarning"]\n'}, "2024-05-01", "pytest<8.3"),
    ({"pytest.ini": "[pytest]\naddopts = -W error -q\n"}, "2020-01-01", "pytest<5.4"),
    ({"pytest.ini": "[pytest]\naddopts = -Werror::pytest.PytestDeprecationWarning\n"}, "2025-12-01", "pytest<9.1"),
    ({"setup.cfg": "[tool:pytest]\nfilterwarnings = ignore::DeprecationWarning\n"}, "2026-03-03", None),
    ({"setup.cfg": "[tool:pytest]\nfilterwarnings = error\n"}, "2099-01-01", None),  # newer than every release known
])
def test_pytest_is_kept_below_the_release_after_the_last_commit_when_warnings_are_errors(tmp_path, config, date,
                                                                                         bound):
    tree = DirTree(_committed_at(make(tmp_path, {**TEST, **config}), date))
    assert tree.date() == date
    r = recipe_for(tree, PYTHONS)
    if bound is None:
        assert not any(c.startswith("pytest") for c in r.constraints)
        assert not any("warnings into errors" in n for n in r.notes)
        return
    assert r.constraints == [bound]
    assert "pytest" in names(r)
    assert any(n.startswith(f"{bound}: ") and "warnings into errors" in n and date in n for n in r.notes)
    assert date in source_of(r, "constraints", bound)
    assert GitTree(tmp_path).date() == date


def test_no_bound_without_a_commit_date_or_over_a_locked_pytest(tmp_path):
    r = recipe(tmp_path / "a", {**TEST, "setup.cfg": "[tool:pytest]\nfilterwarnings = error\n"})
    assert r.constraints == []  # not a git repository: no date
    locked = make(tmp_path / "b", {**TEST, "setup.cfg": "[tool:pytest]\nfilterwarnings = error\n",
                                   "pyproject.toml": '[project]\nname="demo"\nversion="1"\n',
                                   "uv.lock": '[[package]]\nname = "pytest"\nversion = "8.3.4"\n'})
    assert recipe_for(DirTree(_committed_at(locked, "2026-03-03")), PYTHONS).constraints == ["pytest==8.3.4"]


DATEUTIL_LIKE = """\
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Install dependencies
        run: python -m pip install -U tox six
      - name: Run updatezinfo.py (Windows)
        run: ci_tools/retry.bat python updatezinfo.py
        if: runner.os == 'Windows'
      - name: Run updatezinfo.py (Unix)
        run: ./ci_tools/retry.sh python updatezinfo.py
      - name: Run tox
        run: python -m tox
      - run: python tools/after.py
  docs:
    steps:
      - run: |
          python setup.py build_ext -i
          python3 -W error docs/make_api.py
          pytest docs
"""


def test_a_script_ci_runs_before_the_tests_is_a_note(tmp_path):
    files = {**TEST, "setup.py": "from setuptools import setup\nsetup(name='d')\n", "updatezinfo.py": "",
             "tools/after.py": "", "docs/make_api.py": "", ".github/workflows/ci.yml": DATEUTIL_LIKE}
    r = recipe(tmp_path / "a", files)
    assert [n for n in r.notes if "CI runs" in n] == [
        "environment: CI runs updatezinfo.py before the tests; [tool.patchwright] setup can run it",
        "environment: CI runs docs/make_api.py before the tests; [tool.patchwright] setup can run it"]
    # the installs of the first step name tox but do not run it; a script after the tests is not one
    stated = recipe(tmp_path / "b", {**files, ".patchwright.yml": "setup: [python updatezinfo.py]\n"})
    assert [n for n in stated.notes if "CI runs" in n] == [
        "environment: CI runs docs/make_api.py before the tests; [tool.patchwright] setup can run it"]
    gone = {k: v for k, v in files.items() if k not in ("updatezinfo.py", "docs/make_api.py")}
    assert not any("CI runs" in n for n in recipe(tmp_path / "c", gone).notes)  # not in the repository


def test_a_fixture_a_required_plugin_provides_adds_no_other_plugin(tmp_path):
    """yarl requires pytest-codspeed, whose `benchmark` fixture its tests use: pytest-benchmark added
    on top warned beside xdist, and `filterwarnings = error` made that a collection error."""
    bench = {"tests/test_speed.py": "def test_fast(benchmark):\n    benchmark(lambda: 1)\n"}
    with_codspeed = recipe(tmp_path / "a", {**bench, "requirements-dev.txt": "pytest\npytest-codspeed==5.0.3\n"})
    assert "pytest-codspeed" in names(with_codspeed) and "pytest-benchmark" not in names(with_codspeed)
    plain = recipe(tmp_path / "b", {**bench, "requirements-dev.txt": "pytest\n"})
    assert "pytest-benchmark" in names(plain)
