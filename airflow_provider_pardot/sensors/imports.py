"""Sensor that waits for Pardot imports to complete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowSensorTimeout, PokeReturnValue

from airflow_provider_pardot.api.ids import require_id
from airflow_provider_pardot.operators.base import DEFAULT_IMPORT_TIMEOUT, PardotImportWaitMixin
from airflow_provider_pardot.sensors.base import PardotBaseSensor

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context


class PardotImportSensor(PardotImportWaitMixin, PardotBaseSensor):
    """
    Wait until Pardot imports are Complete; return (XCom) the import, or the list of imports.

    For imports submitted elsewhere (another task, another system), or to wait in ``reschedule``
    mode after an :class:`~airflow_provider_pardot.transfers.object_storage_to_pardot.ObjectStorageToPardotOperator`
    with ``wait_for_completion=False``. Each import is returned as
    ``{id, status, isExpired, createdCount, updatedCount, errorCount, errorsRef, ...}``. The sensor
    fails at once, without retries, when an import is Failed, Cancelled or expired. Works in
    ``poke`` and ``reschedule`` mode, and deferred (``deferrable=True``: one read on the worker,
    then :class:`~airflow_provider_pardot.triggers.imports.PardotImportTrigger`).

    :param import_id: The id of the import to wait for, or a list of ids (e.g. the ``import_ids``
        of the transfer's result). (templated)
    :param pardot_conn_id: The Pardot connection to use. (templated)
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poke_interval: Seconds between two reads (default 60; every read counts against the
        account's daily API allocation).
    :param timeout: Seconds before the sensor gives up (default 24 hours).
    """

    template_fields: Sequence[str] = ("import_id", "pardot_conn_id")
    ui_color = "#f6e3c5"

    def __init__(
        self,
        *,
        import_id: int | str | Sequence[int | str],
        timeout: float = DEFAULT_IMPORT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.import_id = import_id
        self._records: dict[str, dict[str, Any]] = {}

    def _ids(self) -> list[int]:
        ids = self.import_id
        if isinstance(ids, str) and ids.strip().startswith("["):
            ids = [part for part in ids.strip("[] ").split(",") if part.strip()]
        if isinstance(ids, (list, tuple)):
            return [require_id("import_id", i) for i in ids]
        return [require_id("import_id", ids)]

    def _result(self, records: list[dict[str, Any]]) -> Any:
        return records if isinstance(self.import_id, (list, tuple)) or len(records) != 1 else records[0]

    def poke(self, context: Context) -> PokeReturnValue | bool:
        ids = self._ids()
        if self.read_imports(ids, self._records):
            return PokeReturnValue(
                is_done=True, xcom_value=self._result([self._records[str(i)] for i in ids])
            )
        return False

    def defer_waiting(self) -> NoReturn:
        self.defer_for_imports(self._ids(), poll_interval=self.poke_interval, timeout=float(self.timeout))

    def imports_complete(
        self, context: Context, records: list[dict[str, Any]], state: dict[str, Any] | None = None
    ) -> Any:
        """After the trigger: the import(s), as when poking on the worker."""
        return self._result(records)

    def imports_timed_out(self, message: str) -> NoReturn:
        raise AirflowSensorTimeout(message)
