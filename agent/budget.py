"""Budgets of a run: model calls (steps), tokens, dollars and wall time.

`Budget.check()` runs before every model call and raises BudgetExhausted when a limit is reached;
`Budget.charge(turn)` runs after it. The run then ends cleanly with status `budget_exhausted`.

The guarantee for dollars (and the same for tokens): a call is made only while the spending so far
plus the last call's cost stays within the cap. Spending can pass the cap only when a call costs
more than the call before it, and then by less than that one call's cost; the next check stops the
run. (A cap of $4 cannot become $700.) Calls whose cost is unknown (an unpriced model) add nothing
to the dollars; they are counted in `unpriced_steps`, and a warning says that the dollar cap cannot
limit them. Steps and time are checked as they stand: a run makes at most `max_steps` calls, and
starts none after `max_time` seconds; a call under way when the time runs out is abandoned
(agent.runtime), and the time is checked between tool calls too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from agent.models.errors import BudgetExhausted
from agent.models.types import ModelTurn

from . import limits

log = logging.getLogger("agent.budget")


class BudgetLimits(BaseModel):
    """Limits of one run; None means no limit."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int | None = None
    """Model calls in all."""
    max_tokens: int | None = None
    """Tokens in all: prompt tokens (cached ones included) plus generated ones."""
    max_cost: float | None = None
    """US dollars in all (see the module's guarantee)."""
    max_time: float | None = None
    """Seconds of wall time since the run started (time before a resume included)."""


DEFAULT_LIMITS = BudgetLimits(max_steps=limits.MAX_STEPS, max_cost=limits.MAX_COST, max_time=limits.MAX_TIME)
"""The budget of a run when none is given (agent.limits)."""


class Spent(BaseModel):
    """What a run has used so far: saved with the run so that a resumed run keeps counting."""

    steps: int = 0
    """Model calls made."""
    tokens: int = 0
    """Tokens used (prompt, cached included, plus output)."""
    cost: float = 0.0
    """Dollars spent on calls with a known cost."""
    unpriced_steps: int = 0
    """Calls whose cost was unknown."""
    elapsed: float = 0.0
    """Seconds of wall time (at the time of the snapshot)."""
    last_cost: float = 0.0
    """Dollars of the last call with a known cost: the projection of the next one."""
    last_tokens: int = 0
    """Tokens of the last call: the projection of the next one."""


class Budget:
    """Limits plus what was spent. `clock` is a monotonic clock in seconds."""

    def __init__(self, limits: BudgetLimits | None = None, spent: Spent | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = limits or BudgetLimits()
        self._spent = (spent or Spent()).model_copy()
        self._clock = clock
        self._start = clock() - self._spent.elapsed
        self._warned_unpriced = False

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    @property
    def spent(self) -> Spent:
        """A snapshot of what was spent, elapsed time included."""
        return self._spent.model_copy(update={"elapsed": self.elapsed})

    def time_left(self) -> float | None:
        """Seconds left of the time budget (None: no time limit)."""
        return None if self.limits.max_time is None else self.limits.max_time - self.elapsed

    def check_time(self) -> None:
        """Raise BudgetExhausted if the time budget is spent."""
        if self.limits.max_time is not None and self.elapsed >= self.limits.max_time:
            raise BudgetExhausted("time", f"time budget exhausted: {self.elapsed:.0f} s of "
                                          f"{self.limits.max_time:g} s used")

    def check(self) -> None:
        """Raise BudgetExhausted if the next model call may not be made."""
        lim, s = self.limits, self._spent
        if lim.max_steps is not None and s.steps >= lim.max_steps:
            raise BudgetExhausted("steps", f"step budget exhausted: {s.steps} of {lim.max_steps} model calls made")
        self.check_time()
        if lim.max_tokens is not None and s.tokens + s.last_tokens > lim.max_tokens:
            raise BudgetExhausted("tokens", f"token budget exhausted: {s.tokens} of {lim.max_tokens} tokens used, "
                                            f"and the last call took {s.last_tokens}")
        if lim.max_cost is not None and (s.cost >= lim.max_cost or s.cost + s.last_cost > lim.max_cost):
            raise BudgetExhausted("cost", f"cost budget exhausted: ${s.cost:.4f} of ${lim.max_cost:g} spent, "
                                          f"and the last call cost ${s.last_cost:.4f}")

    def charge(self, turn: ModelTurn) -> None:
        """Count one model call (usage and cost are checked by the client: never negative)."""
        s = self._spent
        s.steps += 1
        tokens = max(turn.usage.total_tokens, 0)
        s.tokens += tokens
        s.last_tokens = tokens
        if turn.cost is None:
            s.unpriced_steps += 1
            if self.limits.max_cost is not None and not self._warned_unpriced:
                self._warned_unpriced = True
                log.warning("the cost of %s is unknown: the dollar budget cannot limit it (the step, token "
                            "and time budgets still do)", turn.model or "the model")
        else:
            cost = turn.cost if turn.cost > 0 else 0.0  # NaN counts as nothing, never less
            s.cost += cost
            s.last_cost = cost
