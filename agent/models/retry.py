"""Retries with exponential backoff and jitter, bounded in attempts and in total waiting.

The SDKs' own retries are switched off (max_retries=0) so that one policy, ours, governs both
providers: it honours `retry-after-ms` / `retry-after`, caps the sum of the waits, and reports
what it gave up on in one line. `sdk_error` maps an openai/anthropic SDK exception to a
TransientError (retried) or a ModelError (not).
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from .errors import DeadlineExceeded, ModelError, ModelSetupError, RetriesExhausted, TransientError

log = logging.getLogger("agent.models")
T = TypeVar("T")

RETRY_STATUSES = {408, 409, 429}  # and every 5xx (529 is Anthropic's "overloaded")


class RetryPolicy(BaseModel):
    """How a model call is retried after a 429, a 5xx, a timeout or a connection error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = 6
    """Requests in all, the first one included (1 = never retry)."""
    initial_delay: float = 1.0
    """Backoff before the first retry, in seconds; it doubles with every further retry."""
    max_delay: float = 60.0
    """Cap of one backoff wait, in seconds. A server's retry-after is honoured even above it."""
    max_total_wait: float = 300.0
    """Cap of the time spent waiting between attempts, in seconds. A wait that would pass it
    (a long retry-after, say) ends the retries at once."""
    jitter: float = 0.5
    """Fraction of each backoff wait that is random (0 = none): the wait is drawn from
    [delay*(1-jitter), delay]. Server-requested waits get no jitter."""


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds the server asked to wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP
    date); None when absent or unreadable."""
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lower.get(name)
        if value is None:
            continue
        try:
            return max(float(value) / scale, 0.0)
        except ValueError:
            pass
        if name == "retry-after":
            try:
                when = email.utils.parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError):
                continue
            return max(when - (time.time() if now is None else now), 0.0)
    return None


def backoff_delay(retry: int, policy: RetryPolicy, rng: random.Random | Any = random) -> float:
    """The wait before retry number `retry` (1-based) when the server gave no retry-after."""
    delay = min(policy.initial_delay * 2 ** (retry - 1), policy.max_delay)
    return delay * (1 - policy.jitter * rng.random())


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, label: str,
                      sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | Any = random, deadline: float | None = None) -> tuple[T, int]:
    """Call fn until it returns, retrying TransientError under `policy`. Returns (result, attempts).
    Raises RetriesExhausted (one line: attempts, waited time, last error) when the policy runs out,
    and DeadlineExceeded when waiting for the next attempt would pass `deadline` (time.monotonic())."""
    waited = 0.0
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return fn(), attempt
        except TransientError as exc:
            last = exc
        if attempt == policy.max_attempts:
            break
        wait = last.retry_after if last.retry_after is not None else backoff_delay(attempt, policy, rng)
        if deadline is not None and time.monotonic() + wait >= deadline:
            raise DeadlineExceeded(f"{label}: {last}; no time left for another attempt before the deadline")
        if waited + wait > policy.max_total_wait:
            raise RetriesExhausted(
                f"{label}: gave up after {attempt} attempt(s): {last}; waiting {wait:.1f} s more would pass "
                f"the retry budget of {policy.max_total_wait:g} s")
        log.warning("%s: %s; retrying in %.2f s (attempt %d of %d)", label, last, wait, attempt + 1,
                    policy.max_attempts)
        sleep(wait)
        waited += wait
    raise RetriesExhausted(f"{label}: gave up after {policy.max_attempts} attempt(s) "
                           f"({waited:.1f} s waiting): {last}")


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    msg = None
    if isinstance(body, dict):
        err = body.get("error", body)
        msg = err.get("message") if isinstance(err, dict) else err
    text = " ".join(str(msg or getattr(exc, "message", None) or exc).split())
    return text[:300]


def sdk_error(exc: Exception, sdk: Any, label: str, key_env: str, timeout: float) -> Exception:
    """Map an exception of the `openai` or `anthropic` SDK (passed as `sdk`) to TransientError or
    ModelError. Both SDKs share the exception names used here."""
    if isinstance(exc, sdk.APITimeoutError):
        return TransientError(f"no answer within the {timeout:g} s timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return TransientError(f"connection failed ({_api_message(exc.__cause__ or exc)})")
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        msg = _api_message(exc)
        if status in RETRY_STATUSES or status >= 500:
            return TransientError(f"HTTP {status}: {msg}", parse_retry_after(exc.response.headers))
        if status in (401, 403):
            return ModelSetupError(f"{label}: the API refused the credentials (HTTP {status}: {msg}); check {key_env}")
        if status == 404:
            return ModelSetupError(f"{label}: not found (HTTP 404: {msg}); check the model name and base URL")
        return ModelError(f"{label}: the API refused the request (HTTP {status}: {msg})")
    return ModelError(f"{label}: {type(exc).__name__}: {_api_message(exc)}")
