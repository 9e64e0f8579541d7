"""What a test file is: the one rule retrieval (which leaves tests out of its scan) and test
selection (which runs them) share.

A *test path* is any file that belongs to the tests: under a tests directory (or a top-level
`testing/`; nested, that name is usually a package of test helpers), or named like a test module
(`test_x.py`, `x_test.py`, `x_tests.py`, `tests.py`, `conftest.py`, `x_test.go`, `x.test.ts`, `XTest.java`).
A *test module* is a Python test path a runner collects: named `test_*.py`, `*_test.py`,
`*_tests.py` or `tests.py` (Django's) — helpers under `tests/` and `conftest.py` are test paths,
not test modules.
"""

from __future__ import annotations

import posixpath
import re

TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "specs", "testcases"})
_TEST_NAME = re.compile(r"(^test_.*\.py$|^tests\.py$|.*_tests?\.py$|^conftest\.py$|.*_test\.go$|.*\.(test|spec)\.[jt]sx?$|"
                        r".*Tests?\.java$)")
_TEST_MODULE = re.compile(r"^(test_.*|.*_tests?|tests)\.py$")


def is_test_path(path: str) -> bool:
    """Whether `path` (relative to the repository root) belongs to the tests."""
    parts = path.split("/")
    return _TEST_NAME.match(parts[-1]) is not None or any(p in TEST_DIRS for p in parts[:-1]) or \
        (len(parts) > 1 and parts[0] == "testing")


def is_test_module(path: str) -> bool:
    """Whether `path` is a Python test module a test runner collects (a test path named like one)."""
    return _TEST_MODULE.match(posixpath.basename(path)) is not None and is_test_path(path)
