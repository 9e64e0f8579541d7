"""The agent's test loop: run the tests a change needs, know each one's status on the base tree, and
tell new failures from old ones and the environment's.

- **What runs**: the files `agent.testplan.select_tests` chooses (or the ids the model asks for);
  the whole suite only with `full_tests`, or when the suite is known to be short (measured once per
  repository, `SuiteTimes`).
- **Structured results**: `sandbox.testing.run_structured` (pytest's JUnit XML report, the verbose
  output of unittest, Django and sympy's runner; the outer session only).
- **The base tree**: the same targets are run once with the change's source files put back
  (`sandbox.basetree`, test files kept), lazily and cached per target and test-file content; a
  failure there too is pre-existing, a pass there is the change's doing.
- **The environment**: a test file that cannot be collected on the base tree either (a module
  missing from the environment) is reported once and left out of later runs.
- **Doctests**: where the project runs them (`agent.doctests`: sympy's `bin/doctest`, pytest's
  `--doctest-modules` / `--doctest-glob`), the doctests of the change's modules run beside the tests,
  with the same base-tree rule; their ids join the run's statuses (`TestResults.doctests`).
- **Time**: one time budget (the plan's) covers a whole run: the change's own tests, the other
  targets, the doctests, then the base-tree runs, each part with what is left; a part with no time
  left is cut (the base tree first) and named, with the `run_tests` call that runs it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.basetree import base_tree
from sandbox.diffs import files_changed, patch_files
from sandbox.testfiles import is_test_path
from sandbox.testing import TestCommand, run_structured, runner_of
from sandbox.testresults import ERROR as R_ERROR
from sandbox.testresults import FAILED as R_FAILED
from sandbox.testresults import PASSED as R_PASSED
from sandbox.testresults import SKIPPED as R_SKIPPED
from sandbox.testresults import XFAIL as R_XFAIL
from sandbox.testresults import XPASS as R_XPASS
from sandbox.testresults import Results
from sandbox.workspace import Workspace

from .doctests import doctest_command, doctest_targets
from .testplan import EXIT_CODE, REPRO_NAME, TestPlan, TestResults, count_tests

UPPER = {R_PASSED: "PASSED", R_FAILED: "FAILED", R_ERROR: "ERROR", R_SKIPPED: "SKIPPED", R_XFAIL: "XFAIL",
         R_XPASS: "PASSED"}
"""The agent's statuses (those of `sandbox.log_parsers`, which summary.json documents); an
unexpected pass is a pass."""
WHOLE = "*"
"""The cache key of a whole-suite run."""
MIN_PART = 1.0
"""Seconds of a run's time budget a part (the other tests, the doctests, a base-tree run) needs
left to be started; with less it is cut."""
UNCOMPARED = "not run on the base tree: its run was cut by the time budget"
"""What a collection error whose base-tree run was cut says (it may be the environment's)."""
PER_TEST = 0.25
"""Seconds a test is expected to take before any run has been timed (a chosen file not timed yet
is expected to take this times the tests it defines)."""


def _file_of(target: str) -> str:
    return target.split("::", 1)[0]


def new_files(diff: str) -> list[str]:
    """Files a diff adds."""
    return re.findall(r"^diff --git a/.* b/(.*)\nnew file mode", diff, re.M)


def find_repro(ws: Workspace) -> list[str]:
    """The agent's reproduction test files in the workspace (wherever it put them)."""
    res = ws.run(f"git ls-files -co --exclude-standard -- {shlex.quote('*' + REPRO_NAME)}", 60)
    return sorted(p for p in res.output.splitlines() if p.endswith(REPRO_NAME)) if res.exit_code == 0 else []


def touched_names(diff: str, index) -> list[str]:
    """Names of the definitions a diff's hunks fall in (the symbol index's; a method's class too), and
    the names it adds."""
    names: list[str] = []
    path = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("@@") and path and index is not None:
            m = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))?", line)
            if m:
                first, count = int(m.group(1)), int(m.group(2) or 1)
                for at in (first + 3, first + max(count - 4, 0)):
                    d = index.enclosing(path, at)
                    if d is not None:
                        names.append(d.name)
                        if d.parent:  # a method's class: tests name Mod, not Mod.eval
                            names.append(d.parent.rsplit(".", 1)[-1])
        elif line.startswith(("+def ", "+class ", "+    def ")):
            m = re.match(r"\+\s*(?:def|class) (\w+)", line)
            if m:
                names.append(m.group(1))
    return list(dict.fromkeys(names))


def self_skip(text: str | bytes) -> tuple[int, str] | None:
    """(line, its text) where a test module leaves its own tests out, module-level (not in a function
    or class; inside an `if` or `try` counts): `disabled = ...` (sympy's runner), a
    `pytest.importorskip(...)` call, or `pytestmark = ...skip...`; None when it does not."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = text.splitlines()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            stack[:0] = [*node.body, *getattr(node, "orelse", ()), *getattr(node, "finalbody", ()),
                         *(s for h in getattr(node, "handlers", ()) for s in h.body)]
            continue
        found = False
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            names = [t.id for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                     if isinstance(t, ast.Name)]
            source = ast.get_source_segment(text, node) or ""
            found = "disabled" in names or ("pytestmark" in names and "skip" in source)
        if not found and isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign)) and node.value is not None:
            found = any(isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "importorskip"
                        for c in ast.walk(node.value))
        if found:
            return node.lineno, lines[node.lineno - 1].strip() if node.lineno <= len(lines) else ""
    return None


class SuiteTimes:
    """How long a repository's whole suite takes (measured once, cached per repository and command)
    in `suite-times.json` of the user's patchwright cache directory. A repository is known by its
    top-level tracked names (its history may be a single snapshot commit, as in SWE-bench images)."""

    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            base = os.environ.get("PATCHWRIGHT_CACHE_DIR") or os.path.join(
                os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "patchwright")
            path = Path(base) / "suite-times.json"
        self.path = Path(path)

    @staticmethod
    def key(ws: Workspace, command: str) -> str:
        top = ws.run("git ls-tree --name-only HEAD 2>/dev/null", 60).output.split()
        return hashlib.sha1("\0".join([command, *sorted(top)]).encode()).hexdigest()[:16]

    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> dict | None:
        """{"seconds": s, "finished": bool} or None when never measured."""
        return self._load().get(key)

    def put(self, key: str, seconds: float, finished: bool) -> None:
        data = self._load()
        data[key] = {"seconds": round(seconds, 1), "finished": finished}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(self.path)
        except OSError:
            pass  # not measured this time: the next run measures again


@dataclass
class TestLoop:
    """The test runs of one run of the agent (all attempts): the base-tree cache, the environment's
    broken files, the last failures."""

    __test__ = False

    plan: TestPlan
    workspace: Workspace
    base: dict[str, str] = field(default_factory=dict)
    """Status per test on the base tree, of the targets run there so far."""
    base_keys: dict[str, str] = field(default_factory=dict)
    """Target -> digest of its test file when it ran on the base tree (a changed file runs again)."""
    environment: dict[str, str] = field(default_factory=dict)
    """Test file -> why the environment cannot collect it (the same on the base tree)."""
    reported: list[str] = field(default_factory=list)
    """Environment files already reported to the model."""
    last_failing: list[str] = field(default_factory=list)
    """Tests failing in the last run."""
    baseline: bool = True
    """Run the targets on the base tree too (else every failure counts as new)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Test file -> seconds its tests took when it last ran to the end."""
    per_test: float | None = None
    """Seconds per test in the last run (its start-up included): what a file not timed yet is
    expected to take per test it defines (`PER_TEST` before any run)."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    """A monotonic clock in seconds: what a run's time budget is measured with."""

    # -- running ------------------------------------------------------------------------------------
    def command(self) -> TestCommand:
        return self.plan.test_command()

    def run(self, targets: list[str] | None, diff: str, *, why: dict[str, str] | None = None,
            timeout: float | None = None, first: int | None = None,
            doctests: list[str] | None = None) -> TestResults:
        """Run `targets` (None: the whole suite; []: none, the doctests alone) on the changed tree,
        then the doctests of the change's modules (`doctests`: only those of these files), then the
        base tree for what is not known there yet; the result says which failures are new, old, or
        the environment's.

        One time budget (`timeout`, else the plan's) covers the whole run, its parts in this order:
        the change's own tests (the first `first` targets of a selection, best first), the other
        targets (fitted to what is left; files not started are in `TestResults.left_out`), the
        doctests, the base-tree runs. A part with no time left is not started: the parts are cut
        last first (the base tree first), and `TestResults.cut` names them."""
        clock = self.clock
        budget = timeout or self.plan.timeout
        deadline = clock() + budget

        def left() -> float:
            return deadline - clock()

        test = self.command()
        if self.plan.parser == EXIT_CODE or not self.plan.takes_files:
            targets = None
        if targets:
            targets = [t for t in targets if _file_of(t) not in self.environment]
        left_out: list[str] = []
        if targets and first is not None:
            targets, left_out = self.fit(targets, budget, keep=1)
            first = min(first, len(targets))
        sources = self._sources(diff)
        base_runs: list[tuple[list[str] | None, Results]] = []  # (targets, their results here), for the base tree
        if targets == []:
            out = TestResults("", {}, 0, False, 0.0, "", selected=dict(why or {}))
        elif first and first < len(targets):
            out, res = self._run(test, targets[:first], diff, why, budget)
            base_runs.append((targets[:first], res))
            rest, more = self.fit(targets[first:], left())
            left_out = more + left_out
            if rest and not out.timed_out and left() >= MIN_PART:
                later, res = self._run(test, rest, diff, why, left())
                out.merge(later)
                base_runs.append((rest, res))
            else:
                left_out = rest + left_out
        else:
            out, res = self._run(test, targets, diff, why, budget)
            base_runs.append((targets, res))
        if first is not None:
            out.left_out, out.budget = left_out, budget
            out.selected = {f: w for f, w in out.selected.items() if f not in left_out}
        doc_run = self._doctests(out, targets is None, diff, left, doctests)
        self._base_runs(out, base_runs, doc_run, sources, test, left)
        self._classify(out, [res for _, res in base_runs] + ([doc_run[1]] if doc_run else []))
        out.base = {t: self.base[t] for t in out.statuses if t in self.base}
        self.last_failing = out.failing
        return out

    def _base_runs(self, out: TestResults, runs: list[tuple[list[str] | None, Results]],
                   doc_run: tuple[list[str], Results] | None, sources: list[str], test: TestCommand,
                   left) -> None:
        """The base-tree part of a run, last: the test targets in one command, then the doctests',
        each with what is left of the budget; a part with no time left is cut (`TestResults.cut`)."""
        if not self.baseline:
            return
        if any(t is None and res.timed_out for t, res in runs):
            return  # a cut whole suite: no base run
        parts: list[tuple[list[str] | None, Results | None, TestCommand, dict | None, str]] = []
        if runs:
            if not sources:  # the trees are the same: the results here are the base tree's
                for t, res in runs:
                    self._baseline(t, sources, res, None)
            else:
                whole = any(t is None for t, _ in runs)
                ran = None if whole else [t for ts, _ in runs for t in ts or []]
                parts.append((ran, None, test, None, "tests"))
        if doc_run is not None:
            files, res = doc_run
            parts.append((files, res if not sources else None, doctest_command(self.plan),
                          {f: "base" for f in files}, "doctests"))
        for targets, same, command, digests, what in parts:
            need = self._need(targets, digests)
            if not need:
                continue
            if same is None and left() < MIN_PART:
                failing = [t for t in out.failing if t in need or _file_of(t) in need or targets is None]
                out.cut.append({"part": "base tree", "what": what, "targets": need,
                                "call": failing or (need if targets is not None else [])})
                continue
            self._baseline(targets, sources, same, left(), test=command, digests=digests)

    def _need(self, targets: list[str] | None, digests: dict[str, str] | None) -> list[str]:
        """The targets (WHOLE for the whole suite) whose base-tree status is not known yet."""
        keys = [WHOLE] if targets is None else targets
        if digests is None:
            digests = {WHOLE: ""} if targets is None else self._digest(targets)
        return [k for k in keys if self.base_keys.get(k) != digests[k]]

    def expected(self, targets: list[str]) -> dict[str, float]:
        """Seconds each target is expected to take: as long as it took last time, else its number
        of tests (`count_tests`) times the seconds per test of the last run."""
        new = sorted({_file_of(t) for t in targets if _file_of(t) not in self.seconds})
        texts = self.workspace.read_many(new) if new else {}
        rate = self.per_test or PER_TEST
        return {t: self.seconds.get(_file_of(t)) or count_tests(texts.get(_file_of(t), b"")) * rate for t in targets}

    def fit(self, targets: list[str], budget: float, keep: int = 0) -> tuple[list[str], list[str]]:
        """(the targets, best first, whose expected times fit in `budget` seconds; those left out):
        adding stops at the first that does not fit; the first `keep` are kept whatever they take."""
        spent, seconds = 0.0, self.expected(targets)
        for i, t in enumerate(targets):
            spent += seconds[t]
            if spent > budget and i >= keep:
                return targets[:i], targets[i:]
        return list(targets), []

    def _learn(self, targets: list[str], run, res: Results) -> None:
        """Time each target file from a run of them: its tests' own durations when the runner
        reports them, else the run's time shared out per test."""
        files = {_file_of(t) for t in targets}
        count: dict[str, int] = {}
        timed: dict[str, float] = {}
        for r in res.tests.values():
            f = _file_of(r.id)
            if f in files:
                count[f] = count.get(f, 0) + 1
                timed[f] = timed.get(f, 0.0) + (r.duration or 0.0)
        total = sum(count.values())
        if not total or run.duration <= 0:
            return
        self.per_test = run.duration / total
        if not res.timed_out:
            for f, n in count.items():
                self.seconds[f] = timed[f] or n * self.per_test

    def _run(self, test: TestCommand, targets: list[str] | None, diff: str, why: dict[str, str] | None,
             timeout: float | None, doctests: bool = False) -> tuple[TestResults, Results]:
        """One command on `targets` on the changed tree, read into `TestResults` (collection errors
        are told apart later, `_classify`, once the base tree has run), and the results as read.
        `doctests`: the targets are files whose doctests run."""
        run, res = run_structured(self.workspace, test, targets, timeout=timeout or self.plan.timeout)
        if targets and not doctests:
            self._learn(targets, run, res)
        statuses = self._statuses(run, res, by_exit_code=not doctests and self.plan.parser == EXIT_CODE)
        added = set(new_files(diff)) | set(find_repro(self.workspace) if targets is None else
                                           [t for t in targets or [] if _file_of(t).endswith(REPRO_NAME)])
        new_tests = sorted(t for t in statuses if _file_of(t) in added or REPRO_NAME.removesuffix(".py") in t)
        cut = res.timed_out
        no_results = [] if cut else list(res.no_results)
        not_run = list(res.no_results) if cut else []
        self_skipped = []
        if no_results and not doctests:
            texts = self.workspace.read_many(sorted({_file_of(t) for t in no_results if _file_of(t).endswith(".py")}))
            for t in list(no_results):
                at = self_skip(texts.get(_file_of(t), b""))
                if at is not None:
                    no_results.remove(t)
                    self_skipped.append(f"{t}: line {at[0]} `{at[1]}`")
        return TestResults(run.command, statuses, run.exit_code, run.timed_out, run.duration, run.output[-6000:],
                           new_tests=new_tests, no_results=no_results, not_run=not_run, self_skipped=self_skipped,
                           not_announced=res.not_run if cut else None, selected=dict(why or {})), res

    def _classify(self, out: TestResults, results: list[Results]) -> None:
        """The collection errors of a run: the environment's (the same on the base tree: reported
        once), else the change's; one whose base-tree run was cut says so."""
        cut = {t for c in out.cut for t in c["targets"]}
        for res in results:
            for e in res.collection_errors:
                why_ = f"cannot import {e.module}" if e.module else e.message
                if e.target in self.environment:
                    if e.target not in self.reported:
                        out.environment.append(f"{e.target}: {why_}")
                        self.reported.append(e.target)
                elif e.target in cut or WHOLE in cut:
                    out.collection_errors.append(f"{e.target}: {why_} ({UNCOMPARED})")
                else:
                    out.collection_errors.append(f"{e.target}: {why_}")

    # -- doctests -----------------------------------------------------------------------------------
    def doctest_targets(self, diff: str) -> list[str]:
        """The files whose doctests a run for `diff` covers (agent.doctests), those the environment
        cannot import left out."""
        if not self.plan.doctest or not diff.strip():
            return []
        present = [new for _, new in patch_files(diff) if new != "/dev/null"]
        files = self.workspace.list_files() if self.plan.doctest_globs else []
        return [t for t in doctest_targets(self.plan, files_changed(diff), present, files, self.workspace.read_many)
                if t not in self.environment]

    def _doctests(self, out: TestResults, whole: bool, diff: str, left,
                  only: list[str] | None = None) -> tuple[list[str], Results] | None:
        """Run the doctests of the change's files (`only`: of these alone) on the changed tree with
        what is left of the budget (`left()`) and add them to `out`; the files and their results
        (for the base tree), or None when none ran. No time left: cut (`TestResults.cut`)."""
        test = doctest_command(self.plan)
        if test is None:
            out.doctests = {"state": "none"}
            return None
        if whole and runner_of(test) == "pytest":
            out.doctests = {"state": "with_suite", "command": self.plan.doctest}
            return None
        targets = self.doctest_targets(diff)
        if only is not None:
            targets = [t for t in targets if t in only]
        if not targets:
            out.doctests = {"state": "no_targets", "command": self.plan.doctest}
            return None
        if left() < MIN_PART:
            out.doctests = {"state": "cut", "command": self.plan.doctest, "targets": targets}
            out.cut.append({"part": "doctests", "what": "doctests", "targets": targets, "call": targets})
            return None
        doc, res = self._run(test, targets, diff, None, left(), doctests=True)
        doc.no_results = []  # a module without doctests yields nothing, and that is no error
        out.absorb(doc)
        alone = not out.command
        if alone:  # no test file relates to the change
            out.command, out.exit_code, out.output = doc.command, doc.exit_code, doc.output
        elif doc.failing or res.collection_errors or doc.timed_out:
            out.output = f"{out.output[-3000:]}\n$ {doc.command}\n{doc.output[-3000:]}"
        out.doctests = {"state": "ran", "command": doc.command, "targets": targets, "ids": sorted(doc.statuses),
                        "timed_out": doc.timed_out, "alone": alone}
        return targets, res

    def _statuses(self, run, res: Results, by_exit_code: bool) -> dict[str, str]:
        if by_exit_code:
            return {self.plan.command: "PASSED" if run.exit_code == 0 and not run.timed_out else "FAILED"}
        statuses = {t: UPPER.get(s, s.upper()) for t, s in res.statuses().items()}
        if not statuses and not res.collection_errors and (run.exit_code not in (0, 5) or run.timed_out):
            statuses = {run.command: "ERROR"}  # nothing read and the command failed
        return statuses

    def _sources(self, diff: str) -> list[str]:
        """The change's source files (not tests): what goes back for a run on the base tree."""
        return [f for f in files_changed(diff) if not is_test_path(f)]

    def _digest(self, targets: list[str]) -> dict[str, str]:
        files = sorted({_file_of(t) for t in targets if _file_of(t).endswith(".py")})
        data = self.workspace.read_many(files) if files else {}
        return {t: hashlib.sha1(data.get(_file_of(t), b"")).hexdigest()[:12] for t in targets}

    def _baseline(self, targets: list[str] | None, sources: list[str], same: Results | None,
                  timeout: float | None, fresh: bool = False, test: TestCommand | None = None,
                  digests: dict[str, str] | None = None) -> None:
        """Run on the base tree the targets not known there (all of `targets` when `fresh`). `same`:
        the changed tree's results when the change touches no source file (the trees are the same).
        `test`: the command (the plan's by default; the doctest command for doctests); `digests`:
        what a target's base run is known by (by default the content of its test file)."""
        keys = [WHOLE] if targets is None else targets
        if digests is None:
            digests = {WHOLE: ""} if targets is None else self._digest(targets)
        need = [k for k in keys if fresh or self.base_keys.get(k) != digests[k]]
        if not need:
            return
        if same is not None:
            res = same
        else:
            with base_tree(self.workspace, sources):
                _, res = run_structured(self.workspace, test or self.command(), None if targets is None else need,
                                        timeout=timeout or self.plan.timeout)
        for t, s in res.statuses().items():
            self.base[t] = UPPER.get(s, s.upper())
        for e in res.collection_errors:
            self.environment[e.target] = f"cannot import {e.module}" if e.module else e.message
        cut = set(res.no_results) if res.timed_out else set()
        for k in need:
            if k not in cut and not (k == WHOLE and res.timed_out):
                self.base_keys[k] = digests[k]

    def recheck(self, tests: list[str], diff: str, timeout: float | None = None) -> dict[str, str]:
        """Run `tests` on the base tree again (not from the cache): their status there. One budget
        (`timeout`, else the plan's) covers the tests' run and the doctests'; no time left for the
        doctests': MISSING."""
        if not tests or not self.plan.takes_files:
            return {}
        deadline = self.clock() + (timeout or self.plan.timeout)
        doc = doctest_command(self.plan)
        docs = [t for t in tests if doc is not None and not is_test_path(_file_of(t))]  # a module's doctests
        ids = runner_of(self.command()) == "pytest"
        targets = list(dict.fromkeys(t if ids else _file_of(t) for t in tests if t not in docs))
        sources = self._sources(diff)
        if targets:
            self._baseline(targets, sources, None, deadline - self.clock(), fresh=True)
        if docs and deadline - self.clock() >= MIN_PART:
            files = list(dict.fromkeys(_file_of(t) for t in docs))
            self._baseline(files, sources, None, deadline - self.clock(), fresh=True, test=doc,
                           digests={f: "base" for f in files})
        return {t: self.base.get(t, "MISSING") for t in tests}

    # -- state (saved with the run's checkpoints) ------------------------------------------------
    def to_dict(self) -> dict:
        return {"base": self.base, "base_keys": self.base_keys, "environment": self.environment,
                "reported": self.reported, "last_failing": self.last_failing, "seconds": self.seconds,
                "per_test": self.per_test}

    def load(self, d: dict | None) -> None:
        for k, v in (d or {}).items():
            setattr(self, k, v)


def whole_suite_known_short(loop: TestLoop, times: SuiteTimes, limit: float) -> bool | None:
    """True when the suite is known to finish within `limit` seconds, False when known not to, None
    when never measured."""
    got = times.get(SuiteTimes.key(loop.workspace, loop.plan.command))
    if got is None:
        return None
    return bool(got["finished"] and got["seconds"] <= limit)


def measure_whole_suite(loop: TestLoop, times: SuiteTimes, diff: str, limit: float) -> TestResults | None:
    """Run the whole suite once with `limit` seconds: record how long it takes; its results when it
    finished in time (then the base tree's run too), else None."""
    res = loop.run(None, diff, timeout=limit)
    times.put(SuiteTimes.key(loop.workspace, loop.plan.command), res.duration, not res.timed_out)
    return None if res.timed_out else res
