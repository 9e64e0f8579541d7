"""`env --check`: does the environment run the repository's tests? Collect, then run with a budget.

The figures: tests collected, collection errors (each with the missing module or its error
line), and passed / failed / errors / skipped of a run cut off at the time budget (verbose
per-test lines are read too, so a run cut short still counts what it finished). Whatever is
missing is summed up in one `note` line, which the agent's first observation and `fix`'s
summary repeat.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace

from ..log_parsers import ERROR, FAILED, PASSED, SKIPPED, XFAIL, get_parser
from ..testing import plain
from .recipe import Recipe

_MISSING = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '([\w.]+)'")


@dataclass
class CheckResult:
    """What `env --check` found."""

    collected: int | None = None
    """Tests collected (pytest's --collect-only; for unittest, the tests that ran); None: not collected."""
    collection_errors: list[str] = field(default_factory=list)
    """One line per file that cannot be collected: `path: No module named 'x'` or its error line."""
    missing_modules: list[str] = field(default_factory=list)
    not_installed: list[str] = field(default_factory=list)
    """Requirements the image's build could not install."""
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    timed_out: bool = False
    seconds: float = 0.0
    command: str = ""

    @property
    def ran(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def complete(self) -> bool:
        """Tests were found, all of them collect, and none fails to run for a missing module."""
        return bool(self.collected) and not self.collection_errors and not self.missing_modules

    @property
    def succeeded(self) -> bool:
        """The benchmark's bar: complete, and at least 95% of the collected tests that are not
        skipped (by the project's own skip marks) pass."""
        return self.complete and self.passed >= 0.95 * max(1, (self.collected or 0) - self.skipped)

    @property
    def succeeded_strict(self) -> bool:
        """Complete, and at least 95% of all collected tests pass (skipped ones count against)."""
        return self.complete and self.passed >= 0.95 * (self.collected or 0)

    def note(self) -> str:
        """`environment: cannot import xmlschema; 3 test files cannot be collected` (empty when complete)."""
        parts = []
        if self.not_installed:
            parts.append("could not install " + ", ".join(self.not_installed[:5]))
        if self.missing_modules:
            parts.append("cannot import " + ", ".join(self.missing_modules[:5]))
        if self.collection_errors:
            n = len(self.collection_errors)
            parts.append(f"{n} test file{'s' if n != 1 else ''} cannot be collected")
        if not parts and self.collected == 0:
            parts.append("no tests collected")
        return "environment: " + "; ".join(parts) if parts else ""

    def to_dict(self) -> dict:
        return {**asdict(self), "complete": self.complete, "note": self.note()}


def collection_errors(output: str) -> tuple[list[str], list[str]]:
    """(one line per file pytest could not collect, modules named missing) from `--collect-only` output."""
    errors: list[str] = []
    missing: list[str] = []
    sections = re.split(r"^_{3,} ERROR collecting (.+?) _{3,}$", output, flags=re.M)
    for i in range(1, len(sections) - 1, 2):
        path, body = sections[i].strip(), sections[i + 1]
        m = _MISSING.search(body)
        if m:
            missing.append(m.group(1).split(".")[0])
            errors.append(f"{path}: No module named '{m.group(1)}'")
            continue
        lines = [ln[1:].strip() for ln in body.splitlines() if ln.startswith("E ")]
        errors.append(f"{path}: {(lines[-1] if lines else body.strip().splitlines()[-1] if body.strip() else '?')[:200]}")
    if not errors:  # an error before collection (a conftest import, a bad option)
        m = _MISSING.search(output)
        if m and re.search(r"ImportError while loading conftest|ERROR: |INTERNALERROR", output):
            missing.append(m.group(1).split(".")[0])
            errors.append(f"conftest: No module named '{m.group(1)}'")
        elif re.search(r"^ERROR: |ImportError while loading conftest", output, re.M):
            line = next(ln for ln in output.splitlines() if ln.startswith(("ERROR: ", "E ")) or "conftest" in ln)
            errors.append(line.strip()[:200])
    return errors, sorted(set(missing))


def collected_count(output: str) -> int:
    m = re.search(r"(\d+)(?:/\d+)? tests? collected|collected (\d+) items?", output)
    if m:
        return int(m.group(1) or m.group(2))
    return len(re.findall(r"^\S+::\S+", output, re.M))


def collect_command(recipe: Recipe) -> str | None:
    """The test command turned into a collection (pytest only)."""
    if recipe.test is None or recipe.test.parser != "pytest":
        return None
    cmd = re.sub(r"\s-rA\b", "", recipe.test.command)
    return f"{cmd} --collect-only -q"


def run_command(recipe: Recipe) -> str:
    """The test command with per-test lines (so a run cut short still counts)."""
    assert recipe.test is not None
    if recipe.test.parser == "pytest":
        return recipe.test.command + " -v -o console_output_style=classic"
    return recipe.test.command


def collect(ws, recipe: Recipe, timeout: float = 600, not_installed: list[str] | None = None) -> CheckResult:
    """Collect the tests (pytest) in a workspace started from the environment image: what is missing."""
    res = CheckResult(not_installed=list(not_installed or []))
    command = collect_command(recipe)
    if command:
        out = ws.run(command, timeout, max_output=20_000_000)
        out = replace(out, output=plain(out.output))
        res.collected = collected_count(out.output)
        res.collection_errors, res.missing_modules = collection_errors(out.output)
        if out.exit_code not in (0, 5) and not res.collection_errors:  # pytest itself could not start
            res.collection_errors.append(_last_error(out.output))
    return res


def check(ws, recipe: Recipe, budget: float = 600, not_installed: list[str] | None = None) -> CheckResult:
    """Collect and run the repository's tests in a workspace started from its environment image."""
    if recipe.test is None:
        return CheckResult(not_installed=list(not_installed or []))
    start = time.monotonic()
    res = collect(ws, recipe, min(budget, 600), not_installed)
    collect_cmd = collect_command(recipe)
    remaining = max(30.0, budget - (time.monotonic() - start))
    cmd = run_command(recipe)
    res.command = cmd
    run = ws.run(cmd, remaining, max_output=40_000_000)
    run = replace(run, output=plain(run.output))
    res.timed_out = run.timed_out
    if recipe.test.parser == "pytest":
        statuses = pytest_statuses(run.output)
    elif recipe.test.parser == "exit_code":
        statuses = {cmd: PASSED if run.ok else FAILED}
    else:
        statuses = get_parser(recipe.test.parser)(run.output)
    counts = {s: 0 for s in (PASSED, FAILED, ERROR, SKIPPED, XFAIL)}
    for s in statuses.values():
        counts[s] = counts.get(s, 0) + 1
    res.passed, res.failed, res.errors = counts[PASSED], counts[FAILED], counts[ERROR]
    res.skipped = counts[SKIPPED] + counts[XFAIL]
    if not collect_cmd:
        res.collected = len(statuses)
        if run.exit_code != 0 and not statuses:
            res.collection_errors.append(_last_error(run.output))
    for m in _MISSING.finditer(run.output):
        top = m.group(1).split(".")[0]
        if recipe.test.parser != "pytest" and top not in res.missing_modules:
            res.missing_modules.append(top)
    res.seconds = round(time.monotonic() - start, 1)
    return res


_VERBOSE = re.compile(r"^(\S+::.+?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b", re.M)


def pytest_statuses(output: str) -> dict[str, str]:
    """Per-test status from pytest's verbose lines (`id PASSED`), else from its `-rA` summary (the two
    spell some ids differently, so they are not mixed)."""
    out = {m.group(1): PASSED if m.group(2) == "XPASS" else m.group(2) for m in _VERBOSE.finditer(output)}
    return out or get_parser("pytest")(output)


def _last_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if re.search(r"Error|error:", ln)]
    return (lines[-1] if lines else (output.strip().splitlines() or ["the test command failed"])[-1])[:200]


