"""Run a test command in a workspace and parse what it printed.

`run_tests(ws, test, tests=..., files=...)` is the agent's test step and the evaluation's: a
`TestCommand` (the command, its log parser, its timeout; the harness makes one from an environment
spec, the agent from its test plan) with directives (test files, or django test modules) appended,
under a timeout, parsed into a status per test with the command's log parser.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
from typing import Literal

from .log_parsers import get_parser
from .testresults import Results, TestResult, read_results
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


@dataclass(frozen=True)
class UserTestCommand:
    """A test command a user gave (`--test-cmd`, `[tool.patchwright] test_command`) as it is run."""

    command: str
    """The command, with the option that makes its runner print a status per test added."""
    parser: Literal["pytest", "unittest", "exit_code"]
    """The log parser that reads its output (`exit_code`: none does; the exit code judges)."""
    takes_files: bool
    """Whether test files or ids can be appended to it."""


def user_test_command(command: str) -> UserTestCommand:
    """The one reader of a user's test command: pytest gets `-rA` (its per-test summary) unless it has
    an `-r` option, unittest gets `-v` (it takes files unless it discovers them); anything else is
    judged by its exit code."""
    words = shlex.split(command) if command.count("'") % 2 == 0 and command.count('"') % 2 == 0 else command.split()
    if re.search(r"\bpytest\b|py\.test", command):
        if not any(w.startswith("-r") for w in words):
            command += " -rA"
        return UserTestCommand(command, "pytest", True)
    if re.search(r"\bunittest\b", command):
        if "-v" not in words and "--verbose" not in words:
            command += " -v"
        return UserTestCommand(command, "unittest", "discover" not in words)
    return UserTestCommand(command, "exit_code", False)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def plain(output: str) -> str:
    """Test output without terminal colour codes: a project's `addopts = --color=yes` (humanize)
    colours every verdict, and no reader matched `\x1b[32mPASSED\x1b[0m`."""
    return _ANSI.sub("", output) if "\x1b[" in output else output


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
              timeout: float | None = None, prelude: str = "", max_output: int | None = 20_000_000,
              extra: list[str] | tuple = ()) -> TestRun:
    """Run the tests `files` hold (or the files of the pytest ids in `tests`; else the whole suite).

    `prelude` runs first in the same shell (e.g. activating an environment); `extra` arguments come
    after the files. The result's `statuses` hold every test the log names; `status_of(tests)` picks
    the requested ones.
    """
    if files is None and tests:
        files = files_of_tests(tests)
    directives = directives_for(files or [], test.directives) + list(extra)
    cmd = build_test_command(test, directives)
    env = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in test.env.items())
    setup = "".join(f"{line}\n" for line in test.pre_test)
    script = f"{prelude}\n{env}{setup}{cmd}" if prelude else f"{env}{setup}{cmd}"
    res = ws.run(script, timeout or test.timeout, max_output=max_output)
    output = plain(res.output)
    return TestRun(cmd, output, res.exit_code, res.timed_out, res.duration, get_parser(test.parser)(output))


# -- structured runs (the agent's own test runs) ---------------------------------------------------

JUNIT_REPORT = ".patchwright-junit.xml"
"""Where a pytest run of `run_structured` writes its JUnit XML report (repository root; removed after)."""
UNBUFFERED = {"PYTHONUNBUFFERED": "1"}
"""A cut run keeps what it printed only when Python does not buffer it."""
SEEDED = {"PYTHONHASHSEED": "0"}
"""One hash seed for every run (unless the command's own environment sets one), so a run of the
change and the base tree's run see the same set and dict orders: sympy's runner otherwise draws a
seed per run, and a seed-dependent test read as a new failure (solveset's test_solve_trig)."""


def runner_of(test: TestCommand) -> str | None:
    """The structured reader (`sandbox.testresults`) of a test command: pytest, sympy (`bin/test`),
    django (`runtests.py`, `manage.py test`) or unittest; None when none reads it (log parsing then)."""
    words = shlex.split(test.command) if test.command.count("'") % 2 == 0 else test.command.split()
    if "pytest" in words or any(w.endswith("/pytest") or w == "py.test" for w in words):
        return "pytest"
    if any(w.endswith("bin/test") or w.endswith("bin/doctest") for w in words):
        return "sympy"
    if any(w.endswith("runtests.py") for w in words) or ("manage.py" in " ".join(words) and "test" in words):
        return "django"
    if "unittest" in words or test.parser == "unittest":
        return "unittest"
    return None


def structured_command(test: TestCommand) -> TestCommand:
    """The command as the agent runs it for structured results: pytest gets `-rA`, a JUnit XML
    report and `--continue-on-collection-errors` (a file that cannot be imported does not stop the
    others); every runner gets unbuffered output and one hash seed (`SEEDED`, unless the command sets
    its own)."""
    command = test.command
    if runner_of(test) == "pytest":
        words = command.split()
        extra = [] if any(w.startswith("-r") for w in words) else ["-rA"]
        extra += [f"--junitxml={JUNIT_REPORT}", "--continue-on-collection-errors"]
        command = " ".join([command, *extra])
    return replace(test, command=command, env={**SEEDED, **test.env, **UNBUFFERED})


def sympy_ids(test: TestCommand, targets: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """(files, extra arguments) for sympy's `bin/test`, which takes paths and `-k KEYWORDS`, not pytest
    ids (`path.py::test_name` yielded no result): the ids' files, and `-k` their names when every
    target is an id (a plain file among them runs whole, and so do the ids' files)."""
    if not targets or not any("::" in t for t in targets) or not any(
            w.endswith("bin/test") for w in test.command.split()):
        return targets, []
    files = list(dict.fromkeys(t.split("::", 1)[0] for t in targets))
    if all("::" in t for t in targets):
        return files, ["-k", *dict.fromkeys(t.rsplit("::", 1)[1] for t in targets)]
    return files, []


def run_structured(ws: Workspace, test: TestCommand, targets: list[str] | None = None, *,
                   timeout: float | None = None, prelude: str = "") -> tuple[TestRun, Results]:
    """Run `targets` (test files or ids; None: the whole suite) and read per-test results from the
    outer session only (`sandbox.testresults`); a command no reader knows is read by its log parser.
    A requested target that yields no result is in `Results.no_results`."""
    runner = runner_of(test)
    test = structured_command(test)
    if runner == "pytest":
        ws.run(f"rm -f {JUNIT_REPORT}", 30)
    files, extra = sympy_ids(test, targets) if runner == "sympy" else (targets, [])
    run = run_tests(ws, test, files=files, timeout=timeout, prelude=prelude, extra=extra)
    requested = [d for d in directives_for(targets or [], test.directives)] if test.directives != "none" else []
    if runner is None:
        res = Results("log", "log", timed_out=run.timed_out)
        for tid, status in run.statuses.items():
            res.tests[tid] = TestResult(tid, _FROM_LOG.get(status, status.lower()))
        return run, res
    report = None
    if runner == "pytest":
        got = ws.run(f"cat {JUNIT_REPORT} 2>/dev/null; rm -f {JUNIT_REPORT}", 60, max_output=None)
        report = got.output if got.output.lstrip().startswith("<") else None
    res = read_results(runner, run.output, junit=report, requested=requested, timed_out=run.timed_out)
    return run, res


_FROM_LOG = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped", "XFAIL": "xfail"}
