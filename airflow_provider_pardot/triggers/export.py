"""Trigger that waits, in the triggerer, for a Pardot export to finish."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pardot.api.exports import ExportOutcome, export_status
from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID
from airflow_provider_pardot.exceptions import (
    PardotAuthError,
    PardotRateLimitError,
    PardotValidationError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

#: Errors that another poll cannot fix: reported at once.
_FINAL_ERRORS = (PardotAuthError, PardotRateLimitError, PardotValidationError)


class PardotExportTrigger(BaseTrigger):
    """
    Poll a Pardot export asynchronously until it is Complete, fails, expires or time runs out.

    Yields exactly one event, ``{"status", "export_id", "export", "message", "requests"}`` where
    ``status`` is ``success`` (Complete and not expired), ``failed`` (Failed, Canceled or expired:
    waiting longer cannot help), ``timeout`` (``end_time`` passed) or ``error`` (Pardot could not
    be read). ``run()`` never raises.

    Every trigger of one connection in a triggerer shares at most five requests in flight (see
    :class:`~airflow_provider_pardot.hooks.pardot.PardotAsyncHook`), and the first poll comes after
    a random offset within ``poll_interval``, so hundreds of triggers created together do not poll
    in lockstep. Later polls are ``poll_interval`` apart, so completion is reported within one
    interval.

    :param export_id: The Pardot export to wait for.
    :param pardot_conn_id: The Pardot connection to use.
    :param poll_interval: Seconds between two reads of the export.
    :param end_time: When to give up (a UNIX timestamp); ``None`` waits forever.
    :param timeout: Alternative to ``end_time``: seconds from now (converted to ``end_time``).
    :param jitter: Whether the first poll waits a random part of ``poll_interval`` (default) or
        comes at once.
    :param max_poll_failures: How many polls in a row may fail (after the hook's own retries)
        before the trigger reports an error.
    :param cancel_on_kill: Cancel the export when a user kills or marks the waiting task (Airflow
        3.3+ calls :meth:`on_kill`); set by the operator that created the export, never by sensors.
    """

    def __init__(
        self,
        export_id: int | str,
        pardot_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        *,
        timeout: float | None = None,
        jitter: bool = True,
        max_poll_failures: int = 3,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.export_id = export_id
        self.pardot_conn_id = pardot_conn_id
        self.poll_interval = float(poll_interval)
        if end_time is None and timeout is not None:
            end_time = time.time() + float(timeout)
        self.end_time = end_time
        self.jitter = jitter
        self.max_poll_failures = max(int(max_poll_failures), 1)
        self.cancel_on_kill = cancel_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialise the trigger's arguments and its full class path."""
        return (
            "airflow_provider_pardot.triggers.export.PardotExportTrigger",
            {
                "export_id": self.export_id,
                "pardot_conn_id": self.pardot_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "jitter": self.jitter,
                "max_poll_failures": self.max_poll_failures,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def _hook(self):
        from airflow_provider_pardot.hooks.pardot import PardotAsyncHook

        return PardotAsyncHook(pardot_conn_id=self.pardot_conn_id)

    def _event(self, status: str, message: str, export: dict[str, Any] | None, hook: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "export_id": self.export_id,
                "export": export,
                "message": message,
                "requests": getattr(hook, "request_count", 0),
                "usage": str(hook.last_usage) if hook is not None and hook.last_usage else None,
            }
        )

    async def on_kill(self) -> None:
        """The waiting task was killed (Airflow 3.3+): cancel the export it created, best effort."""
        if not self.cancel_on_kill:
            return
        try:
            await self._hook().cancel_export(self.export_id)
        except Exception as err:
            self.log.warning("Could not cancel Pardot export %s: %s", self.export_id, err)
        else:
            self.log.info("Canceled Pardot export %s because its task was killed", self.export_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the export; yield one event."""
        hook = None
        export: dict[str, Any] | None = None
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
                read, failures = await self._poll(hook, failures)
                if read is not None:
                    export = read
                    status = export_status(export)
                    if status.outcome is not ExportOutcome.RUNNING:
                        outcome = "success" if status.complete else "failed"
                        yield self._event(outcome, status.message, export, hook)
                        return
                    self.log.info("%s", status.message)
                # a fixed rate: the next poll is one interval after this one began
                delay = max(0.0, self.poll_interval - (time.monotonic() - polled_at))
                if self.end_time is not None and time.time() >= self.end_time:
                    state = export.get("state") if export else "unknown"
                    yield self._event(
                        "timeout",
                        f"Timed out waiting for Pardot export {self.export_id} (last state: {state}).",
                        export,
                        hook,
                    )
                    return
        except Exception as err:  # never crash the triggerer
            yield self._event(
                "error",
                f"Could not follow Pardot export {self.export_id}: {type(err).__name__}: {err}",
                export,
                hook,
            )

    async def _poll(self, hook: Any, failures: int) -> tuple[dict[str, Any] | None, int]:
        """
        Read the export once: ``(export, 0)``, or ``(None, failures + 1)`` after a failure another poll may fix.

        Raises when it cannot: a final error, or ``max_poll_failures`` failures in a row.
        """
        try:
            return await hook.get_export(self.export_id), 0
        except _FINAL_ERRORS:
            raise
        except Exception as err:
            failures += 1
            if failures >= self.max_poll_failures:
                raise
            self.log.warning(
                "Reading Pardot export %s failed (%s); %d of %d failures allowed in a row",
                self.export_id,
                err,
                failures,
                self.max_poll_failures,
            )
            return None, failures
