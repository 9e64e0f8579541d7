"""Errors of model clients: one line each. A ModelError is the system's (exit 1: the service failed,
or refused a request patchwright made) unless it is a ModelSetupError (exit 2: the user's key, model
name, cassette or input). TransientError is retried and never leaves a client."""

from __future__ import annotations

from sandbox.errors import SystemFault, UserError


class ModelError(SystemFault):
    """A model call failed for good: the API refused the request, or kept failing after retries."""


class ModelSetupError(ModelError, UserError):
    """A model call failed because of what the user set up: the key, the model name or its URL, the
    cassette, the person's input."""

    exit_code = UserError.exit_code


class MissingAPIKey(ModelSetupError):
    """The provider needs an API key and none is set."""


class RetriesExhausted(ModelError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the retry policy."""


class DeadlineExceeded(ModelError):
    """The caller's deadline (a time budget) passed before the model answered; the call was abandoned."""


class ReplayExhausted(ModelSetupError):
    """A replay cassette has no turn left for the call."""


class BudgetExhausted(Exception):
    """A limit is reached; the run ends with status `budget_exhausted`. `limit` is one of steps,
    tokens, cost, time (`agent.budget` raises these), or wait (a relay that got no reply in time).
    Defined here, beside the clients, so that a client can raise it without importing the budget."""

    status = "budget_exhausted"

    def __init__(self, limit: str, message: str):
        super().__init__(message)
        self.limit = limit


class TransientError(Exception):
    """One attempt failed in a way worth retrying. `retry_after` is the server's requested wait in
    seconds, when it gave one. Raised by clients inside an attempt, handled by the retry loop."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
