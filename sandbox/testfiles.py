"""What a test file is: the one rule retrieval (which leaves tests out of its scan) and test
selection (which runs them) share.

A *test path* is any file that belongs to the tests: under a tests directory (or a top-level
`testing/`; nested, that name is usually a package of test helpers), or named like a test module
(`test_x.py`, `x_test.py`, `x_tests.py`, `tests.py`, `conftest.py`, `x_test.go`, `x.test.ts`, `XTest.java`).
A *test module* is a Python test path a runner collects: named `test_*.py`, `*_test.py`,
`*_tests.py` or `tests.py` (Django's) — helpers under `tests/` and `conftest.py` are test paths,
not test modules. A repository whose pytest configuration sets `python_files` (pylint's
`*test_*.py` collects `unittest_x.py`) has those patterns instead (`python_files` reads them).
"""

from __future__ import annotations

import configparser
import fnmatch
import posixpath
import re
import tomllib
from collections.abc import Callable, Sequence

TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testcases"})
_TEST_NAME = re.compile(r"(^test_.*\.py$|^tests\.py$|.*_tests?\.py$|^conftest\.py$|.*_test\.go$|.*\.(test|spec)\.[jt]sx?$|"
                        r".*Tests?\.java$)")
_TEST_MODULE = re.compile(r"^(test_.*|.*_tests?|tests)\.py$")
DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
"""pytest's own `python_files`."""
PYTEST_CONFIGS = (("pytest.ini", "pytest"), (".pytest.ini", "pytest"), ("pyproject.toml", None),
                  ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
"""Where pytest looks for its configuration in the root, in its order (the first that has a
pytest section wins; `pytest.ini` wins even without one)."""


def is_test_path(path: str, patterns: Sequence[str] | None = None) -> bool:
    """Whether `path` (relative to the repository root) belongs to the tests; `patterns`: the
    repository's `python_files`, when set (files they match are tests too)."""
    parts = path.split("/")
    return _TEST_NAME.match(parts[-1]) is not None or any(p in TEST_DIRS for p in parts[:-1]) or \
        (len(parts) > 1 and parts[0] == "testing") or (bool(patterns) and _matches(path, patterns))


def is_test_module(path: str, patterns: Sequence[str] | None = None) -> bool:
    """Whether `path` is a Python test module a test runner collects: a test path named like one,
    or, when the repository's pytest configuration sets `python_files` (`patterns`), one they match."""
    if patterns:
        return path.endswith(".py") and _matches(path, patterns) and is_test_path(path, patterns)
    return _TEST_MODULE.match(posixpath.basename(path)) is not None and is_test_path(path)


def _matches(path: str, patterns: Sequence[str]) -> bool:
    """pytest's matching of `python_files`: a pattern without a `/` matches the file name."""
    name = posixpath.basename(path)
    return any(fnmatch.fnmatch(path if "/" in p else name, p) for p in patterns)


def module_named(path: str, patterns: Sequence[str] | None = None) -> str | None:
    """The module a test module is named after: `x` of `test_x.py` or `x_test.py`, and of
    `unittest_x.py` under pylint's `*test_*.py` (the part the pattern's last `*` matches)."""
    name = posixpath.basename(path)
    for p in patterns or DEFAULT_PYTHON_FILES:
        p = posixpath.basename(p)
        if "*" not in p:
            continue
        head, _, tail = p.rpartition("*")
        rx = "".join(".*?" if c == "*" else re.escape(c) for c in head) + "(.+)" + re.escape(tail)
        m = re.fullmatch(rx, name)
        if m and m.group(1) not in ("", ".py"):
            return m.group(1).removesuffix(".py")
    return None


def pytest_table(pyproject: dict) -> dict | None:
    """pytest's options in a parsed pyproject.toml: `[tool.pytest.ini_options]`, else pytest 9's
    native `[tool.pytest]` (its keys that are not tables); None when there is neither."""
    tool = pyproject.get("tool", {}).get("pytest")
    if not isinstance(tool, dict):
        return None
    if isinstance(tool.get("ini_options"), dict):
        return tool["ini_options"]
    return {k: v for k, v in tool.items() if not isinstance(v, dict)} or None


def python_files(files: Sequence[str], read_many: Callable[[list[str]], dict[str, bytes]]) -> tuple[str, ...] | None:
    """The `python_files` patterns of the repository's pytest configuration at its root (pytest.ini,
    pyproject.toml's [tool.pytest.ini_options], tox.ini's [pytest], setup.cfg's [tool:pytest]);
    None when it sets none (or cannot be read)."""
    have = set(files)
    names = [name for name, _ in PYTEST_CONFIGS if name in have]
    texts = read_many(names) if names else {}
    for name, section in PYTEST_CONFIGS:
        if name not in texts:
            continue
        text = texts[name].decode("utf-8", "replace") if isinstance(texts[name], bytes) else texts[name]
        try:
            if section is None:
                options = pytest_table(tomllib.loads(text))
                if options is None:
                    continue
                value = options.get("python_files")
            else:
                parser = configparser.ConfigParser(interpolation=None)
                parser.read_string(text)
                if not parser.has_section(section):
                    if name == "pytest.ini":
                        return None
                    continue
                value = parser.get(section, "python_files", fallback=None)
        except (ValueError, configparser.Error, AttributeError):
            return None
        if not value:
            return None
        patterns = value.split() if isinstance(value, str) else [str(v) for v in value]
        return tuple(patterns) or None
    return None
