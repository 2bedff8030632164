"""Trigger that waits, in the triggerer, for Pardot imports to finish."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pardot.api.imports import import_status
from airflow_provider_pardot.exceptions import (
    PardotAuthError,
    PardotRateLimitError,
    PardotValidationError,
)
from airflow_provider_pardot.utils.exports import ExportOutcome
from airflow_provider_pardot.utils.ids import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

#: Errors that another poll cannot fix: reported at once.
_FINAL_ERRORS = (PardotAuthError, PardotRateLimitError, PardotValidationError)


class PardotImportTrigger(BaseTrigger):
    """
    Poll Pardot imports asynchronously until every one is Complete, one fails, or time runs out.

    Yields exactly one event, ``{"status", "import_ids", "imports", "message", "requests", "usage"}``
    where ``imports`` maps each import id (as text) to its last state and ``status`` is ``success``
    (all Complete), ``failed`` (one Failed, Cancelled or expired: waiting longer cannot help),
    ``timeout`` (``end_time`` passed) or ``error`` (Pardot could not be read). ``run()`` never raises.

    Polls share the connection's five requests in flight with every other Pardot trigger of the
    triggerer (see :class:`~airflow_provider_pardot.hooks.pardot.PardotAsyncHook`); the first
    poll waits a random part of ``poll_interval`` so triggers created together do not poll in
    lockstep; a finished import is not read again.

    :param import_ids: The Pardot imports to wait for (one id, or several).
    :param pardot_conn_id: The Pardot connection to use.
    :param poll_interval: Seconds between two rounds of reads.
    :param end_time: When to give up (a UNIX timestamp); ``None`` waits forever.
    :param timeout: Alternative to ``end_time``: seconds from now (converted to ``end_time``).
    :param jitter: Whether the first poll waits a random part of ``poll_interval`` (default).
    :param max_poll_failures: How many rounds in a row may fail (after the hook's own retries)
        before the trigger reports an error.
    """

    def __init__(
        self,
        import_ids: int | str | Sequence[int | str],
        pardot_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        *,
        timeout: float | None = None,
        jitter: bool = True,
        max_poll_failures: int = 3,
    ) -> None:
        super().__init__()
        ids = [import_ids] if isinstance(import_ids, (int, str)) else list(import_ids)
        self.import_ids = [int(i) for i in ids]
        self.pardot_conn_id = pardot_conn_id
        self.poll_interval = float(poll_interval)
        if end_time is None and timeout is not None:
            end_time = time.time() + float(timeout)
        self.end_time = end_time
        self.jitter = jitter
        self.max_poll_failures = max(int(max_poll_failures), 1)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialise the trigger's arguments and its full class path."""
        return (
            "airflow_provider_pardot.triggers.imports.PardotImportTrigger",
            {
                "import_ids": self.import_ids,
                "pardot_conn_id": self.pardot_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "jitter": self.jitter,
                "max_poll_failures": self.max_poll_failures,
            },
        )

    def _hook(self):
        from airflow_provider_pardot.hooks.pardot import PardotAsyncHook

        return PardotAsyncHook(pardot_conn_id=self.pardot_conn_id)

    def _event(self, status: str, message: str, imports: dict[str, Any], hook: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "import_ids": self.import_ids,
                "imports": imports,
                "message": message,
                "requests": getattr(hook, "request_count", 0),
                "usage": str(hook.last_usage) if hook is not None and hook.last_usage else None,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the imports; yield one event."""
        hook = None
        imports: dict[str, Any] = {}
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
                failures, outcome = await self._round(hook, imports, failures)
                if outcome is not None:
                    yield self._event(*outcome, imports, hook)
                    return
                delay = max(0.0, self.poll_interval - (time.monotonic() - polled_at))
                if self.end_time is not None and time.time() >= self.end_time:
                    states = ", ".join(f"{i}: {r.get('status')}" for i, r in imports.items()) or "unknown"
                    message = (
                        f"Timed out waiting for Pardot imports {self.import_ids} (last states: {states})."
                    )
                    yield self._event("timeout", message, imports, hook)
                    return
        except Exception as err:  # never crash the triggerer
            message = f"Could not follow Pardot imports {self.import_ids}: {type(err).__name__}: {err}"
            yield self._event("error", message, imports, hook)

    async def _round(
        self, hook: Any, imports: dict[str, Any], failures: int
    ) -> tuple[int, tuple[str, str] | None]:
        """
        Read every unfinished import once; return the failures in a row and, when the wait is over, its outcome.

        Raises when another round cannot help: a final error, or ``max_poll_failures`` failed rounds.
        """
        for import_id in self.import_ids:
            known = imports.get(str(import_id))
            if known is not None and import_status(known).complete:
                continue
            try:
                record = await hook.get_import(import_id)
            except _FINAL_ERRORS:
                raise
            except Exception as err:
                failures += 1
                if failures >= self.max_poll_failures:
                    raise
                self.log.warning(
                    "Reading Pardot import %s failed (%s); %d of %d failures allowed in a row",
                    import_id,
                    err,
                    failures,
                    self.max_poll_failures,
                )
                return failures, None
            imports[str(import_id)] = record
            status = import_status(record)
            if status.failed:
                return 0, ("failed", status.message)
            self.log.info("%s", status.message)
        if all(import_status(r).outcome is ExportOutcome.COMPLETE for r in imports.values()) and len(
            imports
        ) == len(self.import_ids):
            return 0, ("success", f"Pardot imports {self.import_ids} are Complete.")
        return 0, None
