"""Sensor that waits for a Pardot export to be ready for download."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_pardot.exceptions import PardotExportError
from airflow_provider_pardot.utils.exports import COMPLETE, failure_reason
from airflow_provider_pardot.utils.usage import usage_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pardot.hooks.pardot import PardotHook


class PardotExportSensor(BaseSensorOperator):
    """
    Wait until a Pardot export is Complete and not expired; return (XCom) the normalised export.

    The export is ``{id, state, isExpired, resultRefs: list[str], createdAt, updatedAt}``. The
    sensor fails at once, without retries, when the export is Failed, Canceled or expired: waiting
    longer cannot help. Works in ``poke`` and ``reschedule`` mode, and deferred: with
    ``deferrable=True`` it reads the export once on the worker and, unless it is already
    finished, hands the waiting to :class:`~airflow_provider_pardot.triggers.export.PardotExportTrigger`.

    .. seealso::
        :class:`~airflow_provider_pardot.operators.export.PardotCreateExportOperator` and
        :class:`~airflow_provider_pardot.transfers.pardot_to_object_storage.PardotExportToObjectStorageOperator`.

    :param export_id: The id of the Pardot export to wait for. (templated)
    :param pardot_conn_id: The Pardot connection to use. (templated)
    :param deferrable: Wait in the triggerer instead of on a worker (default: ``[operators]
        default_deferrable``).
    :param poke_interval: Seconds between two reads of the export (default 60; Pardot counts every
        read against the account's daily allocation).
    :param timeout: Seconds before the sensor gives up (default 7 days: Pardot cancels exports
        that have not finished in 7 days).
    """

    template_fields: Sequence[str] = ("export_id", "pardot_conn_id")
    ui_color = "#c5e3f6"

    def __init__(
        self,
        *,
        export_id: int | str,
        pardot_conn_id: str = "pardot_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = 60,
        timeout: float = 7 * 24 * 3600,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.export_id = export_id
        self.pardot_conn_id = pardot_conn_id
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> PardotHook:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        export = self.hook.get_export(self.export_id)
        reason = failure_reason(export)
        if reason:
            raise PardotExportError(reason)
        if export.get("state") == COMPLETE:
            self.log.info(
                "Pardot export %s is Complete: %d result file(s)",
                self.export_id,
                len(export.get("resultRefs") or []),
            )
            return PokeReturnValue(is_done=True, xcom_value=export)
        self.log.info("Pardot export %s is %s", self.export_id, export.get("state"))
        return False

    def execute(self, context: Context) -> Any:
        try:
            if not self.deferrable:
                return super().execute(context=context)
            done = self.poke(context)
            if done:
                return done.xcom_value if isinstance(done, PokeReturnValue) else None
        finally:
            if "hook" in self.__dict__:
                self.hook.log_usage()
        from airflow_provider_pardot.triggers.export import PardotExportTrigger

        self.defer(
            trigger=PardotExportTrigger(
                export_id=self.export_id,
                pardot_conn_id=self.pardot_conn_id,
                poll_interval=self.poke_interval,
                end_time=time.time() + float(self.timeout),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Finish after the trigger: return the export, or fail with the reason."""
        status = event.get("status")
        message = event.get("message", "")
        self.log.info("%s", usage_line(event.get("requests", 0), event.get("usage"), "the trigger"))
        if status == "success":
            self.log.info("%s", message)
            return event["export"]
        if status == "failed":
            raise PardotExportError(message)
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        raise AirflowException(message or f"Unexpected event from the trigger: {event!r}")
