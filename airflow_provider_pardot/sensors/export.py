"""Sensor that waits for a Pardot export to be ready for download."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, PokeReturnValue

from airflow_provider_pardot.exceptions import PardotExportError
from airflow_provider_pardot.operators.base import DEFAULT_EXPORT_TIMEOUT, PardotExportWaitMixin
from airflow_provider_pardot.sensors.base import PardotBaseSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context


class PardotExportSensor(PardotExportWaitMixin, PardotBaseSensor):
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
        self, *, export_id: int | str, timeout: float = DEFAULT_EXPORT_TIMEOUT, **kwargs: Any
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.export_id = export_id

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_pardot.api.exports import export_status

        export = self.hook.get_export(self.export_id)
        status = export_status(export)
        if status.failed:
            raise PardotExportError(status.message)
        self.log.info("%s", status.message)
        if status.complete:
            return PokeReturnValue(is_done=True, xcom_value=export)
        return False

    def defer_waiting(self) -> NoReturn:
        self.defer_until_finished(
            poll_interval=self.poke_interval, timeout=float(self.timeout), cancel_on_kill=False
        )

    def export_complete(self, event: dict[str, Any]) -> dict[str, Any]:
        """After the trigger: the normalised export, as when poking on the worker."""
        return event["export"]

    def export_timed_out(self, message: str) -> NoReturn:
        raise AirflowSensorTimeout(message)
