"""What a tool may change, declared by the tool itself: the agent derives "did the patch change?"
from it, not from a list of names kept by hand.

    @effect(Effect.EDITS)
    def str_replace(ctx, path: str, old: str, new: str) -> str: ...
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., str])


class Effect(StrEnum):
    """What a call of the tool may change in the workspace."""

    READS = "reads"
    """Nothing: it only reads."""
    EDITS = "edits"
    """Files, when the call succeeds (a refused edit changes nothing)."""
    ANY = "any"
    """Anything, whether the call succeeds or not (a shell command, a test run)."""

    def may_change(self, is_error: bool) -> bool:
        """Whether a call with this effect may have changed files, given how the call ended."""
        return self is Effect.ANY or (self is Effect.EDITS and not is_error)


def effect(kind: Effect) -> Callable[[F], F]:
    """Declare what a tool function may change (read by tools.registry.make_tool)."""
    def mark(func: F) -> F:
        func.__tool_effect__ = kind  # type: ignore[attr-defined]
        return func
    return mark
