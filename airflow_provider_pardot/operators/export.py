"""Operators that create and cancel Pardot exports (the Export API)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowException, conf

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError, PardotValidationError
from airflow_provider_pardot.links.pardot import PardotExportLink
from airflow_provider_pardot.operators.base import (
    DEFAULT_EXPORT_TIMEOUT,
    PardotBaseOperator,
    PardotExportWaitMixin,
    reports_usage,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pardot.hooks.pardot import PardotHook


def _cancel_quietly(hook: PardotHook, export_id: Any, log: Any, why: str) -> None:
    """Cancel an export, best effort: a refused cancel is logged, never raised."""
    try:
        hook.cancel_export(export_id)
    except Exception as err:
        log.warning("Could not cancel Pardot export %s (%s): %s", export_id, why, err)
    else:
        log.info("Canceled Pardot export %s (%s)", export_id, why)


class PardotCreateExportOperator(PardotExportWaitMixin, PardotBaseOperator):
    """
    Create a Pardot export (Export API) and return its id; optionally wait for it to complete.

    The export is validated before any request is sent (object and procedure from the documented
    table, required and unknown arguments, ``*_before`` after ``*_after``, at most one year, at
    most 150 fields, ``deleted`` in true/false/all). The create request is never repeated after an
    ambiguous failure. The export id is the XCom value, and the task gets a "Pardot Export" link.

    With ``wait_for_completion=True`` the task waits for the export: by polling on the worker, or,
    with ``deferrable=True``, in the triggerer (:class:`~airflow_provider_pardot.triggers.export.PardotExportTrigger`;
    the create request itself always runs on the worker). It fails at once when the export
    ends Failed, Canceled or expired. Killing the task cancels an unfinished export (best effort),
    and so does a timeout.

    .. seealso::
        :class:`~airflow_provider_pardot.sensors.export.PardotExportSensor` to wait in a separate
        task, and :class:`~airflow_provider_pardot.transfers.pardot_to_object_storage.PardotExportToObjectStorageOperator`
        to move the result files.

    :param object_name: The object to export: ``visitorActivity``, ``listMembership``,
        ``prospect``, ``prospectAccount``, ``visitor``, ``externalActivity``. (templated)
    :param procedure: The export procedure, e.g. ``filter_by_created_at``. (templated)
    :param arguments: The procedure's arguments, e.g. ``{"created_after": "2024-01-01 00:00:00"}``;
        dates as strings, dates or datetimes. (templated)
    :param fields: The fields to export (at most 150); all of them when ``None``. (templated)
    :param export_options: v5 create options: ``includeByteOrderMark``, ``maxFileSizeBytes``,
        ``legacyDateFormat``. (templated)
    :param wait_for_completion: Wait until the export is Complete before finishing.
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: Seconds between two reads of the export while waiting.
    :param timeout: Seconds to wait for completion before failing (default 7 days, when Pardot
        cancels unfinished exports anyway).
    :param pardot_conn_id: The Pardot connection to use. (templated)
    """

    template_fields: Sequence[str] = (
        "object_name",
        "procedure",
        "arguments",
        "fields",
        "export_options",
        "pardot_conn_id",
    )
    template_fields_renderers = {"arguments": "json", "fields": "json", "export_options": "json"}
    operator_extra_links = (PardotExportLink(),)
    ui_color = "#c5e3f6"

    def __init__(
        self,
        *,
        object_name: str,
        procedure: str,
        arguments: dict[str, Any],
        fields: list[str] | None = None,
        export_options: dict[str, Any] | None = None,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60,
        timeout: float = DEFAULT_EXPORT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object_name = object_name
        self.procedure = procedure
        self.arguments = arguments
        self.fields = fields
        self.export_options = export_options
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or poll_interval < 0
        ):
            raise ValueError(f"poll_interval must be a number of seconds >= 0, not {poll_interval!r}")
        self.poll_interval = float(poll_interval)
        if isinstance(timeout, timedelta):
            timeout = timeout.total_seconds()
        self.timeout = float(timeout)
        self.export_id: int | str | None = None
        self._finished = False

    @reports_usage
    def execute(self, context: Context) -> Any:
        from airflow_provider_pardot.api.exports import ExportOutcome, export_status

        # The hook checks the export (with the connection's Export API version) before it sends anything.
        if self.export_options is not None and not isinstance(self.export_options, dict):
            raise PardotValidationError(f"export_options must be a dict, not {self.export_options!r}.")
        export = self.hook.create_export(
            self.object_name, self.procedure, self.arguments, self.fields, **(self.export_options or {})
        )
        self.export_id = export["id"]
        self._finished = export_status(export).outcome is not ExportOutcome.RUNNING
        self.log.info(
            "Created Pardot export %s (%s.%s), state %s",
            self.export_id,
            self.object_name,
            self.procedure,
            export.get("state"),
        )
        PardotExportLink.persist(
            context=context, operator=self, host=self.hook.config.host, export_id=self.export_id
        )
        if self.wait_for_completion:
            if self.deferrable:
                self._finished = True  # the task leaves the worker; on_kill must not cancel now
                # a little slack: the trigger reports its own timeout first (and cancels)
                self.defer_until_finished(
                    poll_interval=self.poll_interval,
                    timeout=self.timeout,
                    cancel_on_kill=True,
                    slack=max(self.poll_interval, 60),
                )
            self._wait(export)
        return self.export_id

    def _wait(self, export: dict[str, Any]) -> None:
        """Poll on the worker until the export is Complete; fail when it fails or time runs out."""
        from airflow_provider_pardot.api.exports import ExportOutcome, export_status

        assert self.export_id is not None  # set by execute before waiting
        deadline = time.monotonic() + self.timeout
        while True:
            status = export_status(export)
            self._finished = status.outcome is not ExportOutcome.RUNNING
            if status.failed:
                raise PardotExportError(status.message)
            if status.complete:
                self.log.info("%s", status.message)
                return
            if time.monotonic() >= deadline:
                self.export_timed_out(
                    f"Timed out after {self.timeout:.0f}s waiting for Pardot export {self.export_id} "
                    f"(last state {export.get('state')})."
                )
            self.log.info("%s Next check in %.0fs.", status.message, self.poll_interval)
            time.sleep(max(0.0, min(self.poll_interval, deadline - time.monotonic())))
            export = self.hook.get_export(self.export_id)

    def export_complete(self, event: dict[str, Any]) -> Any:
        """After the trigger: the export id, as when waiting on the worker."""
        return event.get("export_id", self.export_id)

    def export_timed_out(self, message: str) -> NoReturn:
        """Cancel the unfinished export (best effort) and fail."""
        _cancel_quietly(self.hook, self.export_id, self.log, "timed out")
        self._finished = True
        raise AirflowException(message)

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """OpenLineage: the export reads ``pardot://<business unit>/<object>`` (the fields asked)."""
        from airflow_provider_pardot.lineage.openlineage import start_lineage

        return start_lineage(self.hook.config.business_unit_id, self.object_name, self.fields)

    def on_kill(self) -> None:
        """Cancel the export when the task is killed before it finished (best effort)."""
        if self.export_id is None or self._finished:
            return
        _cancel_quietly(self.hook, self.export_id, self.log, "the task was killed")


class PardotCancelExportOperator(PardotBaseOperator):
    """
    Cancel a Pardot export that has not finished.

    A cancel is best effort: when Pardot refuses it (e.g. the export already finished, or the
    account's API does not offer a cancel), the refusal is logged and the task still succeeds.
    Returns the export as Pardot reports it after the cancel, or ``None`` when it was refused.

    :param export_id: The id of the export to cancel. (templated)
    :param pardot_conn_id: The Pardot connection to use. (templated)
    """

    template_fields: Sequence[str] = ("export_id", "pardot_conn_id")
    operator_extra_links = (PardotExportLink(),)
    ui_color = "#c5e3f6"

    def __init__(self, *, export_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.export_id = export_id

    @reports_usage
    def execute(self, context: Context) -> dict[str, Any] | None:
        export_id = self.export_id
        PardotExportLink.persist(
            context=context, operator=self, host=self.hook.config.host, export_id=export_id
        )
        try:
            export = self.hook.cancel_export(export_id)
        except PardotValidationError:
            raise  # a bad connection: nothing was asked of Pardot
        except PardotApiError as err:
            self.log.warning(
                "Pardot refused to cancel export %s; carrying on (a cancel is best effort): %s",
                export_id,
                err,
            )
            return None
        self.log.info("Canceled Pardot export %s; it is now %s", export_id, export.get("state"))
        return export
