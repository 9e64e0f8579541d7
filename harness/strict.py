"""`eval --strict`: patches that touch the test infrastructure are marked suspicious.

The official grade stays as it is (a root `conftest.py` that turns failures into passes is graded
resolved by SWE-bench's harness too). `--strict` adds, per instance, the reasons a reader should
look at the patch before trusting that grade:

- a pytest `conftest.py` anywhere, or `sitecustomize.py` / `usercustomize.py` / a `.pth` file
  (code that runs before or around every test);
- `pytest.ini` or `tox.ini`;
- `setup.cfg`, `pyproject.toml` or `setup.py` where a changed line, or a line next to one, names pytest or
  tox settings (`[tool:pytest]`, `[tool.pytest.ini_options]`, `addopts`, `testpaths`, ...);
- the instance's own test files: those its test patch touches and those its FAIL_TO_PASS and
  PASS_TO_PASS tests are in (`path::name` ids).
"""

from __future__ import annotations

import posixpath
import re

from sandbox.diffs import DiffParseError, file_path, parse, touched_files

from .instance import Instance

HOOK_FILES = ("conftest.py", "sitecustomize.py", "usercustomize.py")
"""Python files that run around every test (by name, anywhere in the tree)."""
TEST_CONFIGS = ("pytest.ini", "tox.ini")
"""Files that hold test settings only."""
MIXED_CONFIGS = ("setup.cfg", "pyproject.toml", "setup.py")
"""Files that hold test settings among others: suspicious when the change is near them."""
_TEST_SETTING = re.compile(
    r"pytest|\btox\b|\[testenv|addopts|testpaths|python_files|python_classes|python_functions|norecursedirs"
    r"|filterwarnings|xfail_strict|usefixtures|required_plugins|confcutdir|rootdir", re.I)


def suspicious_changes(patch: str, instance: Instance) -> list[str]:
    """Why `patch` touches the test infrastructure (one reason per file), or [] when it does not."""
    if not patch or not patch.strip():
        return []
    try:
        files = parse(patch)
    except DiffParseError:
        return []
    own = instance_test_files(instance)
    reasons = []
    for f in files:
        path = file_path(f)
        base = posixpath.basename(path)
        if base in HOOK_FILES or base.endswith(".pth"):
            reasons.append(f"{path}: {'a .pth file' if base.endswith('.pth') else base} runs code around the tests")
        elif base in TEST_CONFIGS:
            reasons.append(f"{path}: test runner settings")
        elif base in MIXED_CONFIGS and any(_TEST_SETTING.search(line.value) for h in f for line in h):
            reasons.append(f"{path}: changes test runner settings")
        elif path in own:
            reasons.append(f"{path}: one of the instance's test files")
    return reasons


def instance_test_files(instance: Instance) -> set[str]:
    """The files the instance's test patch touches and those its tests (`path::name` ids) are in."""
    files = set(touched_files(instance.test_patch)) if instance.test_patch.strip() else set()
    for test in [*instance.FAIL_TO_PASS, *instance.PASS_TO_PASS]:
        if "::" in test:
            files.add(test.split("::", 1)[0])
    return files
