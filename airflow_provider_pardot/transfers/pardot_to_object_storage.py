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
import functools
import io
import itertools
import json
import logging
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError
from airflow_provider_pardot.links.pardot import PardotExportLink
from airflow_provider_pardot.operators.base import PardotBaseOperator, reports_usage
from airflow_provider_pardot.operators.export import PardotCreateExportOperator

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context, ObjectStoragePath
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_pardot.files.storage import Destination
    from airflow_provider_pardot.files.streams import CountingWriter, Progress
    from airflow_provider_pardot.lineage.openlineage import CsvColumns, Delivery

    #: The records of a query, and the columns seen (name -> the kinds of value seen).
    Records = Iterator[dict[str, Any]]
    Columns = dict[str, Any]

log = logging.getLogger(__name__)

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


def _check_checksum(checksum: str | None) -> str | None:
    """Refuse an unknown checksum name where the task is built (when a DAG file is parsed)."""
    if checksum is None:
        return None
    # The streams (like every file helper below) load when a task runs, not when a DAG file is
    # parsed; only a task that asks for a checksum loads them here.
    from airflow_provider_pardot.files.streams import check_checksum

    return check_checksum(checksum)


@contextmanager
def _discarded_on_failure(destination: Destination, stop: threading.Event | None = None) -> Iterator[None]:
    """When the block fails (or the task is killed), stop the other downloads and remove what was written aside."""
    try:
        yield
    except BaseException:
        if stop is not None:
            stop.set()
        destination.discard()
        raise


def _write_aside(
    destination: Destination,
    name: str,
    checksum: str | None,
    progress: Progress,
    fill: Callable[[CountingWriter], int],
    **about: Any,
) -> dict[str, Any]:
    """Write one file under its temporary name with ``fill(writer) -> rows``; return its manifest entry."""
    from airflow_provider_pardot.files.streams import CountingWriter

    with destination.temporary(name).open("wb") as handle:
        writer = CountingWriter(handle, checksum)
        rows = fill(writer)
    progress.file_done(name, rows)
    return {
        "name": name,
        "uri": destination.uri(name),
        "rows": rows,
        "bytes": writer.bytes,
        **writer.digest(),
        **about,
    }


def _manifest(files: list[dict[str, Any]], **about: Any) -> dict[str, Any]:
    """``_manifest.json``: what the run was, when, its files, and their total rows and bytes."""
    return {
        **about,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": files,
        "total_rows": sum(f["rows"] for f in files),
        "total_bytes": sum(f["bytes"] for f in files),
    }


def _copy_csv(chunks: Iterator[bytes], writer: CountingWriter) -> int:
    """Copy a CSV file byte for byte; return its record count."""
    from airflow_provider_pardot.files.streams import CsvRowCounter

    counter = CsvRowCounter()
    for chunk in chunks:
        counter.feed(chunk)
        writer.write(chunk)
    return counter.rows


def _to_parquet(chunks: Iterator[bytes], writer: CountingWriter) -> int:
    """Convert a CSV file to Parquet in bounded chunks; return its record count."""
    from airflow_provider_pardot.files.parquet import csv_to_parquet

    return csv_to_parquet(chunks, writer, None)[0]


def _merge_parquet(sources: Iterator[tuple[str, Iterator[bytes]]], writer: CountingWriter) -> int:
    """One Parquet file from several CSV files."""
    from airflow_provider_pardot.files.parquet import csv_to_parquet

    state = None
    rows = 0
    for _url, chunks in sources:
        added, state = csv_to_parquet(chunks, writer, state, keep_open=True)
        rows += added
    if state is not None:
        state["writer"].close()
    return rows


def _split_csv(chunks: Iterator[bytes]) -> tuple[bytes | None, Iterator[bytes]]:
    """A CSV stream's header line (with its newline; ``None`` for an empty file) and the rest, read lazily."""
    from airflow_provider_pardot.files.streams import split_header

    pending = b""
    for chunk in chunks:
        pending += chunk
        split = split_header(pending)
        if split is not None:
            header, rest = split
            return header, itertools.chain((rest,), chunks)
    return (pending + b"\n" if pending else None), iter(())


def _merge_csv(sources: Iterator[tuple[str, Iterator[bytes]]], writer: CountingWriter) -> int:
    """One CSV from several: the first file's header once, then every file's records; headers must agree."""
    from airflow_provider_pardot.files.streams import CsvRowCounter, header_key

    counter = CsvRowCounter()
    first_header: bytes | None = None
    ends_with_newline = True
    for url, chunks in sources:
        header, body = _split_csv(chunks)
        if header is None:
            continue  # an empty file
        if first_header is None:
            first_header = header
            counter.feed(header)
            writer.write(header)
        elif header_key(header) != header_key(first_header):
            raise AirflowException(f"Cannot merge: {url} has a different header than the first file.")
        for chunk in body:
            if not chunk:
                continue
            if not ends_with_newline:  # the previous file's last record ended without one
                counter.feed(b"\n")
                writer.write(b"\n")
            counter.feed(chunk)
            writer.write(chunk)
            ends_with_newline = chunk.endswith(b"\n")
    return counter.rows


def upstream_export_object(task: Any, context: Context) -> str | None:
    """
    The object of the ``PardotCreateExportOperator`` upstream of ``task`` (its template rendered).

    The nearest creating tasks up every branch are looked at; when they name different objects,
    the answer is ``None`` (the transfer's ``object_name`` then says which).
    """
    objects: set[str] = set()
    seen: set[str] = set()
    try:
        stack = list(task.upstream_list) if task.has_dag() else []
        while stack:
            upstream = stack.pop()
            if upstream.task_id in seen:
                continue
            seen.add(upstream.task_id)
            if isinstance(upstream, PardotCreateExportOperator):
                objects.add(str(task.render_template(upstream.object_name, context)))
            else:
                stack.extend(upstream.upstream_list)
    except Exception as err:  # lineage must never fail a transfer
        log.info("Could not tell the object of %s's export from its upstream tasks: %s", task.task_id, err)
        return None
    if len(objects) == 1:
        return objects.pop()
    if objects:
        log.info(
            "Several exports upstream (%s): set object_name on %s for its lineage.",
            ", ".join(sorted(objects)),
            task.task_id,
        )
    return None


class _ReportsDelivery:
    """A transfer's lineage: what it read and wrote this run (``delivery``, set by ``execute``)."""

    delivery: Delivery | None = None

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """OpenLineage: ``pardot://<business unit>/<object>`` in; the destination (rows, bytes, columns) out."""
        from airflow_provider_pardot.lineage.openlineage import delivery_lineage

        return delivery_lineage(self.delivery)


# ---------------------------------------------------------------------------------------------
# Export -> storage
# ---------------------------------------------------------------------------------------------
class PardotExportToObjectStorageOperator(_ReportsDelivery, PardotBaseOperator):
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
        self.checksum = _check_checksum(checksum)
        self.object_name = object_name
        self._stop = threading.Event()
        self._destination: Destination | None = None
        self._columns: CsvColumns | None = None

    def on_kill(self) -> None:
        self._stop.set()
        if self._destination is not None:
            self._destination.discard()

    @reports_usage
    def execute(self, context: Context) -> list[str]:
        from airflow_provider_pardot.files.storage import Destination, uri
        from airflow_provider_pardot.files.streams import Progress
        from airflow_provider_pardot.lineage.openlineage import CsvColumns, Delivery, emit_asset_events

        self._stop = threading.Event()
        export = self._complete_export()
        PardotExportLink.persist(
            context=context, operator=self, host=self.hook.config.host, export_id=self.export_id
        )
        self.delivery = Delivery(
            self.hook.config.business_unit_id,
            self.object_name or upstream_export_object(self, context),
            {"export_id": export["id"]},
        )
        self._columns = CsvColumns()
        # Every URL is checked before anything is downloaded: the token only goes to Pardot.
        urls = [self.hook.check_result_url(ref) for ref in export["resultRefs"]]
        names = self._names(len(urls))
        destination = self._destination = Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare(names, self.overwrite)
        self.log.info(
            "Moving %d result file(s) of Pardot export %s to %s as %s%s (%d at a time)",
            len(urls),
            self.export_id,
            uri(destination.base),
            self.file_format,
            ", merged" if self.merge else "",
            self.concurrency,
        )
        progress = Progress(self.log, f"Pardot export {self.export_id}", len(names))
        with _discarded_on_failure(destination, self._stop):
            if self.merge and urls:
                files = [self._merge(urls, names[0], destination, progress)]
            else:
                files = self._parallel(urls, names, destination, progress)
            destination.place(names, self.overwrite)
            manifest = _manifest(
                [{**f, "export_id": export["id"]} for f in files],
                export_id=export["id"],
                format=self.file_format,
                merged=self.merge,
            )
            manifest_uri = destination.write_manifest(manifest)
        if self.overwrite:
            destination.remove_stale_parts(set(names), self.file_format)
        written = destination.path(names[0]) if self.merge and names else destination.base
        self.delivery.written(written, uri(written), files, self._columns.columns)
        emit_asset_events(self, context, self.delivery)
        self._log_done(len(files), manifest["total_rows"], progress, manifest_uri)
        return [f["uri"] for f in files]

    def _log_done(self, files: int, rows: int, progress: Progress, manifest_uri: str) -> None:
        elapsed = max(time.monotonic() - progress.started, 1e-6)
        self.log.info(
            "Pardot export %s: wrote %d file(s), %s rows, %.1f MB in %.1fs (%.1f MB/s); manifest %s",
            self.export_id,
            files,
            f"{rows:,}",
            progress.bytes / 1e6,
            elapsed,
            progress.bytes / 1e6 / elapsed,
            manifest_uri,
        )

    def _complete_export(self) -> dict[str, Any]:
        """The export, when it is Complete; fail at once when it failed, was canceled or expired."""
        from airflow_provider_pardot.api.exports import export_status

        export = self.hook.get_export(self.export_id)
        status = export_status(export)
        if status.failed:
            raise PardotExportError(status.message)
        if not status.complete:
            raise PardotApiError(
                f"Pardot export {self.export_id} is {export.get('state')}, not Complete: wait for it first "
                "(PardotExportSensor, or PardotCreateExportOperator with wait_for_completion=True)."
            )
        return export

    def _names(self, count: int) -> list[str]:
        """``part-00000.<format>``, ...: one name a result file, or one for all when merging."""
        return [f"part-{i:05d}.{self.file_format}" for i in range(1 if self.merge and count else count)]

    # -- downloads ----------------------------------------------------------------------------
    def _chunks(self, url: str, progress: Progress) -> Iterator[bytes]:
        assert self._columns is not None  # set by execute
        for chunk in self._columns.watch(self.hook.iter_result(url)):
            if self._stop.is_set():
                raise _Stopped()
            progress.add_bytes(len(chunk))
            yield chunk

    def _parallel(
        self, urls: list[str], names: list[str], destination: Destination, progress: Progress
    ) -> list[dict[str, Any]]:
        if not urls:
            return []
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="pardot-download") as pool:
            futures = [
                pool.submit(self._one_file, url, name, destination, progress)
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

    def _one_file(self, url: str, name: str, destination: Destination, progress: Progress) -> dict[str, Any]:
        if self._stop.is_set():
            raise _Stopped()
        convert = _to_parquet if self.file_format == "parquet" else _copy_csv
        fill = functools.partial(convert, self._chunks(url, progress))
        return _write_aside(destination, name, self.checksum, progress, fill, source=url)

    def _merge(
        self, urls: list[str], name: str, destination: Destination, progress: Progress
    ) -> dict[str, Any]:
        merge = _merge_parquet if self.file_format == "parquet" else _merge_csv
        fill = functools.partial(merge, ((url, self._chunks(url, progress)) for url in urls))
        return _write_aside(destination, name, self.checksum, progress, fill, sources=urls)


# ---------------------------------------------------------------------------------------------
# Query -> storage
# ---------------------------------------------------------------------------------------------
class PardotQueryToObjectStorageOperator(_ReportsDelivery, PardotBaseOperator):
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

    :param object_name: The object to query: a v5 name (``lists``, ``list-memberships``,
        ``lifecycle-histories``, ...; 1,000 records a call) or a v3/v4 name (``list``,
        ``dynamicContent``, ``lifecycleHistory``, ``listMembership``, ...). (templated)
    :param criteria: The query criteria, validated per object: v5 filter names for a v5 object
        (``createdAtAfterOrEqualTo``, ...), v3/v4 criteria otherwise (dates accept ``today``,
        ``last_7_days``, ... ). (templated)
    :param fields: v5 only: the fields to write, in this order (the CSV header and Parquet
        columns); default every documented standard field of the object. (templated)
    :param concurrency: v5 only: id ranges paged in parallel, 1 to 5, out of the account's five
        concurrent-request slots (see :meth:`PardotHook.query`). It is also the task's default
        ``pool_slots``, as for the export transfer.
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

    template_fields: Sequence[str] = (
        "object_name",
        "criteria",
        "fields",
        "dest",
        "dest_conn_id",
        "pardot_conn_id",
    )
    template_fields_renderers = {"criteria": "json"}
    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        object_name: str,
        criteria: dict[str, Any] | None = None,
        fields: list[str] | None = None,
        concurrency: int = 1,
        dest: str | ObjectStoragePath,
        dest_conn_id: str | None = None,
        file_format: str = "jsonl",
        overwrite: bool = False,
        checksum: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(concurrency, int) and not isinstance(concurrency, bool) and 1 <= concurrency <= 5:
            kwargs.setdefault("pool_slots", concurrency)  # its requests in flight, out of the account's five
        super().__init__(**kwargs)
        self.object_name = object_name
        self.criteria = criteria
        self.fields = fields
        self.concurrency = concurrency
        self._columns: list[str] = []
        self.dest = dest
        self.dest_conn_id = dest_conn_id
        self.file_format = _check_format(file_format, QUERY_FORMATS)
        self.overwrite = overwrite
        self.checksum = _check_checksum(checksum)
        self._destination: Destination | None = None

    def on_kill(self) -> None:
        if self._destination is not None:
            self._destination.discard()

    @reports_usage
    def execute(self, context: Context) -> list[str]:
        from airflow_provider_pardot.api.v5 import check_query
        from airflow_provider_pardot.files.storage import Destination, uri
        from airflow_provider_pardot.files.streams import Progress
        from airflow_provider_pardot.lineage.openlineage import Delivery, emit_asset_events

        criteria = dict(self.criteria or {})
        # before touching the destination; a v5 query's fields are its columns
        self._columns = check_query(self.object_name, self.fields, self.concurrency, criteria)
        self.delivery = Delivery(  # reads the connection, before the destination too
            self.hook.config.business_unit_id, self.object_name, {"object": self.object_name}
        )
        name = f"part-00000.{self.file_format}"
        destination = self._destination = Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare([name], self.overwrite)
        progress = Progress(self.log, f"Pardot {self.object_name} query", 1)
        records = self.hook.query(
            self.object_name, fields=self.fields, concurrency=self.concurrency, **criteria
        )
        # the fields asked come first, in their order, even when no record matches
        columns: dict[str, Any] = {column: set() for column in self._columns}
        with _discarded_on_failure(destination):
            write = self._jsonl if self.file_format == "jsonl" else self._spooled
            fill = functools.partial(write, records, progress, columns)
            entry = _write_aside(destination, name, self.checksum, progress, fill)
            destination.place([name], self.overwrite)
            manifest_uri = destination.write_manifest(
                _manifest([entry], object=self.object_name, criteria=criteria, format=self.file_format)
            )
        rows = f"{entry['rows']:,}"
        self.log.info("Wrote %s %s records to %s; manifest %s", rows, self.object_name, entry["uri"], manifest_uri)
        self.delivery.written(destination.base, uri(destination.base), [entry], list(columns))
        emit_asset_events(self, context, self.delivery)
        return [str(entry["uri"])]

    @staticmethod
    def _jsonl(records: Records, progress: Progress, columns: Columns, writer: CountingWriter) -> int:
        """One JSON line a record, as it arrives; ``columns`` gathers every field name seen."""
        rows = 0
        for rows, record in enumerate(records, start=1):  # noqa: B007
            if not columns.keys() >= record.keys():  # a new field: cheaper than updating every time
                columns.update(dict.fromkeys(record))
            line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
            writer.write(line)
            progress.add_bytes(len(line))
        return rows

    def _spooled(self, records: Records, progress: Progress, columns: Columns, writer: CountingWriter) -> int:
        """CSV or Parquet with the union of the records' fields (``columns``: name -> kinds seen)."""
        from airflow_provider_pardot.files.parquet import csv_value, kind, records_to_parquet
        from airflow_provider_pardot.files.streams import Unclosable

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
        return rows
