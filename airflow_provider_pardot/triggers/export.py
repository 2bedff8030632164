"""Trigger that waits, in the triggerer, for a Pardot export to finish."""

from __future__ import annotations

from typing import Any

from airflow_provider_pardot.triggers.polling import PardotPollingTrigger


class PardotExportTrigger(PardotPollingTrigger):
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

    def __init__(self, export_id: int | str, *args: Any, cancel_on_kill: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # the polling arguments, as PardotPollingTrigger takes them
        self.export_id = export_id
        self.cancel_on_kill = cancel_on_kill
        self._export: dict[str, Any] | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Serialise the trigger's arguments and its full class path."""
        return (
            "airflow_provider_pardot.triggers.export.PardotExportTrigger",
            {"export_id": self.export_id, **self.polling_arguments(), "cancel_on_kill": self.cancel_on_kill},
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

    async def check(self, hook: Any) -> tuple[str, str] | None:
        """Read the export once; ``success`` or ``failed`` once it finished."""
        from airflow_provider_pardot.api.exports import ExportOutcome, export_status

        self._export = await hook.get_export(self.export_id)
        status = export_status(self._export)
        if status.outcome is not ExportOutcome.RUNNING:
            return ("success" if status.complete else "failed"), status.message
        self.log.info("%s", status.message)
        return None

    def payload(self) -> dict[str, Any]:
        return {"export_id": self.export_id, "export": self._export}

    def subject(self) -> str:
        return f"Pardot export {self.export_id}"

    def timeout_message(self) -> str:
        state = self._export.get("state") if self._export else "unknown"
        return f"Timed out waiting for Pardot export {self.export_id} (last state: {state})."
