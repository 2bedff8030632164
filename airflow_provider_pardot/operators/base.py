"""
What every Pardot operator, sensor and transfer shares.

- :class:`PardotHookMixin`: the ``pardot_conn_id``, the :class:`~airflow_provider_pardot.hooks.pardot.PardotHook`
  built from it on first use (never while a DAG file is parsed), and the end-of-task usage line;
- :func:`reports_usage`: the decorator that logs that line whenever an ``execute`` ends, also when
  it fails or defers;
- :class:`PardotBaseOperator`: the base of the Pardot operators;
- :class:`PardotExportWaitMixin`: waiting for an export in the triggerer, and the one
  ``execute_complete`` of the create-export operator and the export sensor;
- :class:`PardotImportWaitMixin`: the same for imports (the import transfer and the import sensor).

A DAG file that imports an operator loads the public modules and the few small tables their
classes are built from (template fields, default connection id), nothing else: every other internal
module (the HTTP client, the API's rules, file formats, lineage) is imported inside the method that
needs it, when the task runs. ``tests/test_parse_cost.py`` holds that line.
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID
from airflow_provider_pardot.exceptions import PardotExportError, PardotImportError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pardot.hooks.pardot import PardotHook

_Method = TypeVar("_Method", bound="Callable[..., Any]")

#: Seconds a task waits for an export by default: Pardot cancels exports not finished within 7 days.
DEFAULT_EXPORT_TIMEOUT = 7 * 24 * 3600
#: Seconds a task waits for imports by default: Pardot expires an import not submitted in 24 hours.
DEFAULT_IMPORT_TIMEOUT = 24 * 3600


def reports_usage(method: _Method) -> _Method:
    """
    Log the task's Pardot requests and the account's usage when ``method`` ends, however it ends.

    For an operator's ``execute`` (and ``execute_complete``): the line is logged on success, on
    failure and when the task defers, once the task has used its hook.
    """

    @functools.wraps(method)
    def wrapper(self: PardotHookMixin, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.log_usage()

    return cast("_Method", wrapper)


class PardotHookMixin:
    """
    The Pardot connection of a task, its hook, and the end-of-task usage line.

    For classes that also derive from :class:`~airflow.models.baseoperator.BaseOperator` (or a
    sensor) and set ``pardot_conn_id`` in their constructor.
    """

    pardot_conn_id: str
    if TYPE_CHECKING:
        log: Any  # BaseOperator's logger

    @cached_property
    def hook(self) -> PardotHook:
        """The Pardot hook (built on first use, never at DAG parse time)."""
        from airflow_provider_pardot.hooks.pardot import PardotHook  # requests: not at DAG parse time

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def log_usage(self) -> None:
        """Log ``"Pardot API: N requests by this task; account usage U/M today"`` once the hook was used."""
        if "hook" in self.__dict__:
            self.hook.log_usage()


class PardotBaseOperator(PardotHookMixin, BaseOperator):
    """
    Base of the Pardot operators: a ``pardot_conn_id`` and a hook built from it on first use.

    Subclasses decorate their ``execute`` with :func:`reports_usage` and list ``pardot_conn_id``
    in their ``template_fields``.

    :param pardot_conn_id: The Pardot connection to use.
    """

    def __init__(self, *, pardot_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pardot_conn_id = pardot_conn_id


def finish_waiting(
    task: Any,
    event: dict[str, Any],
    complete: Callable[[], Any],
    failure: type[Exception],
    timed_out: Callable[[str], NoReturn],
) -> Any:
    """
    The one reading of a Pardot trigger's event, for every task that deferred to one.

    ``success`` returns ``complete()``; ``failed`` raises ``failure`` with Pardot's words;
    ``timeout`` calls ``timed_out``; anything else (``error``) fails the task with the message.
    """
    from airflow_provider_pardot.client.usage import usage_line

    task.log.info("%s", usage_line(event.get("requests", 0), event.get("usage"), "the trigger"))
    status, message = event.get("status"), event.get("message", "")
    if status == "success":
        task.log.info("%s", message)
        return complete()
    if status == "failed":
        raise failure(message)
    if status == "timeout":
        timed_out(message)
    raise AirflowException(message or f"Unexpected event from the trigger: {event!r}")


class PardotExportWaitMixin(PardotHookMixin):
    """
    Wait for a Pardot export in the triggerer and finish the task when it reports.

    Shared by :class:`~airflow_provider_pardot.operators.export.PardotCreateExportOperator` and
    :class:`~airflow_provider_pardot.sensors.export.PardotExportSensor`; they say what a complete
    export returns (:meth:`export_complete`) and what a timeout does (:meth:`export_timed_out`).
    """

    export_id: Any
    if TYPE_CHECKING:
        defer: Callable[..., NoReturn]

    def defer_until_finished(
        self, *, poll_interval: float, timeout: float, cancel_on_kill: bool, slack: float = 0.0
    ) -> NoReturn:
        """Hand the waiting to :class:`~airflow_provider_pardot.triggers.export.PardotExportTrigger`."""
        from airflow_provider_pardot.triggers.export import PardotExportTrigger

        self.log.info("Waiting for Pardot export %s in the triggerer", self.export_id)
        self.defer(
            trigger=PardotExportTrigger(
                export_id=self.export_id,
                pardot_conn_id=self.pardot_conn_id,
                poll_interval=poll_interval,
                end_time=time.time() + timeout,
                cancel_on_kill=cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + slack),
        )

    @reports_usage
    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Finish after the trigger: the task's result, or the export's failure with its reason."""
        return finish_waiting(self, event, lambda: self.export_complete(event), PardotExportError, self.export_timed_out)

    if TYPE_CHECKING:  # each waiting task says these two (the operator and the sensor)

        def export_complete(self, event: dict[str, Any]) -> Any:
            """The task's return value once the trigger reported the export Complete."""

        def export_timed_out(self, message: str) -> NoReturn:
            """Fail the task when the trigger gave up waiting."""


class PardotImportWaitMixin(PardotHookMixin):
    """
    Wait for Pardot imports, on the worker or in the triggerer, and finish the task when they end.

    Shared by :class:`~airflow_provider_pardot.transfers.object_storage_to_pardot.ObjectStorageToPardotOperator`
    and :class:`~airflow_provider_pardot.sensors.imports.PardotImportSensor`; they say what complete
    imports return (:meth:`imports_complete`) and what a timeout does (:meth:`imports_timed_out`).
    """

    if TYPE_CHECKING:
        defer: Callable[..., NoReturn]

    def read_imports(self, import_ids: list[int], records: dict[str, dict[str, Any]]) -> bool:
        """
        Read each unfinished import once into ``records``; return whether all are Complete.

        Raises :class:`~airflow_provider_pardot.exceptions.PardotImportError` when one failed, was
        cancelled or expired.
        """
        from airflow_provider_pardot.api.imports import import_status, imports_complete, imports_to_read

        for import_id in imports_to_read(records, import_ids):
            record = records[str(import_id)] = self.hook.get_import(import_id)
            status = import_status(record)
            if status.failed:
                raise PardotImportError(status.message)
            self.log.info("%s", status.message)
        return imports_complete(records, import_ids)

    def defer_for_imports(
        self,
        import_ids: list[int],
        *,
        poll_interval: float,
        timeout: float,
        state: dict[str, Any] | None = None,
    ) -> NoReturn:
        """
        Hand the waiting to :class:`~airflow_provider_pardot.triggers.imports.PardotImportTrigger`.

        :param state: what :meth:`imports_complete` needs when the task resumes (the trigger carries it)
        """
        from airflow_provider_pardot.triggers.imports import PardotImportTrigger

        self.log.info("Waiting for Pardot imports %s in the triggerer", import_ids)
        self.defer(
            trigger=PardotImportTrigger(
                import_ids=import_ids,
                pardot_conn_id=self.pardot_conn_id,
                poll_interval=poll_interval,
                end_time=time.time() + timeout,
                state=state,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + max(poll_interval, 60)),
        )

    @reports_usage
    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Finish after the trigger: the task's result, or the import's failure with Pardot's words."""

        def complete() -> Any:
            records = event.get("imports") or {}
            return self.imports_complete(context, [records[str(i)] for i in event["import_ids"]], event.get("state"))

        return finish_waiting(self, event, complete, PardotImportError, self.imports_timed_out)

    if TYPE_CHECKING:  # each waiting task says these two (the transfer and the sensor)

        def imports_complete(
            self, context: Context, records: list[dict[str, Any]], state: dict[str, Any] | None
        ) -> Any:
            """The task's return value once every import is Complete (``state``: as given when deferring)."""

        def imports_timed_out(self, message: str) -> NoReturn:
            """Fail the task when waiting gave up."""
