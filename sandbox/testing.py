"""Run a test command in a workspace and parse what it printed.

`run_tests(ws, test, tests=..., files=...)` is the agent's test step and the evaluation's: a
`TestCommand` (the command, its log parser, its timeout; the harness makes one from an environment
spec, the agent from its test plan) with directives (test files, or django test modules) appended,
under a timeout, parsed into a status per test with the command's log parser.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Literal

from .log_parsers import get_parser
from .workspace import Workspace

NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")
"""Files a test patch may touch that are not tests to run (SWE-bench's list)."""


@dataclass(frozen=True)
class TestCommand:
    """How to run a repository's tests, whoever decided it (an environment spec, the agent's plan)."""

    __test__ = False  # not a pytest test class

    command: str
    """The command that runs the suite; test directives (files or modules) are appended."""
    parser: str
    """The log parser (`sandbox.log_parsers`) that turns its output into a status per test."""
    timeout: float
    """Seconds the command may run before it is killed."""
    directives: Literal["files", "django", "none"] = "files"
    """How test files become arguments: as paths, as django test modules, or not at all."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables of the command."""
    pre_test: tuple[str, ...] = ()
    """Shell lines run before the command in the same shell."""


@dataclass
class TestRun:
    """What one run of the test command did."""

    __test__ = False  # not a pytest test class

    command: str
    """The shell command that ran."""
    output: str
    """Its combined stdout and stderr."""
    exit_code: int
    """Its exit code (-1 when killed)."""
    timed_out: bool
    """Whether it ran past its timeout and was killed."""
    duration: float
    """Seconds it took."""
    statuses: dict[str, str] = field(default_factory=dict)
    """Status per test name as the log parser read it (PASSED, FAILED, SKIPPED, ERROR, XFAIL)."""

    def status_of(self, tests: list[str]) -> dict[str, str]:
        """Status of each of `tests`; a test the log does not mention is `MISSING`."""
        return {t: self.statuses.get(t, "MISSING") for t in tests}

    @property
    def passed(self) -> bool:
        """Nothing failed or errored, and the command finished in time."""
        return not self.timed_out and not any(s in ("FAILED", "ERROR") for s in self.statuses.values())


def directives_for(files: list[str], style: str) -> list[str]:
    """Test files as the test command takes them: paths (`files`), django modules (`django`) or none."""
    files = [f for f in files if not f.endswith(NON_TEST_EXTS)]
    if style == "none":
        return []
    if style == "django":
        out = []
        for f in files:
            f = f[:-3] if f.endswith(".py") else f
            f = f[len("tests/"):] if f.startswith("tests/") else f
            out.append(f.replace("/", "."))
        return out
    return files


def files_of_tests(tests: list[str]) -> list[str]:
    """The files of pytest node ids (`path.py::Class::test`), in order, without repeats."""
    out: list[str] = []
    for t in tests:
        path = t.split("::", 1)[0]
        if path.endswith(".py") and path not in out:
            out.append(path)
    return out


def build_test_command(test: TestCommand, directives: list[str]) -> str:
    """The test command with directives appended (each shell-quoted)."""
    return " ".join([test.command, *(shlex.quote(d) for d in directives)])


def run_tests(ws: Workspace, test: TestCommand, tests: list[str] | None = None, files: list[str] | None = None, *,
              timeout: float | None = None, prelude: str = "", max_output: int | None = 20_000_000) -> TestRun:
    """Run the tests `files` hold (or the files of the pytest ids in `tests`; else the whole suite).

    `prelude` runs first in the same shell (e.g. activating an environment). The result's
    `statuses` hold every test the log names; `status_of(tests)` picks the requested ones.
    """
    if files is None and tests:
        files = files_of_tests(tests)
    directives = directives_for(files or [], test.directives)
    cmd = build_test_command(test, directives)
    env = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in test.env.items())
    setup = "".join(f"{line}\n" for line in test.pre_test)
    script = f"{prelude}\n{env}{setup}{cmd}" if prelude else f"{env}{setup}{cmd}"
    res = ws.run(script, timeout or test.timeout, max_output=max_output)
    statuses = get_parser(test.parser)(res.output)
    return TestRun(cmd, res.output, res.exit_code, res.timed_out, res.duration, statuses)


def changed_test_files(test_patch: str) -> list[str]:
    """Files a test patch touches (the `b/` side of each `diff --git` line), as SWE-bench takes them."""
    return list(dict.fromkeys(re.findall(r"diff --git a/.* b/(.*)", test_patch)))
