"""Operators that create and cancel Pardot exports (the Export API)."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, conf

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError, PardotValidationError
from airflow_provider_pardot.links.pardot import PardotExportLink
from airflow_provider_pardot.utils.exports import COMPLETE, FINISHED_STATES, failure_reason, validate_export
from airflow_provider_pardot.utils.usage import usage_line

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pardot.hooks.pardot import PardotHook

#: Pardot cancels exports that have not finished within 7 days.
DEFAULT_EXPORT_TIMEOUT = 7 * 24 * 3600


def _cancel_quietly(hook: PardotHook, export_id: Any, log: Any, why: str) -> None:
    """Cancel an export, best effort: a refused cancel is logged, never raised."""
    try:
        hook.cancel_export(export_id)
    except Exception as err:
        log.warning("Could not cancel Pardot export %s (%s): %s", export_id, why, err)
    else:
        log.info("Canceled Pardot export %s (%s)", export_id, why)


class PardotCreateExportOperator(BaseOperator):
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
        pardot_conn_id: str = "pardot_default",
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
        self.pardot_conn_id = pardot_conn_id
        self.export_id: int | str | None = None
        self._finished = False

    @cached_property
    def hook(self) -> PardotHook:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def execute(self, context: Context) -> Any:
        # Cheap checks first (no connection needed); the hook validates again with the
        # connection's Export API version before it sends anything.
        validate_export(self.object_name, self.procedure, self.arguments, self.fields)
        if self.export_options is not None and not isinstance(self.export_options, dict):
            raise PardotValidationError(f"export_options must be a dict, not {self.export_options!r}.")
        hook = self.hook
        try:
            export = hook.create_export(
                self.object_name, self.procedure, self.arguments, self.fields, **(self.export_options or {})
            )
            self.export_id = export["id"]
            self._finished = export.get("state") in FINISHED_STATES
            self.log.info(
                "Created Pardot export %s (%s.%s), state %s",
                self.export_id,
                self.object_name,
                self.procedure,
                export.get("state"),
            )
            PardotExportLink.persist(
                context=context, operator=self, host=hook.config.host, export_id=self.export_id
            )
            if not self.wait_for_completion:
                return self.export_id
            if self.deferrable:
                self._defer()
            self._wait(export)
            return self.export_id
        finally:
            hook.log_usage()

    def _defer(self) -> None:
        from airflow_provider_pardot.triggers.export import PardotExportTrigger

        assert self.export_id is not None  # set by execute before waiting
        self.log.info("Waiting for Pardot export %s in the triggerer", self.export_id)
        self._finished = True  # the task leaves the worker; on_kill must not cancel now
        self.defer(
            trigger=PardotExportTrigger(
                export_id=self.export_id,
                pardot_conn_id=self.pardot_conn_id,
                poll_interval=self.poll_interval,
                end_time=time.time() + self.timeout,
                cancel_on_kill=True,
            ),
            method_name="execute_complete",
            # a little slack: the trigger reports its own timeout first (and cancels)
            timeout=timedelta(seconds=self.timeout + max(self.poll_interval, 60)),
        )

    def _wait(self, export: dict[str, Any]) -> None:
        assert self.export_id is not None  # set by execute before waiting
        deadline = time.monotonic() + self.timeout
        while True:
            reason = failure_reason(export)
            if reason:
                self._finished = True
                raise PardotExportError(reason)
            if export.get("state") == COMPLETE:
                self._finished = True
                self.log.info(
                    "Pardot export %s is Complete: %d result file(s)",
                    self.export_id,
                    len(export.get("resultRefs") or []),
                )
                return
            if time.monotonic() >= deadline:
                _cancel_quietly(self.hook, self.export_id, self.log, "timed out")
                self._finished = True
                raise AirflowException(
                    f"Timed out after {self.timeout:.0f}s waiting for Pardot export {self.export_id} "
                    f"(last state {export.get('state')})."
                )
            self.log.info(
                "Pardot export %s is %s; next check in %.0fs",
                self.export_id,
                export.get("state"),
                self.poll_interval,
            )
            time.sleep(max(0.0, min(self.poll_interval, deadline - time.monotonic())))
            export = self.hook.get_export(self.export_id)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Finish after the trigger: return the export id, or fail with the reason."""
        export_id = event.get("export_id")
        status = event.get("status")
        message = event.get("message", "")
        self.log.info("%s", usage_line(event.get("requests", 0), event.get("usage"), "the trigger"))
        if status == "success":
            self.log.info("%s", message)
            return export_id
        if status == "failed":
            raise PardotExportError(message)
        if status == "timeout":
            try:
                _cancel_quietly(self.hook, export_id, self.log, "timed out")
            finally:
                if "hook" in self.__dict__:
                    self.hook.log_usage()
            raise AirflowException(message)
        raise AirflowException(message or f"Unexpected event from the trigger: {event!r}")

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        """OpenLineage: the export reads ``pardot://<business unit>/<object>`` (the fields asked)."""
        from airflow_provider_pardot.utils.openlineage import start_lineage

        return start_lineage(self.hook.config.business_unit_id, self.object_name, self.fields)

    def on_kill(self) -> None:
        """Cancel the export when the task is killed before it finished (best effort)."""
        if self.export_id is None or self._finished:
            return
        _cancel_quietly(self.hook, self.export_id, self.log, "the task was killed")


class PardotCancelExportOperator(BaseOperator):
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

    def __init__(
        self, *, export_id: int | str, pardot_conn_id: str = "pardot_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.export_id = export_id
        self.pardot_conn_id = pardot_conn_id

    @cached_property
    def hook(self) -> PardotHook:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def execute(self, context: Context) -> dict[str, Any] | None:
        hook = self.hook
        try:
            PardotExportLink.persist(
                context=context, operator=self, host=hook.config.host, export_id=self.export_id
            )
            try:
                export = hook.cancel_export(self.export_id)
            except PardotValidationError:
                raise  # a bad export id or connection: nothing was asked of Pardot
            except PardotApiError as err:
                self.log.warning(
                    "Pardot refused to cancel export %s; carrying on (a cancel is best effort): %s",
                    self.export_id,
                    err,
                )
                return None
            self.log.info("Canceled Pardot export %s; it is now %s", self.export_id, export.get("state"))
            return export
        finally:
            hook.log_usage()
