"""
Move Pardot data to any object storage Airflow knows (``file://``, ``s3://``, ``gs://``, ...).

Both operators write through :class:`ObjectStoragePath` and share one way of placing files:

- everything is streamed; nothing is ever held whole in memory;
- each file is first written aside, under a hidden temporary name in the destination folder
  (``.part-00000.csv.<token>.tmp``), and moved to its final name only once every file of the
  run is complete; a failed run removes its temporaries, so nothing partial or stray ever
  appears under a final name;
- ``_manifest.json`` is written last (also atomically): it lists each file with its URI, row
  count, byte count and SHA-256, and the export id. Its presence marks a complete delivery.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import threading
import time
import uuid
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    ObjectStoragePath,
)

from airflow_provider_pardot.exceptions import PardotApiError, PardotExportError
from airflow_provider_pardot.links.pardot import PardotExportLink
from airflow_provider_pardot.utils.exports import COMPLETE, failure_reason

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_pardot.hooks.pardot import PardotHook

#: Pardot serves at most five requests at a time per account.
MAX_DOWNLOADS = 5
MANIFEST_NAME = "_manifest.json"
EXPORT_FORMATS = ("csv", "parquet")
QUERY_FORMATS = ("jsonl", "csv", "parquet")
#: Rows per pandas chunk when converting CSV to Parquet (bounded memory).
PARQUET_CHUNK_ROWS = 20_000
PROGRESS_LOG_SECONDS = 10.0


class _Stopped(Exception):
    """Another download failed or the task was killed: stop this one."""


# ---------------------------------------------------------------------------------------------
# Small streaming helpers
# ---------------------------------------------------------------------------------------------
class CsvRowCounter:
    """
    Count CSV records in a byte stream fed chunk by chunk.

    Counts the newlines outside double quotes (a quoted field may hold newlines; ``""`` inside a
    quoted field toggles twice and so changes nothing), plus a last line without a newline.
    """

    def __init__(self) -> None:
        self.newlines = 0
        self.in_quotes = False
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if b'"' not in chunk:
            if not self.in_quotes:
                self.newlines += chunk.count(b"\n")
        else:
            parts = chunk.split(b'"')
            # the parts outside quotes, counted in one pass in C
            self.newlines += b"".join(parts[1 if self.in_quotes else 0 :: 2]).count(b"\n")
            if len(parts) % 2 == 0:  # an odd number of quotes
                self.in_quotes = not self.in_quotes
        self._last = chunk[-1:]

    @property
    def lines(self) -> int:
        """Records including the header."""
        return self.newlines + (1 if self._last not in (b"", b"\n") else 0)

    @property
    def rows(self) -> int:
        """Records excluding the header."""
        return max(self.lines - 1, 0)


def _split_header(buffer: bytes) -> tuple[bytes, bytes] | None:
    """``(header line incl. its newline, rest)`` once ``buffer`` holds a whole first line."""
    in_quotes = False
    for pos, byte in enumerate(buffer):
        if byte == 0x22:  # "
            in_quotes = not in_quotes
        elif byte == 0x0A and not in_quotes:  # \n
            return buffer[: pos + 1], buffer[pos + 1 :]
    return None


def _header_key(header: bytes) -> bytes:
    return header.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


class _ChunkStream(io.RawIOBase):
    """A readable binary file over an iterator of byte chunks (for pandas)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._view):
            try:
                self._view = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size


class _CountingWriter:
    """Wrap a binary file: count and hash what is written."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle
        self.bytes = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: Any) -> int:
        data = bytes(data)
        self._handle.write(data)
        self.bytes += len(data)
        self.sha256.update(data)
        return len(data)

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._handle.flush()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:  # the owner closes the real file
        self.flush()


class _Progress:
    """Thread-safe progress, logged every few seconds and at each finished file."""

    def __init__(self, log: Any, label: str, files_total: int, every: float = PROGRESS_LOG_SECONDS) -> None:
        self.log = log
        self.label = label
        self.files_total = files_total
        self.every = every
        self.started = time.monotonic()
        self._last_log = self.started
        self._lock = threading.Lock()
        self.bytes = 0
        self.rows = 0
        self.files = 0

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes += count
            now = time.monotonic()
            if now - self._last_log < self.every:
                return
            self._last_log = now
        self._log("in progress")

    def file_done(self, name: str, rows: int) -> None:
        with self._lock:
            self.files += 1
            self.rows += rows
            self._last_log = time.monotonic()
        self._log(f"finished {name}")

    def _log(self, what: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.log.info(
            "%s: %s; %d/%d files, %s rows, %.1f MB in %.1fs (%.1f MB/s)",
            self.label,
            what,
            self.files,
            self.files_total,
            f"{self.rows:,}",
            self.bytes / 1e6,
            elapsed,
            self.bytes / 1e6 / elapsed,
        )


def _uri(path: ObjectStoragePath) -> str:
    protocol = path.protocol if isinstance(path.protocol, str) else path.protocol[0]
    if protocol in ("file", "local", ""):
        return f"file://{path.path}"
    return f"{protocol}://{path.path}"


#: ``.<final name>.<run token>.tmp``: where a file is written before it is moved into place.
_TEMPORARY = re.compile(r"\.(.+)\.([0-9a-f]{12})\.tmp")


class _Destination:
    """
    A destination folder where files are staged under temporary names and placed atomically.

    Every temporary is ``.<final name>.<run token>.tmp`` in the same folder, so the final move is
    a rename on file systems and a server-side copy on object stores (an object appears whole).
    """

    def __init__(self, dest: str | ObjectStoragePath, conn_id: str | None, log: Any) -> None:
        if isinstance(dest, ObjectStoragePath) and conn_id is None:
            self.base = dest
        else:
            self.base = ObjectStoragePath(str(dest), conn_id=conn_id)
        self.log = log
        self.token = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._temporaries: dict[str, ObjectStoragePath] = {}
        self._placed: list[ObjectStoragePath] = []

    def path(self, name: str) -> ObjectStoragePath:
        return self.base / name

    def uri(self, name: str) -> str:
        return _uri(self.path(name))

    def prepare(self, names: Iterable[str], overwrite: bool) -> None:
        """Create the folder (on file systems) and refuse existing files unless ``overwrite``."""
        protocol = self.base.protocol if isinstance(self.base.protocol, str) else self.base.protocol[0]
        if protocol in ("file", "local", ""):
            self.base.mkdir(parents=True, exist_ok=True)
        self.sweep_temporaries({*names, MANIFEST_NAME})
        if overwrite:
            return
        existing = [self.uri(name) for name in (*names, MANIFEST_NAME) if self.path(name).exists()]
        if existing:
            raise AirflowFailException(
                f"Refusing to overwrite {len(existing)} existing file(s) under {_uri(self.base)} "
                f"(overwrite=False): {', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}"
            )

    def sweep_temporaries(self, names: set[str]) -> None:
        """Remove temporaries of these names left by an earlier run that was killed outright."""
        try:
            entries = list(self.base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match.group(1) in names and match.group(2) != self.token:
                self.log.info("Removing %s, a partial file left by an interrupted run", _uri(entry))
                entry.unlink()

    def temporary(self, name: str) -> ObjectStoragePath:
        tmp = self.base / f".{name}.{self.token}.tmp"
        with self._lock:
            self._temporaries[name] = tmp
        return tmp

    def _move(self, src: ObjectStoragePath, dst: ObjectStoragePath) -> None:
        src.fs.mv(src.path, dst.path)

    def place(self, names: Sequence[str], overwrite: bool) -> None:
        """Move every staged file to its final name (the manifest, if any, goes first)."""
        manifest = self.path(MANIFEST_NAME)
        if overwrite and manifest.exists():
            manifest.unlink()  # no manifest = not a complete delivery, until the new one is written
        for name in names:
            tmp = self._temporaries[name]
            final = self.path(name)
            self._move(tmp, final)
            with self._lock:
                self._temporaries.pop(name, None)
                self._placed.append(final)

    def write_manifest(self, manifest: dict[str, Any]) -> str:
        tmp = self.temporary(MANIFEST_NAME)
        with tmp.open("wb") as handle:
            handle.write(json.dumps(manifest, indent=2, default=str).encode("utf-8"))
        self.place([MANIFEST_NAME], overwrite=False)
        return self.uri(MANIFEST_NAME)

    def remove_stale_parts(self, keep: set[str], suffix: str) -> None:
        """After an overwrite, remove ``part-NNNNN.<suffix>`` files of an earlier, longer run."""
        try:
            entries = list(self.base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = entry.name
            if (
                name.startswith("part-")
                and name.endswith(f".{suffix}")
                and name[5 : -len(suffix) - 1].isdigit()
                and name not in keep
            ):
                self.log.info("Removing %s, left by an earlier run (overwrite=True)", _uri(entry))
                entry.unlink()

    def discard(self) -> None:
        """Remove this run's temporaries and anything it placed (after a failure)."""
        with self._lock:
            doomed = list(self._temporaries.values()) + self._placed
            self._temporaries.clear()
            self._placed = []
        for path in doomed:
            try:
                if path.exists():
                    path.unlink()
            except Exception as err:  # keep cleaning the rest
                self.log.warning("Could not remove %s: %s", _uri(path), err)


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
    (written last) lists each file's URI, row count (CSV records without the header), byte count
    and SHA-256, and the export id. A result URL on any host but the connection's Pardot host is
    refused before any download starts. Returns the list of written URIs.

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
    :param pardot_conn_id: The Pardot connection to use. (templated)
    """

    template_fields: Sequence[str] = ("export_id", "dest", "dest_conn_id", "pardot_conn_id")
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
        self.pardot_conn_id = pardot_conn_id
        self._stop = threading.Event()
        self._destination: _Destination | None = None

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

    def _execute(self, context: Context, hook: PardotHook) -> list[str]:
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
        # Every URL is checked before anything is downloaded: the token only goes to Pardot.
        urls = [hook.check_result_url(ref) for ref in export["resultRefs"]]
        suffix = self.file_format
        if not urls:
            names: list[str] = []
        elif self.merge:
            names = [f"part-00000.{suffix}"]
        else:
            names = [f"part-{i:05d}.{suffix}" for i in range(len(urls))]

        destination = self._destination = _Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare(names, self.overwrite)
        self.log.info(
            "Moving %d result file(s) of Pardot export %s to %s as %s%s (%d at a time)",
            len(urls),
            self.export_id,
            _uri(destination.base),
            suffix,
            ", merged" if self.merge else "",
            self.concurrency,
        )
        progress = _Progress(self.log, f"Pardot export {self.export_id}", len(names))
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
    def _chunks(self, hook: PardotHook, url: str, progress: _Progress) -> Iterator[bytes]:
        for chunk in hook.iter_result(url):
            if self._stop.is_set():
                raise _Stopped()
            progress.add_bytes(len(chunk))
            yield chunk

    def _parallel(
        self,
        hook: PardotHook,
        urls: list[str],
        names: list[str],
        destination: _Destination,
        progress: _Progress,
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
        self, hook: PardotHook, url: str, name: str, destination: _Destination, progress: _Progress
    ) -> dict[str, Any]:
        if self._stop.is_set():
            raise _Stopped()
        tmp = destination.temporary(name)
        chunks = self._chunks(hook, url, progress)
        with tmp.open("wb") as handle:
            writer = _CountingWriter(handle)
            if self.file_format == "parquet":
                rows = _csv_to_parquet(chunks, writer, None)[0]
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
            "sha256": writer.sha256.hexdigest(),
            "source": url,
        }

    def _merge(
        self,
        hook: PardotHook,
        urls: list[str],
        name: str,
        destination: _Destination,
        progress: _Progress,
    ) -> dict[str, Any]:
        tmp = destination.temporary(name)
        with tmp.open("wb") as handle:
            writer = _CountingWriter(handle)
            if self.file_format == "parquet":
                state = None
                rows = 0
                for url in urls:
                    added, state = _csv_to_parquet(
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
                            split = _split_header(pending)
                            if split is None:
                                continue
                            header, chunk = split
                            header_done = True
                            pending = b""
                            if first_header is None:
                                first_header = header
                                counter.feed(header)
                                writer.write(header)
                            elif _header_key(header) != _header_key(first_header):
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
            "sha256": writer.sha256.hexdigest(),
            "sources": urls,
        }


def _csv_to_parquet(
    chunks: Iterator[bytes], out: _CountingWriter, state: dict[str, Any] | None, *, keep_open: bool = False
) -> tuple[int, dict[str, Any] | None]:
    """
    Convert one CSV stream to Parquet in bounded chunks; return (rows, writer state).

    Without ``keep_open`` the Parquet file is finished and closed. With it (merge), the writer
    state is returned (and may be passed back in for the next file); the caller closes
    ``state["writer"]``. Every column is a nullable string.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    reader = pd.read_csv(
        io.BufferedReader(_ChunkStream(chunks), buffer_size=1 << 20),
        chunksize=PARQUET_CHUNK_ROWS,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        encoding="utf-8-sig",
    )
    rows = 0
    own_state = state
    with reader:
        for frame in reader:
            if own_state is None:
                schema = pa.schema([(str(col), pa.string()) for col in frame.columns])
                own_state = {
                    "schema": schema,
                    "writer": pq.ParquetWriter(out, schema),
                    "columns": list(frame.columns),
                }
            elif list(frame.columns) != own_state["columns"]:
                raise AirflowException("Cannot merge: the result files have different headers.")
            table = pa.Table.from_pandas(frame, schema=own_state["schema"], preserve_index=False)
            own_state["writer"].write_table(table)
            rows += len(frame)
        if own_state is None:
            columns = [str(c) for c in getattr(reader, "orig_names", None) or _reader_columns(reader)]
            schema = pa.schema([(c, pa.string()) for c in columns])
            own_state = {"schema": schema, "writer": pq.ParquetWriter(out, schema), "columns": columns}
    if not keep_open:
        own_state["writer"].close()
        return rows, None
    return rows, own_state


def _reader_columns(reader: Any) -> list[str]:
    engine = getattr(reader, "_engine", None)
    return list(getattr(engine, "orig_names", None) or [])


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
    :param pardot_conn_id: The Pardot connection to use. (templated)
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
        self.pardot_conn_id = pardot_conn_id
        self._destination: _Destination | None = None

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
            return self._execute(hook, criteria)
        finally:
            hook.log_usage()

    def _execute(self, hook: PardotHook, criteria: dict[str, Any]) -> list[str]:
        name = f"part-00000.{self.file_format}"
        destination = self._destination = _Destination(self.dest, self.dest_conn_id, self.log)
        destination.prepare([name], self.overwrite)
        progress = _Progress(self.log, f"Pardot {self.object_name} query", 1)
        records = hook.query(self.object_name, **criteria)
        try:
            tmp = destination.temporary(name)
            with tmp.open("wb") as handle:
                writer = _CountingWriter(handle)
                if self.file_format == "jsonl":
                    rows = 0
                    for rows, record in enumerate(records, start=1):  # noqa: B007
                        line = (json.dumps(record, default=str, ensure_ascii=False) + "\n").encode("utf-8")
                        writer.write(line)
                        progress.add_bytes(len(line))
                else:
                    rows = self._spooled(records, writer, progress)
            progress.file_done(name, rows)
            destination.place([name], self.overwrite)
            file_entry = {
                "name": name,
                "uri": destination.uri(name),
                "rows": rows,
                "bytes": writer.bytes,
                "sha256": writer.sha256.hexdigest(),
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
        self.log.info(
            "Wrote %s %s records to %s; manifest %s",
            f"{rows:,}",
            self.object_name,
            file_entry["uri"],
            manifest_uri,
        )
        return [str(file_entry["uri"])]

    def _spooled(
        self, records: Iterator[dict[str, Any]], writer: _CountingWriter, progress: _Progress
    ) -> int:
        columns: dict[str, set[str]] = {}
        rows = 0
        with tempfile.TemporaryFile("w+b") as spool:
            for record in records:
                for key, value in record.items():
                    columns.setdefault(key, set()).add(_kind(value))
                spool.write(json.dumps(record, default=str, ensure_ascii=False).encode("utf-8") + b"\n")
                rows += 1
            spool.seek(0)
            names = list(columns)
            lines = (json.loads(line) for line in spool)
            if self.file_format == "csv":
                text = io.TextIOWrapper(_Unclosable(writer), encoding="utf-8", newline="")  # type: ignore[type-var]
                out = csv.writer(text, lineterminator="\n")
                out.writerow(names)
                for record in lines:
                    out.writerow([_csv_value(record.get(col)) for col in names])
                text.flush()
                text.detach()
            else:
                _records_to_parquet(lines, names, columns, writer)
        progress.add_bytes(writer.bytes)
        return rows


class _Unclosable(io.RawIOBase):
    def __init__(self, target: _CountingWriter) -> None:
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._target.write(data)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, (dict, list)):
        return "nested"
    return "str"


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def _records_to_parquet(
    records: Iterator[dict[str, Any]], names: list[str], kinds: dict[str, set[str]], out: _CountingWriter
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def arrow_type(found: set[str]) -> Any:
        found = found - {"null"}
        if not found:
            return pa.string()
        if found == {"bool"}:
            return pa.bool_()
        if found == {"int"}:
            return pa.int64()
        if found <= {"int", "float"}:
            return pa.float64()
        return pa.string()

    schema = pa.schema([(name, arrow_type(kinds[name])) for name in names])

    def convert(value: Any, kind: Any) -> Any:
        if value is None:
            return None
        if kind == pa.string():
            if isinstance(value, (dict, list)):
                return json.dumps(value, default=str, ensure_ascii=False)
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
        if kind == pa.float64():
            return float(value)
        return value

    types = [schema.field(name).type for name in names]
    with pq.ParquetWriter(out, schema) as parquet:
        batch: list[dict[str, Any]] = []
        for record in records:
            batch.append({n: convert(record.get(n), t) for n, t in zip(names, types, strict=True)})
            if len(batch) >= PARQUET_CHUNK_ROWS:
                parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or not names:
            parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
