"""
Move Pardot data to any object storage Airflow knows (``file://``, ``s3://``, ``gs://``, ...).

Both operators write through :class:`ObjectStoragePath` and share one way of placing files:

- everything is streamed; nothing is ever held whole in memory;
- each file is first written aside, under a hidden temporary name in the destination folder
  (``.part-00000.csv.<token>.tmp``), and moved to its final name only once every file of the
  run is complete; a failed run removes its temporaries, so nothing partial or stray ever
  appears under a final name;
- ``_manifest.json`` is written last (also atomically): it lists each file with its URI, row
  count and byte count (and its ``md5`` or ``sha256`` with ``checksum=``), and the export id. Its
  presence marks a complete delivery.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError
from airflow_provider_pardot.links.pardot import PardotExportLink
from airflow_provider_pardot.utils.exports import COMPLETE, failure_reason
from airflow_provider_pardot.utils.parquet import PARQUET_CHUNK_ROWS as PARQUET_CHUNK_ROWS
from airflow_provider_pardot.utils.parquet import csv_to_parquet, csv_value, kind, records_to_parquet
from airflow_provider_pardot.utils.storage import MANIFEST_NAME as MANIFEST_NAME
from airflow_provider_pardot.utils.storage import Destination, uri
from airflow_provider_pardot.utils.streams import PROGRESS_LOG_SECONDS as PROGRESS_LOG_SECONDS
from airflow_provider_pardot.utils.streams import (
    CountingWriter,
    CsvRowCounter,
    Progress,
    Unclosable,
    check_checksum,
    header_key,
    split_header,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context, ObjectStoragePath
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pardot.hooks.pardot import PardotHook
    from airflow_provider_pardot.utils.openlineage import CsvColumns, Delivery

#: Pardot serves at most five requests at a time per account.
MAX_DOWNLOADS = 5
EXPORT_FORMATS = ("csv", "parquet")
QUERY_FORMATS = ("jsonl", "csv", "parquet")


class _Stopped(Exception):
    """Another download failed or the task was killed: stop this one."""


def _check_format(file_format: str, allowed: tuple[str, ...]) -> str:
    if file_format not in allowed:
        raise ValueError(f"file_format must be one of {', '.join(allowed)}, not {file_format!r}")
    return file_format


# ---------------------------------------------------------------------------------------------
# Export -> storage
# ---------------------------------------------------------------------------------------------
class PardotExportToObjectStorageOperator(BaseOperator):
    """
    Move every result file of a completed Pardot export to object storage.

    Files are streamed from Pardot (``PardotHook.iter_result``; a dropped connection resumes where
    it broke off) straight to the destination, up to ``min(max_concurrency, 5)`` at a time. They
    are named ``part-00000.csv``, ``part-00001.csv``, ... under ``dest`` in the export's
    ``resultRefs`` order, or, with ``merge=True``, written as one ``part-00000.csv`` with a single
    header. ``file_format="parquet"`` converts each file in bounded chunks (pandas + pyarrow;
    every column a nullable string, so no value is changed by type guessing).

    Nothing partial ever appears under a final name: each file is written aside and moved into
    place when the whole run is complete; a failed run removes its temporaries. ``_manifest.json``
    (written last) lists each file's URI, row count (CSV records without the header) and byte
    count, and the export id; with ``checksum`` also each file's digest. A result URL on any host
    but the connection's Pardot host is refused before any download starts. Returns the list of
    written URIs.

    The task's default ``pool_slots`` is its download concurrency, so a pool of five slots per
    business unit keeps every task of the account within Pardot's five requests in flight.

    :param export_id: The id of a Complete export, e.g. the XCom of
        :class:`~airflow_provider_pardot.operators.export.PardotCreateExportOperator`. (templated)
    :param dest: The destination folder, e.g. ``s3://bucket/pardot/{{ ds }}/`` or
        ``file:///data/pardot``. (templated)
    :param dest_conn_id: The connection of the destination store (e.g. an ``aws`` connection);
        ``None`` for the store's defaults. (templated)
    :param file_format: ``csv`` (the files as Pardot made them, byte for byte) or ``parquet``.
    :param merge: Write one file with a single header instead of one file per result file.
    :param overwrite: Replace existing files; otherwise the task fails, before downloading,
        when any file it would write exists.
    :param max_concurrency: Result files downloaded at once (at most 5).
    :param checksum: ``"sha256"`` or ``"md5"`` to add each file's digest (hex) to the manifest, e.g.
        to verify a delivery byte for byte later; ``None`` (the default) for rows and bytes only.
        Hashing reads every byte once more (benchmarks/README.md gives the cost).
    :param object_name: The exported object (e.g. ``visitorActivity``), for lineage only: the
        OpenLineage input ``pardot://<business unit>/<object>``. By default the object of the
        :class:`~airflow_provider_pardot.operators.export.PardotCreateExportOperator` upstream of
        this task (an export's record does not name its object). (templated)
    :param pardot_conn_id: The Pardot connection to use. (templated)

    With an ``Asset`` (``Dataset``) in ``outlets`` the task's asset event carries
    ``extra={"export_id", "rows", "bytes", "files", "uri"}``; with an ``AssetAlias``
    (``DatasetAlias``) it adds an event, with that extra, for the destination it wrote (``uri``:
    the folder, or the merged file).
    """

    template_fields: Sequence[str] = ("export_id", "dest", "dest_conn_id", "object_name", "pardot_conn_id")
    operator_extra_links = (PardotExportLink(),)
    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        export_id: int | str,
        dest: str | ObjectStoragePath,
        dest_conn_id: str | None = None,
        file_format: str = "csv",
        merge: bool = False,
        overwrite: bool = False,
        max_concurrency: int = 4,
        checksum: str | None = None,
        object_name: str | None = None,
        pardot_conn_id: str = "pardot_default",
        **kwargs: Any,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"max_concurrency must be a positive integer, not {max_concurrency!r}")
        self.concurrency = 1 if merge else min(max_concurrency, MAX_DOWNLOADS)
        kwargs.setdefault("pool_slots", self.concurrency)
        super().__init__(**kwargs)
        self.export_id = export_id
        self.dest = dest
        self.dest_conn_id = dest_conn_id
        self.file_format = _check_format(file_format, EXPORT_FORMATS)
        self.merge = merge
        self.overwrite = overwrite
        self.max_concurrency = max_concurrency
        self.checksum = check_checksum(checksum)
        self.object_name = object_name
        self.pardot_conn_id = pardot_conn_id
        self._stop = threading.Event()
        self._destination: Destination | None = None
        self.delivery: Delivery | None = None
        self._columns: CsvColumns | None = None

    @cached_property
    def hook(self) -> PardotHook:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def on_kill(self) -> None:
        self._stop.set()
        if self._destination is not None:
            self._destination.discard()

    def execute(self, context: Context) -> list[str]:
        hook = self.hook
        try:
            return self._execute(context, hook)
        finally:
            hook.log_usage()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: ``pardot://<business unit>/<object>`` in, the destination (rows, bytes, columns) out."""
        from airflow_provider_pardot.utils.openlineage import delivery_lineage

        return delivery_lineage(self.delivery)

    def _execute(self, context: Context, hook: PardotHook) -> list[str]:
        from airflow_provider_pardot.utils.openlineage import (
            CsvColumns,
            Delivery,
            emit_asset_events,
            upstream_export_object,
        )

        self._stop = threading.Event()
        export = hook.get_export(self.export_id)
        reason = failure_reason(export)
        if reason:
            raise PardotExportError(reason)
        if export.get("state") != COMPLETE:
            raise PardotApiError(
                f"Pardot export {self.export_id} is {export.get('state')}, not Complete: wait for it first "
                "(PardotExportSensor, or PardotCreateExportOperator with wait_for_completion=True)."
            )
        PardotExportLink.persist(
            context=context, operator=self, host=hook.config.host, export_id=self.export_id
        )
        self.delivery = Delivery(
            hook.config.business_unit_id,
            self.object_name or upstream_export_object(self, context),
            {"export_id": export["id"]},
        )
        self._columns = CsvColumns()
        # Every URL is checked before anything is downloaded: the token only goes to Pardot.
        urls = [hook.check_result_url(ref) for ref in export["resultRefs"]]
        suffix = self.file_format
        if not urls:
            names: list[str] = []
        elif self.merge:
            names = [f"part-00000.{suffix}"]
        else:
            names = [f"part-{i:05d}.{suffix}" for i in range(len(urls))]

        destination = self._destination = Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare(names, self.overwrite)
        self.log.info(
            "Moving %d result file(s) of Pardot export %s to %s as %s%s (%d at a time)",
            len(urls),
            self.export_id,
            uri(destination.base),
            suffix,
            ", merged" if self.merge else "",
            self.concurrency,
        )
        progress = Progress(self.log, f"Pardot export {self.export_id}", len(names))
        try:
            if self.merge and urls:
                files = [self._merge(hook, urls, names[0], destination, progress)]
            else:
                files = self._parallel(hook, urls, names, destination, progress)
            destination.place(names, self.overwrite)
            manifest = {
                "export_id": export["id"],
                "format": self.file_format,
                "merged": self.merge,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": [{**f, "export_id": export["id"]} for f in files],
                "total_rows": sum(f["rows"] for f in files),
                "total_bytes": sum(f["bytes"] for f in files),
            }
            manifest_uri = destination.write_manifest(manifest)
        except BaseException:
            self._stop.set()
            destination.discard()
            raise
        if self.overwrite:
            destination.remove_stale_parts(set(names), suffix)
        written = destination.path(names[0]) if self.merge and names else destination.base
        self.delivery.written(written, uri(written), files, self._columns.columns)
        emit_asset_events(self, context, self.delivery)
        elapsed = max(time.monotonic() - progress.started, 1e-6)
        self.log.info(
            "Pardot export %s: wrote %d file(s), %s rows, %.1f MB in %.1fs (%.1f MB/s); manifest %s",
            self.export_id,
            len(files),
            f"{manifest['total_rows']:,}",
            progress.bytes / 1e6,
            elapsed,
            progress.bytes / 1e6 / elapsed,
            manifest_uri,
        )
        return [f["uri"] for f in files]

    # -- downloads ----------------------------------------------------------------------------
    def _chunks(self, hook: PardotHook, url: str, progress: Progress) -> Iterator[bytes]:
        assert self._columns is not None  # set by _execute
        for chunk in self._columns.watch(hook.iter_result(url)):
            if self._stop.is_set():
                raise _Stopped()
            progress.add_bytes(len(chunk))
            yield chunk

    def _parallel(
        self,
        hook: PardotHook,
        urls: list[str],
        names: list[str],
        destination: Destination,
        progress: Progress,
    ) -> list[dict[str, Any]]:
        if not urls:
            return []
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="pardot-download") as pool:
            futures = [
                pool.submit(self._one_file, hook, url, name, destination, progress)
                for url, name in zip(urls, names, strict=True)
            ]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                self._stop.set()
                for future in futures:
                    future.cancel()
                wait(futures)
                errors = [f.exception() for f in futures if not f.cancelled() and f.exception() is not None]
                real = [e for e in errors if not isinstance(e, _Stopped)] or errors
                raise real[0]  # type: ignore[misc]
            return [f.result() for f in futures]

    def _one_file(
        self, hook: PardotHook, url: str, name: str, destination: Destination, progress: Progress
    ) -> dict[str, Any]:
        if self._stop.is_set():
            raise _Stopped()
        tmp = destination.temporary(name)
        chunks = self._chunks(hook, url, progress)
        with tmp.open("wb") as handle:
            writer = CountingWriter(handle, self.checksum)
            if self.file_format == "parquet":
                rows = csv_to_parquet(chunks, writer, None)[0]
            else:
                counter = CsvRowCounter()
                for chunk in chunks:
                    counter.feed(chunk)
                    writer.write(chunk)
                rows = counter.rows
        progress.file_done(name, rows)
        return {
            "name": name,
            "uri": destination.uri(name),
            "rows": rows,
            "bytes": writer.bytes,
            **writer.digest(),
            "source": url,
        }

    def _merge(
        self,
        hook: PardotHook,
        urls: list[str],
        name: str,
        destination: Destination,
        progress: Progress,
    ) -> dict[str, Any]:
        tmp = destination.temporary(name)
        with tmp.open("wb") as handle:
            writer = CountingWriter(handle, self.checksum)
            if self.file_format == "parquet":
                state = None
                rows = 0
                for url in urls:
                    added, state = csv_to_parquet(
                        self._chunks(hook, url, progress), writer, state, keep_open=True
                    )
                    rows += added
                if state is not None:
                    state["writer"].close()
            else:
                counter = CsvRowCounter()
                first_header: bytes | None = None
                ends_with_newline = True
                for url in urls:
                    pending = b""
                    header_done = False
                    for chunk in self._chunks(hook, url, progress):
                        if not header_done:
                            pending += chunk
                            split = split_header(pending)
                            if split is None:
                                continue
                            header, chunk = split
                            header_done = True
                            pending = b""
                            if first_header is None:
                                first_header = header
                                counter.feed(header)
                                writer.write(header)
                            elif header_key(header) != header_key(first_header):
                                raise AirflowException(
                                    f"Cannot merge: {url} has a different header than the first file."
                                )
                            if not chunk:
                                continue
                        if not ends_with_newline:
                            counter.feed(b"\n")
                            writer.write(b"\n")
                        counter.feed(chunk)
                        writer.write(chunk)
                        ends_with_newline = chunk.endswith(b"\n")
                    if not header_done and pending and first_header is None:  # a header-only file
                        first_header = pending + b"\n"
                        counter.feed(first_header)
                        writer.write(first_header)
                rows = counter.rows
        progress.file_done(name, rows)
        return {
            "name": name,
            "uri": destination.uri(name),
            "rows": rows,
            "bytes": writer.bytes,
            **writer.digest(),
            "sources": urls,
        }


# ---------------------------------------------------------------------------------------------
# Query -> storage
# ---------------------------------------------------------------------------------------------
class PardotQueryToObjectStorageOperator(BaseOperator):
    """
    Stream every record of a Pardot query (``PardotHook.query``) to object storage.

    For the objects the Export API does not cover (lists, dynamic content, lifecycle histories,
    ...). Writes ``part-00000.<format>`` and ``_manifest.json`` under ``dest`` with the same
    guarantees as :class:`PardotExportToObjectStorageOperator` (written aside, placed atomically,
    nothing left behind by a failure). ``jsonl`` streams each record as it arrives. ``csv`` and
    ``parquet`` need every column before the first row: the records are spooled to a local
    temporary file first (bounded memory), then written with the union of their fields; nested
    values become JSON text. Parquet columns are typed from the values seen (integers, floats,
    booleans, else strings). Returns the list of written URIs.

    :param object_name: The object to query, e.g. ``list``, ``dynamicContent``,
        ``lifecycleHistory``, ``listMembership``. (templated)
    :param criteria: The query criteria, validated per object (dates accept ``today``,
        ``last_7_days``, ... ). (templated)
    :param dest: The destination folder. (templated)
    :param dest_conn_id: The connection of the destination store. (templated)
    :param file_format: ``jsonl`` (default), ``csv`` or ``parquet``.
    :param overwrite: Replace existing files; otherwise the task fails before querying when any
        file it would write exists.
    :param checksum: ``"sha256"`` or ``"md5"`` to add the file's digest (hex) to the manifest;
        ``None`` (the default) for rows and bytes only.
    :param pardot_conn_id: The Pardot connection to use. (templated)

    With an ``Asset`` (``Dataset``) in ``outlets`` the task's asset event carries
    ``extra={"object", "rows", "bytes", "files", "uri"}``; with an ``AssetAlias``
    (``DatasetAlias``) it adds an event, with that extra, for the folder it wrote.
    """

    template_fields: Sequence[str] = ("object_name", "criteria", "dest", "dest_conn_id", "pardot_conn_id")
    template_fields_renderers = {"criteria": "json"}
    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        object_name: str,
        criteria: dict[str, Any] | None = None,
        dest: str | ObjectStoragePath,
        dest_conn_id: str | None = None,
        file_format: str = "jsonl",
        overwrite: bool = False,
        checksum: str | None = None,
        pardot_conn_id: str = "pardot_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object_name = object_name
        self.criteria = criteria
        self.dest = dest
        self.dest_conn_id = dest_conn_id
        self.file_format = _check_format(file_format, QUERY_FORMATS)
        self.overwrite = overwrite
        self.checksum = check_checksum(checksum)
        self.pardot_conn_id = pardot_conn_id
        self._destination: Destination | None = None
        self.delivery: Delivery | None = None

    @cached_property
    def hook(self) -> PardotHook:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return PardotHook(pardot_conn_id=self.pardot_conn_id)

    def on_kill(self) -> None:
        if self._destination is not None:
            self._destination.discard()

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_pardot.utils.criteria import validate_query

        criteria = dict(self.criteria or {})
        validate_query(self.object_name, criteria)  # before touching the destination
        hook = self.hook
        try:
            written = self._execute(hook, criteria)
        finally:
            hook.log_usage()
        if self.delivery is not None:
            from airflow_provider_pardot.utils.openlineage import emit_asset_events

            emit_asset_events(self, context, self.delivery)
        return written

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: ``pardot://<business unit>/<object>`` in, the destination (rows, bytes, columns) out."""
        from airflow_provider_pardot.utils.openlineage import delivery_lineage

        return delivery_lineage(self.delivery)

    def _execute(self, hook: PardotHook, criteria: dict[str, Any]) -> list[str]:
        from airflow_provider_pardot.utils.openlineage import Delivery

        name = f"part-00000.{self.file_format}"
        destination = self._destination = Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare([name], self.overwrite)
        progress = Progress(self.log, f"Pardot {self.object_name} query", 1)
        self.delivery = Delivery(hook.config.business_unit_id, self.object_name, {"object": self.object_name})
        records = hook.query(self.object_name, **criteria)
        try:
            tmp = destination.temporary(name)
            with tmp.open("wb") as handle:
                writer = CountingWriter(handle, self.checksum)
                if self.file_format == "jsonl":
                    rows = 0
                    columns: dict[str, Any] = {}
                    for rows, record in enumerate(records, start=1):  # noqa: B007
                        columns.update(dict.fromkeys(record))
                        line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
                        writer.write(line)
                        progress.add_bytes(len(line))
                else:
                    rows, columns = self._spooled(records, writer, progress)
            progress.file_done(name, rows)
            destination.place([name], self.overwrite)
            file_entry = {
                "name": name,
                "uri": destination.uri(name),
                "rows": rows,
                "bytes": writer.bytes,
                **writer.digest(),
            }
            manifest_uri = destination.write_manifest(
                {
                    "object": self.object_name,
                    "criteria": criteria,
                    "format": self.file_format,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "files": [file_entry],
                    "total_rows": rows,
                    "total_bytes": writer.bytes,
                }
            )
        except BaseException:
            destination.discard()
            raise
        self.delivery.written(destination.base, uri(destination.base), [file_entry], list(columns))
        self.log.info(
            "Wrote %s %s records to %s; manifest %s",
            f"{rows:,}",
            self.object_name,
            file_entry["uri"],
            manifest_uri,
        )
        return [str(file_entry["uri"])]

    def _spooled(
        self, records: Iterator[dict[str, Any]], writer: CountingWriter, progress: Progress
    ) -> tuple[int, dict[str, set[str]]]:
        columns: dict[str, set[str]] = {}
        rows = 0
        with tempfile.TemporaryFile("w+b") as spool:
            for record in records:
                for key, value in record.items():
                    columns.setdefault(key, set()).add(kind(value))
                spool.write(json.dumps(record, default=str, ensure_ascii=False).encode("utf-8") + b"\n")
                rows += 1
            spool.seek(0)
            names = list(columns)
            lines = (json.loads(line) for line in spool)
            if self.file_format == "csv":
                text = io.TextIOWrapper(Unclosable(writer), encoding="utf-8", newline="")  # type: ignore[type-var]
                out = csv.writer(text, lineterminator="\n")
                out.writerow(names)
                for record in lines:
                    out.writerow([csv_value(record.get(col)) for col in names])
                text.flush()
                text.detach()
            else:
                records_to_parquet(lines, names, columns, writer)
        progress.add_bytes(writer.bytes)
        return rows, columns
