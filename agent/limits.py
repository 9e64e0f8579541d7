"""The default budget of a run, defined once: `patchwright fix`, `run` and `github`, the batch runner
and the Python API all read it. On the command line 0 means "no limit"; in the API that is None
(`from_cli` converts). Kept free of imports so that a command's `--help` stays fast."""

from __future__ import annotations

MAX_STEPS = 50
"""Model calls of one run (one instance in a batch)."""
MAX_COST = 3.0
"""US dollars of one run."""
MAX_TIME = 3600
"""Seconds of wall time of one run."""


def from_cli(value: float | None) -> float | None:
    """A limit given on the command line as the API takes it: 0 (and None) mean no limit."""
    return value or None
