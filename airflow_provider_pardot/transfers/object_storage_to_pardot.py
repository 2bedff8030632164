"""
Move an audience from object storage into Pardot: prospects upserted and list memberships changed
with the Import API (v5), a handful of API calls for any number of rows.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowException, ObjectStoragePath, conf

from airflow_provider_pardot.exceptions import (
    PardotAmbiguousSendError,
    PardotApiError,
    PardotImportError,
    PardotValidationError,
)
from airflow_provider_pardot.operators.base import (
    DEFAULT_IMPORT_TIMEOUT,
    PardotBaseOperator,
    PardotImportWaitMixin,
    reports_usage,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pardot.api.imports import ImportRows
    from airflow_provider_pardot.files.import_batches import Batch, SourceFile
    from airflow_provider_pardot.hooks.pardot import PardotHook
    from airflow_provider_pardot.lineage.openlineage import ImportDelivery

#: Rejected rows shown in the task log when they cannot be written beside a read-only source.
LOGGED_REJECTS = 20
#: The columns the errors file adds to the import's own: Pardot's reason, and the import.
ERROR_COLUMN = "error"
IMPORT_ID_COLUMN = "importId"


@dataclass
class _Plan:
    """What an import run sends: validated before any request."""

    files: list[SourceFile]
    source_columns: list[str]
    rows: ImportRows
    options: dict[str, Any]

    @property
    def header(self) -> tuple[str, ...]:
        return self.rows.header.columns


@dataclass
class _Rejects:
    """Rows refused before sending (no match value, bad list ids), spooled to a local file."""

    columns: tuple[str, ...]
    count: int = 0
    shown: list[str] = field(default_factory=list)
    _file: Any = None

    def add(self, values: list[str], reason: str) -> None:
        # The import rules and file helpers load when a task runs, not when a DAG file is parsed.
        from airflow_provider_pardot.files.import_batches import CsvLines

        if self._file is None:
            self._file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 (closed by close())
        self._file.write(CsvLines().encode([*values, reason, ""]))
        self.count += 1
        if len(self.shown) < LOGGED_REJECTS:  # the reason, not the values (they are personal data)
            self.shown.append(f"rejected row {self.count}: {reason}")

    def lines(self) -> Iterator[bytes]:
        if self._file is not None:
            self._file.seek(0)
            yield from self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _Imports:
    """
    Creates imports, uploads their batches and submits each once, with every row in exactly one submitted import.

    - An import that is never submitted imports nothing. A create that may or may not have
      reached Pardot is therefore simply made again (the stray import expires unused), and a
      batch upload that may or may not have landed abandons that import, unsubmitted, and sends
      the same batches to a fresh one.
    - A submit that may or may not have landed is settled by reading the import: still Open, it
      is submitted again (Pardot refuses a second submit with error 155, which settles it too).
    """

    def __init__(self, hook: PardotHook, options: dict[str, Any], log: Any, attempts: int) -> None:
        self.hook = hook
        self.options = options
        self.log = log
        self.attempts = max(attempts, 1)
        self.current: int | None = None
        self.batches: list[Batch] = []
        self.submitted: list[int] = []
        self.abandoned: list[int] = []
        self.rows = 0

    def add(self, batch: Batch) -> None:
        """Upload one batch; submit the import once it holds the most batches Pardot allows."""
        from airflow_provider_pardot.api.imports import MAX_BATCHES_PER_IMPORT

        self.batches.append(batch)
        if self.current is None:
            self.current = self._create()
        try:
            self._send(batch)
        except PardotAmbiguousSendError as err:
            self._start_again(err)
        if len(self.batches) >= MAX_BATCHES_PER_IMPORT:
            self.submit()

    def _send(self, batch: Batch) -> None:
        assert self.current is not None
        with batch.open() as handle:  # streamed from the spool file as it is sent
            self.hook.add_import_batch(self.current, handle)

    def _create(self) -> int:
        for attempt in range(1, self.attempts + 1):
            try:
                return int(self.hook.create_import(**self.options)["id"])
            except PardotAmbiguousSendError as err:
                if attempt == self.attempts:
                    raise
                self.log.warning("%s Creating another (an import never submitted imports nothing).", err)
        raise AssertionError("unreachable")

    def _start_again(self, error: PardotAmbiguousSendError) -> None:
        """Abandon the current import (never submitted) and send this import's batches to a fresh one."""
        for attempt in range(1, self.attempts + 1):
            self.log.warning(
                "%s Abandoning Pardot import %s unsubmitted (it imports nothing) and sending its %d batch(es) "
                "to a new import (attempt %d of %d).",
                error,
                self.current,
                len(self.batches),
                attempt,
                self.attempts,
            )
            assert self.current is not None
            self.abandoned.append(self.current)
            self.current = self._create()
            try:
                for batch in self.batches:
                    self._send(batch)
                return
            except PardotAmbiguousSendError as err:
                error = err
        raise error

    def submit(self) -> None:
        """Submit the current import (when it has batches), exactly once."""
        if self.current is None:
            return
        import_id = self.current
        try:
            self.hook.submit_import(import_id)
        except PardotAmbiguousSendError as err:
            self.log.warning("%s Reading the import to settle it.", err)
            self._settle(import_id)
        self.log.info(
            "Submitted Pardot import %s: %d batch(es), %s rows",
            import_id,
            len(self.batches),
            f"{sum(b.rows for b in self.batches):,}",
        )
        self.rows += sum(b.rows for b in self.batches)
        self.submitted.append(import_id)
        self.current = None
        self.batches = []

    def _settle(self, import_id: int) -> None:
        from airflow_provider_pardot.api.imports import NOT_OPEN_CODE, OPEN

        for _attempt in range(self.attempts):
            if self.hook.get_import(import_id)["status"] != OPEN:
                return  # the submit landed
            try:
                self.hook.submit_import(import_id)
                return
            except PardotApiError as err:
                if err.code == NOT_OPEN_CODE:
                    return  # submitted after all (the read lagged behind it)
                if not isinstance(err, PardotAmbiguousSendError):
                    raise
                self.log.warning("%s Reading the import again.", err)
        raise PardotImportError(
            f"Could not tell whether Pardot import {import_id} was submitted after {self.attempts} attempts; "
            "check its status in Pardot before running the task again."
        )


class ObjectStorageToPardotOperator(PardotImportWaitMixin, PardotBaseOperator):
    """
    Import prospects and list memberships into Pardot from CSV or Parquet files on object storage.

    Reads ``source`` (one file, or a folder's ``*.csv`` / ``*.parquet`` files in name order) from
    any storage Airflow knows (``file://``, ``s3://``, ``gs://``, ...), renames its columns with
    ``columns``, adds the list ids of ``add_to_lists`` / ``remove_from_lists`` to every row, and
    imports it with Pardot's Import API (v5): CSV batches of at most 10 MB, at most 10 an import,
    streamed with flat memory. 100,000 prospects cost a few calls instead of 100,000.

    Everything is checked before the first request, with a message that says what to change: the
    source is not empty, every column is one Pardot imports (``first_name`` is refused with its
    v5 spelling ``firstName`` suggested), exactly one match column (``matchEmail``, ``matchId``
    or ``matchSalesforceId``: every row is matched, so a retried task updates what an earlier
    try created), ``email`` and ``campaignId`` when creating, list ids, and every file has the
    first file's columns.

    Rows are imported exactly once: an ambiguous batch upload abandons that import unsubmitted (an
    unsubmitted import imports nothing) and sends the same rows to a fresh one; an ambiguous
    submit is settled by reading the import. Rows with a blank match value, or list cells that
    are not list ids, are not sent and count as rejected.

    The task then waits for the imports, on the worker or (``deferrable=True``) in the
    triggerer, writes the rows Pardot rejected (and those refused before sending), each with its
    reason, to ``errors_destination``, and fails when ``errors / rows`` exceeds
    ``max_error_rate``. Returns ``{"import_ids", "rows", "created", "updated", "errors",
    "errors_uri"}``; ``rows`` counts the rows of the imports (a record bound for several lists
    is several rows, the later ones carrying only the match column and a list) plus those refused.

    :param source: A file or folder: an ``ObjectStoragePath`` or a URI such as
        ``s3://bucket/audiences/{{ ds }}/``. (templated)
    :param source_conn_id: The connection of the source's store; ``None`` for its defaults. (templated)
    :param file_format: ``csv`` or ``parquet``; by default each file's extension says.
    :param columns: Source column -> Pardot column; ``None`` drops a column, a list copies it into
        several (``{"email": ["email", "matchEmail"]}``); unmapped columns keep their name. (templated)
    :param add_to_lists: List ids every row is added to (at most 20). (templated)
    :param remove_from_lists: List ids every row is removed from (at most 20). (templated)
    :param create_on_no_match: Create the prospects that no row's match value finds (needs
        ``email`` and ``campaignId`` columns); by default unmatched rows are rejected.
    :param restore_deleted: Restore and update prospects found in the recycle bin; by default
        such rows are rejected.
    :param errors_destination: Where the rejected rows go, as CSV with Pardot's reason in an
        ``error`` column; default beside the source, ``<source name>.pardot-errors.csv`` (the
        task log's first 20 when that store is read-only). (templated)
    :param errors_conn_id: The connection of the errors destination's store; default
        ``source_conn_id``. (templated)
    :param max_error_rate: The share of rejected rows (0 to 1) above which the task fails (no
        retry: a data problem), after writing them; below it the task warns.
    :param wait_for_completion: Wait for the imports (default). With ``False`` the task returns
        once they are submitted (``created``, ``updated`` and ``errors`` are then ``None``); a
        :class:`~airflow_provider_pardot.sensors.imports.PardotImportSensor`, e.g. in
        ``reschedule`` mode, can wait for the ``import_ids``.
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    :param poll_interval: Seconds between two reads of the imports while waiting.
    :param timeout: Seconds to wait for the imports before failing (default 24 hours).
    :param pardot_conn_id: The Pardot connection to use. (templated)

    With an ``Asset`` (``Dataset``) in ``outlets`` the task's asset event carries
    ``extra={"import_ids", "rows", "created", "updated", "errors"}``; with an ``AssetAlias``
    (``DatasetAlias``) it adds an event, with that extra, for ``pardot://<business unit>/prospects``.
    """

    template_fields: Sequence[str] = (
        "source",
        "source_conn_id",
        "columns",
        "add_to_lists",
        "remove_from_lists",
        "errors_destination",
        "errors_conn_id",
        "pardot_conn_id",
    )
    template_fields_renderers = {"columns": "json"}
    ui_color = "#f6e3c5"

    def __init__(
        self,
        *,
        source: str | ObjectStoragePath,
        source_conn_id: str | None = None,
        file_format: str | None = None,
        columns: dict[str, Any] | None = None,
        add_to_lists: Sequence[int | str] | None = None,
        remove_from_lists: Sequence[int | str] | None = None,
        create_on_no_match: bool = False,
        restore_deleted: bool = False,
        errors_destination: str | ObjectStoragePath | None = None,
        errors_conn_id: str | None = None,
        max_error_rate: float = 0.0,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 60,
        timeout: float = DEFAULT_IMPORT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if file_format is not None and file_format not in ("csv", "parquet"):
            raise ValueError(f"file_format must be 'csv', 'parquet' or None, not {file_format!r}")
        if isinstance(max_error_rate, bool) or not isinstance(max_error_rate, (int, float)):
            raise ValueError(f"max_error_rate must be a number from 0 to 1, not {max_error_rate!r}")
        if not 0 <= max_error_rate <= 1:
            raise ValueError(f"max_error_rate must be from 0 to 1, not {max_error_rate!r}")
        self.source = source
        self.source_conn_id = source_conn_id
        self.file_format = file_format
        self.columns = columns
        self.add_to_lists = add_to_lists
        self.remove_from_lists = remove_from_lists
        self.create_on_no_match = create_on_no_match
        self.restore_deleted = restore_deleted
        self.errors_destination = errors_destination
        self.errors_conn_id = errors_conn_id
        self.max_error_rate = float(max_error_rate)
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout)
        self.delivery: ImportDelivery | None = None

    # -- validation (no request) --------------------------------------------------------------
    def _plan(self) -> _Plan:
        from airflow_provider_pardot.api.imports import (
            ADD_TO_LIST,
            REMOVE_FROM_LIST,
            ImportRows,
            rename,
            validate_header,
            validate_lists,
        )
        from airflow_provider_pardot.client.form import parse_bool
        from airflow_provider_pardot.files.import_batches import list_sources, read_header

        adds, removes = validate_lists(self.add_to_lists, self.remove_from_lists)
        create = parse_bool("create_on_no_match", self.create_on_no_match)
        restore = parse_bool("restore_deleted", self.restore_deleted)
        if self.columns is not None and not isinstance(self.columns, dict):
            raise PardotValidationError(
                f"columns must map source columns to Pardot columns, not {self.columns!r}."
            )
        files = list_sources(self.source, self.source_conn_id, self.file_format)
        if not files:
            raise PardotValidationError(
                f"Nothing to import: {self.source} is neither a file nor a folder holding .csv or .parquet files."
            )
        first, has_rows = read_header(files[0])
        for other in files[1:]:
            header, more = read_header(other)
            if header != first:
                raise PardotValidationError(
                    f"{other.uri} has the columns {header}, not those of {files[0].uri} ({first}): every "
                    "file of a source must have the same columns, in the same order."
                )
            has_rows = has_rows or more
        if not has_rows:
            raise PardotValidationError(f"Nothing to import: {self.source} holds no rows.")
        picks = rename(first, self.columns)
        extra = [c for c, ids in ((ADD_TO_LIST, adds), (REMOVE_FROM_LIST, removes)) if ids]
        checked = validate_header([c for _, c in picks], create_on_no_match=create, extra_lists=extra)
        canonical = [(i, c) for (i, _), c in zip(picks, checked.columns, strict=False)]
        options = {"createOnNoMatch": create, "restoreDeleted": restore}
        return _Plan(files, first, ImportRows(checked, canonical, adds, removes), options)

    # -- the run ------------------------------------------------------------------------------
    @reports_usage
    def execute(self, context: Context) -> dict[str, Any]:
        plan = self._plan()
        self.log.info(
            "Importing %d file(s) from %s into Pardot with the columns %s",
            len(plan.files),
            self.source,
            ", ".join(plan.header),
        )
        rejects = _Rejects(plan.header)
        try:
            imports = self._upload(plan, rejects)
            summary: dict[str, Any] = {
                "rows": imports.rows + rejects.count,
                "refused": rejects.count,
                "staged": self._stage_rejects(rejects),
                "columns": list(plan.header),
                "source_columns": plan.source_columns,
            }
        finally:
            rejects.close()
        self._lineage(context, plan.header, plan.source_columns, imports.submitted, summary["rows"])
        if not self.wait_for_completion:
            result = self._result(imports.submitted, summary["rows"], None, None, None, None)
            self.log.info("Submitted Pardot imports %s; not waiting for them", imports.submitted)
            return result
        if not imports.submitted:
            return self.imports_complete(context, [], summary)
        if self.deferrable:
            self.defer_for_imports(
                imports.submitted,
                poll_interval=self.poll_interval,
                timeout=self.timeout,
                state=summary,
            )
        return self.imports_complete(context, self._wait(imports.submitted), summary)

    def _upload(self, plan: _Plan, rejects: _Rejects) -> _Imports:
        from airflow_provider_pardot.files.import_batches import Spool, ahead

        imports = _Imports(self.hook, plan.options, self.log, self.hook.config.max_retries + 1)
        with Spool() as spool:
            batches = self._batches(plan, rejects, spool.path)
            for batch in ahead(batches):  # the next batch is made while this one is uploaded
                imports.add(batch)
            imports.submit()
        if imports.abandoned:
            self.log.info(
                "Abandoned Pardot imports (never submitted, they import nothing): %s", imports.abandoned
            )
        return imports

    def _batches(self, plan: _Plan, rejects: _Rejects, spool: str) -> Iterator[Batch]:
        """The CSV batches of the source: converted by Arrow when pyarrow is installed, else row by row."""
        from airflow_provider_pardot.api.imports import MAX_BATCH_BYTES
        from airflow_provider_pardot.files import arrow_batches
        from airflow_provider_pardot.files.import_batches import csv_batches

        columnar = plan.rows.columnar()
        if columnar is None or not arrow_batches.available():
            return csv_batches(plan.header, self._rows(plan, rejects), MAX_BATCH_BYTES, spool)
        layout = arrow_batches.RowLayout(len(plan.source_columns), *columnar)
        self.log.info("Converting to CSV batches with Arrow")

        def refuse(row: list[str], source: SourceFile) -> list[list[str]]:
            return self._shaped(plan, rejects, row, source)

        files = self._announced(plan.files)
        return arrow_batches.arrow_batches(files, layout, plan.header, MAX_BATCH_BYTES, spool, refuse)

    def _rows(self, plan: _Plan, rejects: _Rejects) -> Iterator[Sequence[str]]:
        from airflow_provider_pardot.files.import_batches import iter_rows

        for source in self._announced(plan.files):
            for row in iter_rows(source):
                yield from self._shaped(plan, rejects, row, source)

    def _announced(self, files: list[SourceFile]) -> Iterator[SourceFile]:
        """``files``, each logged as it is taken up."""
        for source in files:
            self.log.info("Reading %s", source.uri)
            yield source

    @staticmethod
    def _shaped(plan: _Plan, rejects: _Rejects, row: Sequence[str], source: SourceFile) -> list[list[str]]:
        """The import rows of one source row; none when it cannot be sent (then it is a rejected row)."""
        width = len(plan.source_columns)
        shaped = (
            plan.rows.shape(row) if len(row) == width else f"{len(row)} values, not {width}, in {source.uri}"
        )
        if isinstance(shaped, str):
            rejects.add(plan.rows.project(row), shaped)
            return []
        return shaped

    def _wait(self, import_ids: list[int]) -> list[dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.timeout
        while not self.read_imports(import_ids, records):
            if time.monotonic() >= deadline:
                self.imports_timed_out(
                    f"Timed out after {self.timeout:.0f}s waiting for Pardot imports {import_ids}."
                )
            time.sleep(max(0.0, min(self.poll_interval, deadline - time.monotonic())))
        return [records[str(i)] for i in import_ids]

    def imports_timed_out(self, message: str) -> NoReturn:
        raise AirflowException(message)

    def imports_complete(
        self, context: Context, records: list[dict[str, Any]], state: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Every import is Complete: write the rejected rows, check the error rate, report.

        :param state: the upload's summary (rows, rows refused before sending, their staged file, columns)
        """
        if state is None:
            raise AirflowException(
                "The upload's summary did not come back from the trigger; run the task again."
            )
        summary = state
        created = sum(r.get("createdCount") or 0 for r in records)
        updated = sum(r.get("updatedCount") or 0 for r in records)
        errors = sum(r.get("errorCount") or 0 for r in records) + summary["refused"]
        rows = summary["rows"]
        errors_uri = self._write_rejects(records, summary) if errors else None
        result = self._result([int(r["id"]) for r in records], rows, created, updated, errors, errors_uri)
        self.log.info(
            "Pardot imports %s: %s rows, %s created, %s updated, %s rejected%s",
            result["import_ids"],
            f"{rows:,}",
            f"{created:,}",
            f"{updated:,}",
            f"{errors:,}",
            f" (written to {errors_uri})" if errors_uri else "",
        )
        if rows and errors / rows > self.max_error_rate:
            raise PardotImportError(
                f"Pardot rejected {errors:,} of {rows:,} rows ({errors / rows:.2%}), more than max_error_rate="
                f"{self.max_error_rate:g}; the rows and Pardot's reasons are in {errors_uri or 'the log above'}."
            )
        if errors:
            self.log.warning(
                "%s rows were rejected (within max_error_rate=%g)", f"{errors:,}", self.max_error_rate
            )
        self._lineage(
            context, summary["columns"], summary["source_columns"], result["import_ids"], rows, result
        )
        return result

    @staticmethod
    def _result(
        import_ids: list[int], rows: int, created: Any, updated: Any, errors: Any, errors_uri: str | None
    ) -> dict[str, Any]:
        return {
            "import_ids": import_ids,
            "rows": rows,
            "created": created,
            "updated": updated,
            "errors": errors,
            "errors_uri": errors_uri,
        }

    # -- rejected rows ------------------------------------------------------------------------
    def _errors_path(self) -> tuple[ObjectStoragePath, bool]:
        """Where the rejected rows go, and whether the user chose it."""
        from airflow_provider_pardot.files.import_batches import ERRORS_SUFFIX

        if self.errors_destination is not None:
            dest = self.errors_destination
            if isinstance(dest, ObjectStoragePath) and self.errors_conn_id is None:
                return dest, True
            return ObjectStoragePath(str(dest), conn_id=self.errors_conn_id or self.source_conn_id), True
        source = ObjectStoragePath(str(self.source), conn_id=self.source_conn_id)
        name = source.name or source.parent.name
        stem = name.rpartition(".")[0] if source.is_file() and "." in name else name
        return source.parent / f"{stem}{ERRORS_SUFFIX}", False

    def _stage_rejects(self, rejects: _Rejects) -> str | None:
        """Keep the rows refused before sending beside the errors file until the imports end."""
        from airflow_provider_pardot.files.storage import Destination

        if not rejects.count:
            return None
        self.log.warning(
            "%d row(s) were not sent; the first: %s", rejects.count, "; ".join(rejects.shown[:LOGGED_REJECTS])
        )
        path, chosen = self._errors_path()
        try:
            stage = Destination(path.parent, None, self.log)
            stage.prepare([], overwrite=True)
            staged = stage.temporary(f"{path.name}.refused")
            with staged.open("wb") as handle:
                for line in rejects.lines():
                    handle.write(line)
        except OSError as err:
            if chosen:
                raise
            self.log.warning("Cannot write beside the source (%s); the first rows not sent:", err)
            for line in itertools.islice(rejects.lines(), LOGGED_REJECTS):
                self.log.warning("  %s", line.decode("utf-8", "replace").rstrip())
            return None
        return str(staged)

    def _write_rejects(self, records: list[dict[str, Any]], summary: dict[str, Any]) -> str | None:
        from airflow_provider_pardot.files.import_batches import CsvLines
        from airflow_provider_pardot.files.storage import Destination, uri

        path, chosen = self._errors_path()
        destination = Destination(path.parent, None, self.log)
        columns = summary["columns"]
        try:
            destination.prepare([path.name], overwrite=True)
            with destination.temporary(path.name).open("wb") as handle:
                lines = CsvLines()
                handle.write(lines.encode([*columns, ERROR_COLUMN, IMPORT_ID_COLUMN]))
                self._copy_staged(summary.get("staged"), handle)
                for record in records:
                    if record.get("errorCount"):
                        for row in self.hook.iter_import_errors(record["id"]):
                            handle.write(lines.encode(_error_line(row, columns, record["id"])))
            destination.place([path.name], overwrite=True)
        except OSError as err:
            destination.discard()
            if chosen:
                raise
            self.log.warning("Cannot write %s (%s); the first rejected rows:", uri(path), err)
            self._log_rejects(records, columns)
            return None
        return uri(path)

    def _copy_staged(self, staged: str | None, handle: Any) -> None:
        if not staged:
            return
        path = ObjectStoragePath(staged, conn_id=self.errors_conn_id or self.source_conn_id)
        with path.open("rb") as source:
            while chunk := source.read(1 << 20):
                handle.write(chunk)
        path.unlink()

    def _log_rejects(self, records: list[dict[str, Any]], columns: list[str]) -> None:
        shown = 0
        for record in records:
            if record.get("errorCount"):
                for row in self.hook.iter_import_errors(record["id"]):
                    self.log.warning("  %s", _error_line(row, columns, record["id"]))
                    shown += 1
                    if shown >= LOGGED_REJECTS:
                        return

    # -- lineage ------------------------------------------------------------------------------
    def _lineage(
        self,
        context: Context,
        columns: Sequence[str],
        source_columns: Sequence[str],
        import_ids: list[int],
        rows: int,
        result: dict[str, Any] | None = None,
    ) -> None:
        from airflow_provider_pardot.lineage.openlineage import ImportDelivery, emit_asset_events

        source = ObjectStoragePath(str(self.source), conn_id=self.source_conn_id)
        self.delivery = ImportDelivery.of(
            self.hook.config.business_unit_id, source, source_columns, columns, rows, import_ids, result
        )
        if result is not None:
            emit_asset_events(self, context, self.delivery)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: the source in; ``pardot://<business unit>/prospects`` (and list memberships) out."""
        from airflow_provider_pardot.lineage.openlineage import import_lineage

        return import_lineage(self.delivery)


def _error_line(row: dict[str, str], columns: Sequence[str], import_id: Any) -> list[str]:
    """A row of Pardot's error file in the errors file's columns: its values, its reason, its import."""
    reason = "; ".join(f"{v}" for k, v in row.items() if k not in columns and k is not None and v)
    return [*(row.get(c) or "" for c in columns), reason, str(import_id)]
