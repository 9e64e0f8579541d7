"""How the agent runs a repository's tests: the command, its log parser, and which tests to run.

A `TestPlan` comes from the user's `--test-cmd`, from an environment spec (batch runs), or from
detection (pytest when it is installed in the workspace and the repository has tests, else stdlib
unittest discovery). Running and parsing go through `sandbox.testing` (a `TestCommand`) and its log
parsers; a command whose output no parser knows is judged by its exit code alone, as one pseudo-test
named after the command.

`select_tests` chooses the test files a change needs (agent.testloop runs them, with their status
on the base tree). The agent's own reproduction test is a file named `REPRO_NAME` placed where the
repository's runner collects it (next to the tests of the module it exercises), and throwaway
files live under `SCRATCH_DIR`; both are left out of the patch (`SCRATCH`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandbox.log_parsers import ERROR, FAILED, PASSED
from sandbox.testfiles import is_test_module, is_test_path, module_named, python_files
from sandbox.testing import TestCommand, user_test_command
from sandbox.workspace import Workspace

REPRO_NAME = "test_patchwright_repro.py"
"""The name of the agent's reproduction test file, in a test directory the runner collects."""
SCRATCH_DIR = ".patchwright"
"""Where the agent keeps throwaway scripts."""
SCRATCH = ["*" + REPRO_NAME, SCRATCH_DIR, "*.pyc"]
"""Paths (git pathspecs) left out of the final patch."""
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}
EXIT_CODE = "exit_code"
"""The pseudo parser of a command whose output no log parser reads."""


@dataclass(frozen=True)
class TestPlan:
    """How to run the tests of one repository."""

    __test__ = False  # not a pytest test class

    command: str
    """The command that runs the whole suite; test files or ids are appended to it."""
    parser: str
    """A log parser of sandbox.log_parsers (pytest, unittest, ...) or `exit_code`."""
    takes_files: bool = True
    """Whether test files and test ids can be appended to the command."""
    timeout: float = 300
    """Seconds one run may take (the time budget of a test run; a cut run says what did not run)."""
    env: dict[str, str] = field(default_factory=lambda: dict(TEST_ENV))
    """Environment variables of the test command."""
    pre_test: tuple[str, ...] = ()
    """Shell lines run before the command in the same shell."""
    django: bool = False
    """Test files are given as django test modules (`directives: django` of a spec)."""
    doctest: str | None = None
    """The command that runs the doctests of the files given to it: sympy's `bin/doctest -C
    --verbose`, the pytest command with `--doctest-modules` when pytest's configuration turns them
    on; "" when the project runs none; None: not known yet (`agent.doctests.with_doctests` detects)."""
    doctest_globs: tuple[str, ...] = ()
    """pytest's `--doctest-glob` patterns: text files whose examples run as doctests."""

    def test_command(self) -> TestCommand:
        """The plan as `sandbox.testing` runs it."""
        directives = "django" if self.django else "files" if self.takes_files else "none"
        return TestCommand(self.command, "pytest" if self.parser == EXIT_CODE else self.parser,
                           max(1, int(self.timeout)), directives, dict(self.env), tuple(self.pre_test))


@dataclass
class TestResults:
    """One run of the tests, with each test's status on the base tree (agent.testloop)."""

    __test__ = False  # not a pytest test class

    command: str
    statuses: dict[str, str]
    """Status per test: PASSED, FAILED, ERROR, SKIPPED, XFAIL."""
    exit_code: int
    timed_out: bool
    duration: float
    output: str
    """The end of the output (failures and the summary are there)."""
    base: dict[str, str] = field(default_factory=dict)
    """Status on the base tree (the change's source files put back) of the tests that ran."""
    new_tests: list[str] = field(default_factory=list)
    """Tests in files the change adds (the reproduction test's included)."""
    collection_errors: list[str] = field(default_factory=list)
    """Test files that could not be collected on the changed tree but could on the base tree
    (`path: why`): the change's doing."""
    environment: list[str] = field(default_factory=list)
    """Test files the environment cannot collect (the same error on the base tree; `path: why`):
    left out of later runs."""
    no_results: list[str] = field(default_factory=list)
    """Requested test files that yielded no result (not collected, not run)."""
    not_run: list[str] = field(default_factory=list)
    """Requested test files that did not run because the run was cut by its time budget."""
    self_skipped: list[str] = field(default_factory=list)
    """Requested test files that yielded no result because the module leaves its own tests out
    (`path: line N` and the line in backticks: sympy's module-level `disabled = ...`, `pytest.importorskip(`,
    `pytestmark = ...skip...`; often an optional dependency the environment lacks): no error."""
    not_announced: int | None = None
    """Tests the runner announced that did not finish in a cut run (when it announced a count)."""
    selected: dict[str, str] = field(default_factory=dict)
    """The test files run and why each was chosen (empty: the whole suite or the given ids)."""
    left_out: list[str] = field(default_factory=list)
    """Chosen test files not started because the time budget was spent (expected or measured)."""
    budget: float = 0.0
    """The time budget (seconds) the chosen files were fitted to (0: not fitted)."""
    cut: list[dict] = field(default_factory=list)
    """Parts of the run its time budget left no time for, last first (agent.testloop): each
    {"part": "doctests" or "base tree", "what": "tests" or "doctests", "targets": [...], "call":
    the `tests` of the run_tests call that runs them}."""
    doctests: dict = field(default_factory=dict)
    """The doctests beside the tests (agent.testloop): `state` `ran` (with `command`, `targets`: the
    files it covered, `ids`: its doctests in `statuses`), `with_suite` (the whole suite ran them),
    `no_targets` (the change touches no file whose doctests run), `none` (the project runs none)."""

    @property
    def failing(self) -> list[str]:
        return sorted(t for t, s in self.statuses.items() if s in (FAILED, ERROR))

    @property
    def tests_only(self) -> dict[str, str]:
        """The statuses of the tests, the doctests left out."""
        doc = set(self.doctests.get("ids", ()))
        return {t: s for t, s in self.statuses.items() if t not in doc}

    @property
    def passing(self) -> list[str]:
        return sorted(t for t, s in self.statuses.items() if s == PASSED)

    @property
    def new_failures(self) -> list[str]:
        """Failing now but not on the base tree, or a new test failing: what the change introduced."""
        new = set(self.new_tests)
        return [t for t in self.failing if t in new or self.base.get(t) not in (FAILED, ERROR)]

    @property
    def pre_existing(self) -> list[str]:
        """Failing now and on the base tree (tests that were there before)."""
        new = set(self.new_tests)
        return [t for t in self.failing if t not in new and self.base.get(t) in (FAILED, ERROR)]

    @property
    def fixed(self) -> list[str]:
        """Failing on the base tree, passing now."""
        return [t for t in self.passing if self.base.get(t) in (FAILED, ERROR)]

    @property
    def introduced(self) -> bool:
        """Whether the change broke something the model should look at: a new failure, a test file
        that no longer collects, or a requested test file that yields no result."""
        return self.introduced_by(None)

    def introduced_by(self, changed: Sequence[str] | None) -> bool:
        """`introduced`, counting a file that yields no result only when it is the change's own: one
        it adds or edits (`changed`) or its reproduction test (None: every such file counts). A chosen
        file the change does not touch that yields nothing is the selection's miss, not the change's
        doing (pylint's CheckerTestCase helper sent a finished fix back twice)."""
        silent = self.no_results if changed is None else [
            t for t in self.no_results if t.split("::", 1)[0] in changed or REPRO_NAME in t]
        return bool(self.new_failures or self.collection_errors or silent)

    def absorb(self, other: TestResults) -> None:
        """Add the results of another run of this check (its tests, their base statuses, errors,
        time) to these."""
        self.statuses.update(other.statuses)
        self.base.update(other.base)
        self.new_tests = sorted({*self.new_tests, *other.new_tests})
        self.collection_errors += other.collection_errors
        self.environment += other.environment
        self.not_run += other.not_run
        self.self_skipped += [t for t in other.self_skipped if t not in self.self_skipped]
        self.cut += [c for c in other.cut if c not in self.cut]
        self.timed_out = self.timed_out or other.timed_out
        self.duration += other.duration

    def merge(self, later: TestResults) -> None:
        """Add a later run of the same check (the rest of a selection, after its first files) to
        this one: one answer for both."""
        self.absorb(later)
        self.output = f"{self.output[-3000:]}\n$ {later.command}\n{later.output[-3000:]}"
        self.command = f"{self.command}; then {later.command}"
        self.exit_code = self.exit_code or later.exit_code
        self.no_results += later.no_results
        self.not_announced = later.not_announced if later.not_announced is not None else self.not_announced
        self.selected.update(later.selected)

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
        d = dict(self.__dict__)
        d["duration"] = round(self.duration, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TestResults:
        return cls(**d)


def is_scratch(path: str) -> bool:
    """Whether a file (relative to the root) is one of the agent's scratch files that `SCRATCH`
    leaves out of the patch."""
    return posixpath.basename(path) == REPRO_NAME or path.startswith(SCRATCH_DIR + "/") or path.endswith(".pyc")


def is_repro(test: str) -> bool:
    """Whether a test name belongs to the agent's reproduction test file."""
    return REPRO_NAME.removesuffix(".py") in test


def split_repro(statuses: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """(the statuses without the reproduction test's, the reproduction test's overall status:
    failing if any of its tests fails, else passing; None without one)."""
    repro = [s for t, s in statuses.items() if is_repro(t)]
    rest = {t: s for t, s in statuses.items() if not is_repro(t)}
    if not repro:
        return rest, None
    return rest, next((s for s in repro if s in (FAILED, ERROR)), PASSED if PASSED in repro else repro[0])


def plan_for_command(command: str, timeout: float = 300) -> TestPlan:
    """A plan for a user's test command, as `sandbox.testing.user_test_command` reads it (pytest gets
    `-rA`, unittest `-v`; anything else is judged by its exit code)."""
    given = user_test_command(command)
    return TestPlan(given.command, given.parser, given.takes_files, timeout)


def plan_for_test_command(test: TestCommand, timeout: float = 300, doctest: str | None = None) -> TestPlan:
    """The plan of a test command given from outside (batch runs: an environment spec's), with the
    agent's own time budget per run (`timeout`; the command's own is the grading's)."""
    return TestPlan(test.command, test.parser, test.directives != "none", float(timeout),
                    {**TEST_ENV, **test.env}, tuple(test.pre_test), test.directives == "django", doctest)


def detect(ws: Workspace, files: list[str], test_cmd: str | None = None, timeout: float = 300) -> TestPlan | None:
    """The plan for the repository in `ws` (its file list given): the user's command when given,
    else pytest when the repository has test files and pytest is installed, else unittest; None
    when the repository has no test files."""
    if test_cmd:
        return plan_for_command(test_cmd, timeout)
    patterns = python_files(files, ws.read_many)
    if not any(is_test_module(f, patterns) for f in files):
        return None
    has_pytest = ws.run("python -c 'import pytest'", 60).exit_code == 0
    if has_pytest:
        return TestPlan("python -m pytest -rA -p no:cacheprovider", "pytest", True, timeout)
    return TestPlan("python -m unittest -v", "unittest", True, timeout)


def _module_stem(path: str) -> tuple[str, str]:
    """(the module's short name, its dotted name) of a source file; a package's `__init__` is the package."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    if stem == "__init__":
        stem = posixpath.basename(posixpath.dirname(path)) or stem
    return stem, posixpath.splitext(path)[0].replace("/", ".").removesuffix(".__init__")


def _importers(modules: dict[str, str], texts: dict[str, bytes]) -> list[str]:
    """Test files (of `texts`) that import one of `modules` ({stem: dotted})."""
    patterns = []
    for stem, dotted in modules.items():
        package = dotted.rsplit(".", 1)[0] if "." in dotted else ""
        patterns.append(re.compile(rf"^\s*(from|import)\s+[\w.]*\b{re.escape(stem)}\b", re.M))
        if package:
            patterns.append(re.compile(rf"from\s+{re.escape(package)}\s+import\s+[^\n]*\b{re.escape(stem)}\b"))
    return [f for f, data in texts.items() if any(p.search(_text(data)) for p in patterns)]


_ISSUE_PATH = re.compile(r"[\w./-]+\.py")
_ISSUE_TEST = re.compile(r"\btest_\w+")
_COMMON = frozenset({"__init__", "__call__", "__repr__", "__str__", "__eq__", "__hash__", "setUp", "tearDown",
                     "main", "self", "name", "value", "args", "kwargs", "test", "data", "result"})


@dataclass
class Selection:
    """The test files a change needs, each with the reason it was chosen, best first; the first
    `first` of them are the change's own (run first, on their own: see `select_tests`)."""

    files: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)
    first: int = 0

    def add(self, path: str, why: str) -> None:
        if path not in self.why:
            self.files.append(path)
            self.why[path] = why


def select_tests(files: list[str], changed: list[str], read_many, *, candidates: Sequence[str] = (),
                 repro: Sequence[str] = (), issue: str = "", failed_before: Sequence[str] = (),
                 references: dict[str, set[str]] | None = None, touched_names: Sequence[str] = (),
                 limit: int = 12) -> Selection:
    """The test modules a change needs, best first, at most `limit` besides the reproduction tests.
    The change's own tests come first (`Selection.first` of them; agent.testloop runs them before
    the others, so a run cut by its time budget still has their results):

    1. the agent's reproduction tests (`repro`), and test modules the change itself adds or edits;
    2. the files of the tests that failed last time (`failed_before`, test ids);
    3. test modules the issue names by path, and those defining a test (`test_x`) the issue names
       (`references`: {test file: the names it defines or references}, from the symbol index);
    4. the test module named after each changed source module (`test_<module>.py`, `<module>_test.py`,
       or as the repository's pytest `python_files` name them: `unittest_<module>.py` in pylint);

    then the others:

    5. test modules that import a changed module (`read_many(paths) -> {path: bytes}`);
    6. test modules that reference a touched name (`touched_names`), most names first;
       5 and 6 together ordered by how often their text uses the touched names (most first);
    7. the test module named after each candidate (`candidates`: the files localization chose), then
       test modules that import a candidate module.
    """
    read = _memo(read_many)  # the importers' texts serve the last check too: each file read once
    patterns = python_files(files, read)  # pytest's `python_files`, when the repository sets them
    tests = [f for f in files if is_test_module(f, patterns) and posixpath.basename(f) != REPRO_NAME]
    known = set(tests)
    sel = Selection()
    for f in repro:
        sel.add(f, "reproduction test")
    for f in changed:
        if is_test_module(f, patterns) and posixpath.basename(f) != REPRO_NAME:
            sel.add(f, "changed by the patch")
    for t in failed_before:
        path = t.split("::", 1)[0]
        if path in known:
            sel.add(path, "failed last time")
    for path in _ISSUE_PATH.findall(issue):
        path = path.removeprefix("./")
        if path in known:
            sel.add(path, "named in the issue")
    named_tests = set(_ISSUE_TEST.findall(issue))
    if named_tests and references:
        for f in tests:
            if named_tests & references.get(f, set()):
                sel.add(f, "holds a test the issue names")
    sources = [f for f in changed if f.endswith(".py") and not is_test_path(f, patterns)]
    cands = [f for f in candidates if f.endswith(".py") and not is_test_path(f, patterns) and f not in sources]
    by_module: dict[str, list[str]] = {}
    for f in tests:
        by_module.setdefault(module_named(f, patterns) or "", []).append(f)

    def named_after(paths: list[str]) -> None:
        for f in paths:
            for t in by_module.get(_module_stem(f)[0], []):
                sel.add(t, f"named after {f}")

    def importers(paths: list[str], why: str) -> None:
        rest = [f for f in tests if f not in sel.why]
        if paths and rest and len(sel.files) < limit + len(repro):
            for f in _importers(dict(_module_stem(f) for f in paths), read(rest)):
                sel.add(f, why)

    named_after(sources)
    own = list(sel.files)
    importers(sources, "imports a changed module")
    names = {n for n in touched_names if (len(n) > 3 or n[:1].isupper()) and n not in _COMMON}
    if names and references:
        scored = sorted((-len(names & refs), f) for f, refs in references.items() if f in known and names & refs)
        for _, f in scored:
            sel.add(f, "references a changed name")
    if names and len(sel.files) > len(own) + 1:
        # importers and referrers, those that use the changed names most first: sympy's test_arit.py
        # (Mod used in dozens of lines) before test_args.py, which imports every module once
        others = sel.files[len(own):]
        texts = read(others)
        word = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b")
        uses = {f: len(word.findall(_text(texts.get(f, b"")))) for f in others}
        sel.files[len(own):] = sorted(others, key=lambda f: -uses[f])
    named_after(cands)
    importers(cands, "imports a candidate module")
    rest = [f for f in sel.files if f not in repro]
    texts = read([f for f in rest if sel.why[f] != "changed by the patch"]) if rest else {}
    # a module named like a test that defines none (a helper such as testutils/lint_module_test.py)
    # would only come back as "no test result": left out
    rest = [f for f in rest if f not in texts or _DEFINES_TESTS.search(_text(texts[f]))]
    keep = list(repro) + rest[:limit]
    return Selection(keep, {f: sel.why[f] for f in keep}, first=sum(f in own for f in keep))


_DEFINES_TESTS = re.compile(r"^\s*(?:async\s+)?def test|^\s*class Test|^\s*class \w+\([^)]*TestCase\b", re.M)
"""A test function, a pytest `Test` class or a class deriving from a TestCase; a helper class whose
own name ends in TestCase (pylint's `class CheckerTestCase:`) defines none."""
_TEST_DEF = re.compile(r"^\s*(?:async\s+)?def test", re.M)


def count_tests(text: str | bytes) -> int:
    """How many tests a test file defines (its `def test...` functions and methods; at least 1):
    what its expected run time is reckoned from before it has been timed."""
    return max(1, len(_TEST_DEF.findall(_text(text))))


def _text(data) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else (data or "")


def _memo(read_many):
    """`read_many` that reads each path once: {path: bytes} of the paths asked."""
    seen: dict[str, bytes] = {}

    def read(paths: list[str]) -> dict[str, bytes]:
        todo = [p for p in paths if p not in seen]
        if todo:
            seen.update(read_many(todo))
        return {p: seen[p] for p in paths if p in seen}
    return read
