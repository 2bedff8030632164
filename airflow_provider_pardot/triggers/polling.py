"""What the Pardot triggers share: polling at a fixed rate, giving up on time, one event, never a crash."""

from __future__ import annotations

import asyncio
import random
import time
from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID
from airflow_provider_pardot.exceptions import (
    PardotAuthError,
    PardotRateLimitError,
    PardotValidationError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: Errors that another poll cannot fix: reported at once.
FINAL_ERRORS = (PardotAuthError, PardotRateLimitError, PardotValidationError)


class PardotPollingTrigger(BaseTrigger):
    """
    Poll Pardot until :meth:`check` reports an outcome or time runs out; yield exactly one event.

    The event is ``{"status", "message", "requests", "usage", **payload()}``: ``status`` is the
    outcome :meth:`check` returned, ``timeout`` (``end_time`` passed) or ``error`` (Pardot could
    not be read). ``run()`` never raises. The first poll comes after a random part of
    ``poll_interval`` (so triggers created together do not poll in lockstep), later polls
    ``poll_interval`` apart.

    :param pardot_conn_id: The Pardot connection to use.
    :param poll_interval: Seconds between two polls.
    :param end_time: When to give up (a UNIX timestamp); ``None`` waits forever.
    :param timeout: Alternative to ``end_time``: seconds from now (converted to ``end_time``).
    :param jitter: Whether the first poll waits a random part of ``poll_interval`` (default).
    :param max_poll_failures: How many polls in a row may fail (after the hook's own retries)
        before the trigger reports an error.
    """

    def __init__(
        self,
        pardot_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        *,
        timeout: float | None = None,
        jitter: bool = True,
        max_poll_failures: int = 3,
    ) -> None:
        super().__init__()
        self.pardot_conn_id = pardot_conn_id
        self.poll_interval = float(poll_interval)
        if end_time is None and timeout is not None:
            end_time = time.time() + float(timeout)
        self.end_time = end_time
        self.jitter = jitter
        self.max_poll_failures = max(int(max_poll_failures), 1)

    def polling_arguments(self) -> dict[str, Any]:
        """The constructor arguments of this class, for :meth:`serialize`."""
        return {
            "pardot_conn_id": self.pardot_conn_id,
            "poll_interval": self.poll_interval,
            "end_time": self.end_time,
            "jitter": self.jitter,
            "max_poll_failures": self.max_poll_failures,
        }

    def _hook(self):
        from airflow_provider_pardot.hooks.pardot import PardotAsyncHook

        return PardotAsyncHook(pardot_conn_id=self.pardot_conn_id)

    def _event(self, status: str, message: str, hook: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                **self.payload(),
                "message": message,
                "requests": getattr(hook, "request_count", 0),
                "usage": str(hook.last_usage) if hook is not None and hook.last_usage else None,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll; yield one event."""
        hook = None
        try:
            hook = self._hook()
            delay = random.uniform(0, self.poll_interval) if self.jitter else 0.0
            failures = 0
            while True:
                if self.end_time is not None:
                    delay = max(0.0, min(delay, self.end_time - time.time()))
                if delay:
                    await asyncio.sleep(delay)
                polled_at = time.monotonic()
                outcome, failures = await self._poll(hook, failures)
                if outcome is not None:
                    yield self._event(*outcome, hook)
                    return
                # a fixed rate: the next poll is one interval after this one began
                delay = max(0.0, self.poll_interval - (time.monotonic() - polled_at))
                if self.end_time is not None and time.time() >= self.end_time:
                    yield self._event("timeout", self.timeout_message(), hook)
                    return
        except Exception as err:  # never crash the triggerer
            yield self._event(
                "error", f"Could not follow {self.subject()}: {type(err).__name__}: {err}", hook
            )

    async def _poll(self, hook: Any, failures: int) -> tuple[tuple[str, str] | None, int]:
        """
        Poll once: ``(outcome, 0)``, or ``(None, failures + 1)`` after a failure another poll may fix.

        Raises when it cannot: a final error, or ``max_poll_failures`` failures in a row.
        """
        try:
            return await self.check(hook), 0
        except FINAL_ERRORS:
            raise
        except Exception as err:
            failures += 1
            if failures >= self.max_poll_failures:
                raise
            self.log.warning(
                "Reading %s failed (%s); %d of %d failures allowed in a row",
                self.subject(),
                err,
                failures,
                self.max_poll_failures,
            )
            return None, failures

    # -- what each trigger says ---------------------------------------------------------------
    @abstractmethod
    async def check(self, hook: Any) -> tuple[str, str] | None:
        """Read Pardot once: ``(status, message)`` when the wait is over, else ``None``."""

    @abstractmethod
    def payload(self) -> dict[str, Any]:
        """What the event carries besides its status, message and request count."""

    @abstractmethod
    def subject(self) -> str:
        """What is waited for, for messages (``Pardot export 42``)."""

    @abstractmethod
    def timeout_message(self) -> str:
        """The message of the event when ``end_time`` passed."""
