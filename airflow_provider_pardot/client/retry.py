"""
When a failed request may be sent again, and how long to wait first.

:mod:`airflow_provider_pardot.client.pipeline` applies these rules for both hooks:

- idempotent requests (reads, queries, downloads) retry on connection errors, timeouts, HTTP 5xx,
  error 66 (too many concurrent requests) and Pardot's "try again" errors (183, 214);
- requests that create or send retry only when they provably never reached Pardot (the connection
  was never made) or Pardot refused them before doing anything (66); after a read timeout, a
  reset or a 5xx the action may have happened, so they are never repeated;
- error 122 (daily allocation spent) is never retried;
- error 184 / HTTP 401 gets one token refresh and one replay (see ``pipeline.decide``).
"""

from __future__ import annotations

import random
from enum import Enum

from airflow_provider_pardot.client.errors import CONCURRENCY_LIMIT_CODE, TRANSIENT_CODES

MAX_BACKOFF_SECONDS = 60.0


class Failure(Enum):
    """What went wrong with one attempt."""

    NOT_CONNECTED = "could not connect"  # never reached the server
    TIMEOUT = "timed out"  # sent; the answer did not come in time
    DROPPED = "connection dropped"  # sent; the connection broke before a full answer
    SERVER_ERROR = "server error"  # HTTP 5xx without a Pardot error
    CONCURRENCY = "concurrent request limit (66)"
    TRANSIENT = "Pardot asked to try again"
    FINAL = "not retryable"


def classify_code(code: int | None, http_status: int | None) -> Failure:
    """Classify an answered failure by its Pardot code, else its status."""
    if code == CONCURRENCY_LIMIT_CODE:
        return Failure.CONCURRENCY
    if code in TRANSIENT_CODES:
        return Failure.TRANSIENT
    if code is None and http_status is not None and http_status >= 500:
        return Failure.SERVER_ERROR
    return Failure.FINAL


def may_retry(failure: Failure, *, idempotent: bool) -> bool:
    if failure is Failure.FINAL:
        return False
    if idempotent:
        return True
    # A create or send: only when Pardot certainly did nothing.
    return failure in (Failure.NOT_CONNECTED, Failure.CONCURRENCY)


def backoff_seconds(attempt: int, base: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in ``[base/2, base * 2**attempt]``, capped."""
    uniform = rng.uniform if rng is not None else random.uniform
    ceiling = min(MAX_BACKOFF_SECONDS, base * (2**attempt))
    return uniform(min(base / 2, ceiling), ceiling)


def ambiguous_message(what: str, failure: Failure) -> str:
    return (
        f"{what} may have reached Pardot ({failure.value}) and was NOT retried, so it is not done twice. "
        "Check in Pardot whether it happened before running it again."
    )
