"""Structured test results: per-test statuses read from a run's JUnit XML or console output,
outer session only. See docs/tests.md."""

from .model import (
           ERROR,
           FAILED,
           PASSED,
           SKIPPED,
           STATUSES,
           XFAIL,
           XPASS,
           CollectionError,
           Results,
           TestResult,
)
from .read import RUNNERS, read_results

__all__ = ["ERROR", "FAILED", "PASSED", "SKIPPED", "STATUSES", "XFAIL", "XPASS", "CollectionError", "Results",
           "TestResult", "RUNNERS", "read_results"]
