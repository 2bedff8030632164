"""Trigger that waits, in the triggerer, for Pardot imports to finish."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.triggers.polling import PardotPollingTrigger

if TYPE_CHECKING:
    from collections.abc import Sequence


class PardotImportTrigger(PardotPollingTrigger):
    """
    Poll Pardot imports asynchronously until every one is Complete, one fails, or time runs out.

    Yields exactly one event, ``{"status", "import_ids", "imports", "state", "message", "requests", "usage"}``
    where ``imports`` maps each import id (as text) to its last state and ``status`` is ``success``
    (all Complete), ``failed`` (one Failed, Cancelled or expired: waiting longer cannot help),
    ``timeout`` (``end_time`` passed) or ``error`` (Pardot could not be read). ``run()`` never raises.

    Polls share the connection's five requests in flight with every other Pardot trigger of the
    triggerer (see :class:`~airflow_provider_pardot.hooks.pardot.PardotAsyncHook`); the first
    poll waits a random part of ``poll_interval`` so triggers created together do not poll in
    lockstep; a Complete import is not read again.

    :param import_ids: The Pardot imports to wait for (one id, or several).
    :param pardot_conn_id: The Pardot connection to use.
    :param poll_interval: Seconds between two rounds of reads.
    :param end_time: When to give up (a UNIX timestamp); ``None`` waits forever.
    :param timeout: Alternative to ``end_time``: seconds from now (converted to ``end_time``).
    :param jitter: Whether the first poll waits a random part of ``poll_interval`` (default).
    :param max_poll_failures: How many rounds in a row may fail (after the hook's own retries)
        before the trigger reports an error.
    :param state: What the deferring task needs when it resumes (JSON), returned as is in the
        event's ``state`` (it travels with the trigger, so it reaches the task however Airflow runs it).
    """

    def __init__(
        self,
        import_ids: int | str | Sequence[int | str],
        *args: Any,
        state: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)  # the polling arguments, as PardotPollingTrigger takes them
        ids = [import_ids] if isinstance(import_ids, (int, str)) else list(import_ids)
        self.import_ids = [int(i) for i in ids]
        self.state = state
        self._imports: dict[str, dict[str, Any]] = {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialise the trigger's arguments and its full class path."""
        return (
            "airflow_provider_pardot.triggers.imports.PardotImportTrigger",
            {"import_ids": self.import_ids, **self.polling_arguments(), "state": self.state},
        )

    async def check(self, hook: Any) -> tuple[str, str] | None:
        """Read every import not yet Complete; ``failed`` at the first that failed, ``success`` when all are Complete."""
        from airflow_provider_pardot.api.imports import import_status, imports_complete, imports_to_read

        for import_id in imports_to_read(self._imports, self.import_ids):
            record = self._imports[str(import_id)] = await hook.get_import(import_id)
            status = import_status(record)
            if status.failed:
                return "failed", status.message
            self.log.info("%s", status.message)
        if imports_complete(self._imports, self.import_ids):
            return "success", f"Pardot imports {self.import_ids} are Complete."
        return None

    def payload(self) -> dict[str, Any]:
        return {"import_ids": self.import_ids, "imports": self._imports, "state": self.state}

    def subject(self) -> str:
        return f"Pardot imports {self.import_ids}"

    def timeout_message(self) -> str:
        states = ", ".join(f"{i}: {r.get('status')}" for i, r in self._imports.items()) or "unknown"
        return f"Timed out waiting for Pardot imports {self.import_ids} (last states: {states})."
