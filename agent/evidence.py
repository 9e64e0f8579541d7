"""Test evidence for a patch, and how candidate patches are ranked by it.

A patch's evidence compares the tests after it with the tests before it: tests it fixed (failing
before, passing after), tests it broke (passing before, failing after), tests still failing, and
the agent's reproduction test. Candidates (the attempts of `--attempts N`) are ranked by:

1. a non-empty patch;
2. the reproduction test passing (when the candidate wrote one);
3. no previously passing test failing (then fewer such);
4. more tests fixed, then fewer tests failing;
5. fewer changed lines.
"""

from __future__ import annotations

from pydantic import BaseModel

from sandbox.diffs import changed_lines
from sandbox.log_parsers import ERROR, FAILED, PASSED

from .testplan import split_repro

BAD = (FAILED, ERROR)


class Evidence(BaseModel):
    """What the tests say about one patch."""

    tests_ran: bool = False
    """Whether tests ran after the patch."""
    fixed: list[str] = []
    """Tests failing before and passing after."""
    broken: list[str] = []
    """Tests passing before and failing after."""
    failing: list[str] = []
    """Tests failing after (fixed or not, broken or not)."""
    repro: str | None = None
    """The reproduction test's status after the patch (PASSED, FAILED, ...), None without one."""
    changed_lines: int = 0
    """Lines added plus lines removed by the patch."""
    empty: bool = True
    """The patch changes nothing."""

    @property
    def verified(self) -> bool:
        """The tests show the issue fixed: a patch, tests run, nothing broken, the reproduction test
        passing when there is one, and something that failed (or the reproduction test) passing."""
        if self.empty or not self.tests_ran or self.broken:
            return False
        if self.repro is not None and self.repro != PASSED:
            return False
        return bool(self.fixed) or self.repro == PASSED


def weigh_evidence(diff: str, before: dict[str, str] | None, after: dict[str, str] | None,
                   repro: str | None = None) -> Evidence:
    """The evidence of `diff` from the tests before and after it (None: not run)."""
    before = split_repro(before or {})[0]
    if after is None:
        return Evidence(tests_ran=False, repro=repro, changed_lines=changed_lines(diff), empty=not diff.strip())
    after, repro_after = split_repro(after)
    fixed = sorted(t for t, s in after.items() if s == PASSED and before.get(t) in BAD)
    broken = sorted(t for t, s in after.items() if s in BAD and before.get(t) == PASSED)
    failing = sorted(t for t, s in after.items() if s in BAD)
    return Evidence(tests_ran=bool(after), fixed=fixed, broken=broken, failing=failing,
                    repro=repro if repro is not None else repro_after, changed_lines=changed_lines(diff),
                    empty=not diff.strip())


def rank_key(e: Evidence) -> tuple:
    """Sort key of a candidate: smaller is better (see the module's order)."""
    return (e.empty, e.repro is not None and e.repro != PASSED, len(e.broken), -len(e.fixed), len(e.failing),
            e.changed_lines)


def best(candidates: list[tuple[int, Evidence]]) -> int | None:
    """The index of the best candidate of (index, evidence) pairs; ties go to the earlier one."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (rank_key(c[1]), c[0]))[0]
