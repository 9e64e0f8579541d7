"""How the agent runs a repository's tests: the command, its log parser, and which tests to run.

A `TestPlan` comes from the user's `--test-cmd`, from an environment spec (batch runs), or from
detection (pytest when it is installed in the workspace and the repository has tests, else stdlib
unittest discovery). Running and parsing go through `sandbox.testing` (a `TestCommand`) and its log
parsers; a command whose output no parser knows is judged by its exit code alone, as one pseudo-test
named after the command.

The agent's own reproduction test lives at `REPRO_TEST` (repository root) and throwaway files
under `SCRATCH_DIR`; both are left out of the patch (`SCRATCH`).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from sandbox.log_parsers import ERROR, FAILED, PASSED
from sandbox.testing import TestCommand, run_tests
from sandbox.workspace import Workspace

REPRO_TEST = "test_patchwright_repro.py"
"""Where the agent writes its reproduction test (a test file the test command can run)."""
SCRATCH_DIR = ".patchwright"
"""Where the agent keeps throwaway scripts."""
SCRATCH = [REPRO_TEST, SCRATCH_DIR, "*.pyc"]
"""Paths (git pathspecs) left out of the final patch."""
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}
EXIT_CODE = "exit_code"
"""The pseudo parser of a command whose output no log parser reads."""

_TEST_FILE = re.compile(r"(^|/)(test_[^/]*\.py|[^/]*_test\.py|tests?\.py)$")


@dataclass(frozen=True)
class TestPlan:
    """How to run the tests of one repository."""

    command: str
    """The command that runs the whole suite; test files or ids are appended to it."""
    parser: str
    """A log parser of sandbox.log_parsers (pytest, unittest, ...) or `exit_code`."""
    takes_files: bool = True
    """Whether test files and test ids can be appended to the command."""
    timeout: float = 900
    """Seconds one run may take."""
    env: dict[str, str] = field(default_factory=lambda: dict(TEST_ENV))
    """Environment variables of the test command."""

    def to_dict(self) -> dict:
        return {"command": self.command, "parser": self.parser, "takes_files": self.takes_files,
                "timeout": self.timeout, "env": dict(self.env)}

    @classmethod
    def from_dict(cls, d: dict) -> TestPlan:
        return cls(**d)


@dataclass
class TestResults:
    """One run of the tests."""

    command: str
    statuses: dict[str, str]
    """Status per test: PASSED, FAILED, ERROR, SKIPPED, XFAIL."""
    exit_code: int
    timed_out: bool
    duration: float
    output: str
    """The end of the output (failures and the summary are there)."""

    @property
    def failing(self) -> list[str]:
        return sorted(t for t, s in self.statuses.items() if s in (FAILED, ERROR))

    @property
    def passing(self) -> list[str]:
        return sorted(t for t, s in self.statuses.items() if s == PASSED)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.statuses.values():
            out[s] = out.get(s, 0) + 1
        return out

    def progress(self) -> dict:
        """What a progress display shows: tests per status, the reproduction test apart."""
        rest, repro = split_repro(self.statuses)
        counts: dict[str, int] = {}
        for s in rest.values():
            counts[s] = counts.get(s, 0) + 1
        return {"counts": counts, "repro": repro}

    def to_dict(self) -> dict:
        return {"command": self.command, "statuses": self.statuses, "exit_code": self.exit_code,
                "timed_out": self.timed_out, "duration": round(self.duration, 3), "output": self.output}

    @classmethod
    def from_dict(cls, d: dict) -> TestResults:
        return cls(**d)


def is_scratch(path: str) -> bool:
    """Whether a file (relative to the root) is one of the agent's scratch files that `SCRATCH`
    leaves out of the patch."""
    return path == REPRO_TEST or path.startswith(SCRATCH_DIR + "/") or path.endswith(".pyc")


def is_repro(test: str) -> bool:
    """Whether a test name belongs to the agent's reproduction test file."""
    return REPRO_TEST.removesuffix(".py") in test


def split_repro(statuses: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """(the statuses without the reproduction test's, the reproduction test's overall status:
    failing if any of its tests fails, else passing; None without one)."""
    repro = [s for t, s in statuses.items() if is_repro(t)]
    rest = {t: s for t, s in statuses.items() if not is_repro(t)}
    if not repro:
        return rest, None
    return rest, next((s for s in repro if s in (FAILED, ERROR)), PASSED if PASSED in repro else repro[0])


def plan_for_command(command: str, timeout: float = 900) -> TestPlan:
    """A plan for a user's test command: pytest gets `-rA` (its per-test summary) when it lacks it,
    unittest gets `-v`; anything else is judged by its exit code."""
    words = shlex.split(command)
    if "pytest" in command:
        if not any(w.startswith("-r") for w in words):
            command += " -rA"
        return TestPlan(command, "pytest", True, timeout)
    if re.search(r"\bunittest\b", command) and "discover" not in words:
        if "-v" not in words and "--verbose" not in words:
            command += " -v"
        return TestPlan(command, "unittest", True, timeout)
    if re.search(r"\bunittest\b", command):
        return TestPlan(command if "-v" in words else command + " -v", "unittest", False, timeout)
    return TestPlan(command, EXIT_CODE, False, timeout)


def plan_for_test_command(test: TestCommand) -> TestPlan:
    """The plan of a test command given from outside (batch runs: an environment spec's)."""
    return TestPlan(test.command, test.parser, test.directives == "files", float(test.timeout),
                    {**TEST_ENV, **test.env})


def detect(ws: Workspace, files: list[str], test_cmd: str | None = None, timeout: float = 900) -> TestPlan | None:
    """The plan for the repository in `ws` (its file list given): the user's command when given,
    else pytest when the repository has test files and pytest is installed, else unittest; None
    when the repository has no test files."""
    if test_cmd:
        return plan_for_command(test_cmd, timeout)
    if not any(_TEST_FILE.search(f) for f in files):
        return None
    has_pytest = ws.run("python -c 'import pytest'", 60).exit_code == 0
    if has_pytest:
        return TestPlan("python -m pytest -rA -p no:cacheprovider", "pytest", True, timeout)
    return TestPlan("python -m unittest -v", "unittest", True, timeout)


def run(plan: TestPlan, ws: Workspace, targets: list[str] | None = None, tail: int = 6000) -> TestResults:
    """Run the whole suite, or `targets` (test files or test ids) when the command takes them."""
    test = TestCommand(plan.command, "pytest" if plan.parser == EXIT_CODE else plan.parser, max(1, int(plan.timeout)),
                       "files" if plan.takes_files else "none", plan.env)
    res = run_tests(ws, test, files=targets if (targets and plan.takes_files) else None)
    statuses = dict(res.statuses)
    if plan.parser == EXIT_CODE:
        statuses = {plan.command: PASSED if res.exit_code == 0 and not res.timed_out else FAILED}
    elif not statuses and (res.exit_code not in (0, 5) or res.timed_out):
        # nothing parsed and the command failed: a collection or import error, or a timeout
        statuses = {res.command: ERROR}
    return TestResults(res.command, statuses, res.exit_code, res.timed_out, res.duration, res.output[-tail:])


def is_test_file(path: str) -> bool:
    return bool(_TEST_FILE.search(path)) or "/tests/" in f"/{path}" or "/test/" in f"/{path}"


def covering_tests(changed: list[str], files: list[str], read_many) -> list[str]:
    """Test files that cover the changed source files: named after a changed module, or importing
    it. `read_many(paths) -> {path: bytes}` reads the test files in one go (only those not matched by
    name). The agent's reproduction test is not included."""
    modules = {}
    for path in changed:
        if not path.endswith(".py") or is_test_file(path):
            continue
        stem = posixpath.splitext(posixpath.basename(path))[0]
        if stem == "__init__":
            stem = posixpath.basename(posixpath.dirname(path)) or stem
        modules[stem] = posixpath.splitext(path)[0].replace("/", ".").removesuffix(".__init__")
    if not modules:
        return []
    tests = [f for f in files if f != REPRO_TEST and f.endswith(".py") and _TEST_FILE.search(f)]
    named = {f for f in tests
             if any(re.search(rf"(^|_){re.escape(stem)}(_|\.py$)", posixpath.basename(f)) for stem in modules)}
    texts = read_many([f for f in tests if f not in named]) if len(named) < len(tests) else {}
    imports = []
    for stem, dotted in modules.items():
        package = dotted.rsplit(".", 1)[0] if "." in dotted else ""
        imports.append(re.compile(rf"^\s*(from|import)\s+[\w.]*\b{re.escape(stem)}\b", re.M))
        if package:
            imports.append(re.compile(rf"from\s+{re.escape(package)}\s+import\s+[^\n]*\b{re.escape(stem)}\b"))
    found = set(named)
    for f, data in texts.items():
        text = data.decode("utf-8", errors="replace")
        if any(p.search(text) for p in imports):
            found.add(f)
    return [f for f in tests if f in found]
