"""
Reading an import's source (CSV or Parquet files on any object storage) and cutting CSV batches.

Everything streams: a CSV file is read record by record, a Parquet file a row group slice at a
time, and a batch is written to a local spool file as it fills, so memory stays flat whatever
the source's size. A batch is UTF-8 CSV with the header on its first line, values quoted only
where CSV needs it; it never exceeds the byte limit it is given. This is the row-by-row way, with
the csv module; :mod:`~airflow_provider_pardot.files.arrow_batches` cuts the same batches with
Arrow when pyarrow is installed.

pyarrow is imported inside the functions that read Parquet only.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_pardot.files.streams import ChunkStream

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Sequence

FORMATS = ("csv", "parquet")
#: Files written beside a source by the import transfer; never read as part of a source.
ERRORS_SUFFIX = ".pardot-errors.csv"
#: Rows converted at once when reading Parquet.
PARQUET_SLICE_ROWS = 8192
#: Bytes read from a CSV source at once.
READ_CHUNK = 1 << 20
#: Rows encoded to CSV at once.
ENCODE_BLOCK_ROWS = 1000


@dataclass(frozen=True)
class SourceFile:
    """One file of an import's source, and how to read it."""

    path: ObjectStoragePath
    file_format: str

    @property
    def uri(self) -> str:
        from airflow_provider_pardot.files.storage import uri

        return uri(self.path)


def _format_of(path: ObjectStoragePath, file_format: str | None) -> str | None:
    if file_format is not None:
        return file_format
    suffix = path.name.rpartition(".")[2].lower()
    return suffix if suffix in FORMATS else None


def list_sources(
    source: str | ObjectStoragePath, conn_id: str | None, file_format: str | None
) -> list[SourceFile]:
    """
    The files of a source: the file itself, or a folder's ``*.csv`` / ``*.parquet`` files in name order.

    Hidden files (``.name``), ``_``-prefixed files (``_manifest.json``, ``_SUCCESS``) and error
    files written by earlier imports are left out. With ``file_format`` only files of that
    format are read from a folder.
    """
    if file_format is not None and file_format not in FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FORMATS)} or None, not {file_format!r}")
    path = (
        source
        if isinstance(source, ObjectStoragePath) and conn_id is None
        else ObjectStoragePath(str(source), conn_id=conn_id)
    )
    if path.is_file():
        found = _format_of(path, file_format)
        if found is None:
            raise ValueError(
                f"Cannot tell the format of {path.name}: name it .csv or .parquet, or set file_format."
            )
        return [SourceFile(path, found)]
    if not path.is_dir():
        return []
    files = []
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith((".", "_")) or name.endswith(ERRORS_SUFFIX) or not entry.is_file():
            continue
        suffix = name.rpartition(".")[2].lower()
        if suffix in FORMATS and (file_format is None or suffix == file_format):
            files.append(SourceFile(entry, suffix))
    return files


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
def _csv_records(handle: Any) -> Generator[list[str]]:
    # The storage's file object answers attribute lookups through a proxy: read it in 1 MiB
    # chunks through a plain buffered stream, not line by line through the proxy.
    chunks = iter(lambda: handle.read(READ_CHUNK), b"")
    text = io.TextIOWrapper(
        io.BufferedReader(ChunkStream(chunks), READ_CHUNK), encoding="utf-8-sig", newline=""
    )
    try:
        yield from csv.reader(text)
    finally:
        text.detach()


def read_header(source: SourceFile) -> tuple[list[str], bool]:
    """A file's column names, and whether it has at least one row (read without reading the file)."""
    if source.file_format == "parquet":
        import pyarrow.parquet as pq

        with source.path.open("rb") as handle:
            meta = pq.ParquetFile(handle).metadata
            return list(meta.schema.to_arrow_schema().names), meta.num_rows > 0
    with source.path.open("rb") as handle:
        records = _csv_records(handle)
        try:
            header = next(records, [])
            has_rows = any(any(cell for cell in record) for record in records)
        finally:
            records.close()
        return header, has_rows


def iter_rows(source: SourceFile) -> Iterator[Sequence[str]]:
    """Every row of a file after its header, as text (``""`` for a missing value)."""
    if source.file_format == "parquet":
        yield from _parquet_rows(source)
        return
    with source.path.open("rb") as handle:
        records = _csv_records(handle)
        try:
            next(records, None)
            yield from filter(None, records)  # an empty line is not a row
        finally:
            records.close()


def _as_text(column: Any) -> list[str]:
    """One Arrow column as CSV text: numbers as written (``1.0`` -> ``1``), booleans true/false."""
    from airflow_provider_pardot.files.parquet import text_column

    return text_column(column).to_pylist()


def _parquet_rows(source: SourceFile) -> Iterator[tuple[str, ...]]:
    import pyarrow.parquet as pq

    with source.path.open("rb") as handle:
        # read a column chunk at a time, on this thread: less held at once than pre-buffering a row group
        parquet = pq.ParquetFile(handle, pre_buffer=False, buffer_size=READ_CHUNK)
        for batch in parquet.iter_batches(batch_size=PARQUET_SLICE_ROWS, use_threads=False):
            yield from zip(*(_as_text(batch.column(i)) for i in range(batch.num_columns)), strict=True)


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------
class _Line:
    """A csv.writer target that keeps the one line just written."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


class CsvLines:
    """Encodes rows as CSV lines (UTF-8, quoted only where needed, ``\\n`` line ends)."""

    def __init__(self) -> None:
        self._line = _Line()
        self._writer = csv.writer(self._line, lineterminator="\n")

    def encode(self, row: Sequence[Any]) -> bytes:
        self._writer.writerow(row)
        return self._line.text.encode("utf-8")


@dataclass
class Batch:
    """One CSV batch, spooled to a local file: ``rows`` data rows, ``size`` bytes (header included)."""

    path: str
    rows: int
    size: int

    def open(self) -> BinaryIO:
        """The batch file, open for reading (the caller closes it)."""
        return open(self.path, "rb")


class BatchTooLarge(ValueError):
    """One row (with the header) is larger than a whole batch may be."""


def csv_batches(
    header: Sequence[str], rows: Iterable[Sequence[Any]], max_bytes: int, spool_dir: str
) -> Iterator[Batch]:
    """
    Cut ``rows`` into CSV batches of at most ``max_bytes`` each, written to files in ``spool_dir``.

    Every batch starts with ``header``. A batch file is complete when it is yielded, and is the
    caller's to keep or remove. Rows are encoded a block at a time (one ``writerows``), and one
    at a time only for the block that fills a batch.
    """
    writer = BatchWriter(CsvLines().encode(header), max_bytes, spool_dir)
    text = io.StringIO()
    block = csv.writer(text, lineterminator="\n")
    lines = CsvLines()
    try:
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, ENCODE_BLOCK_ROWS)):
            text.seek(0)
            text.truncate()
            block.writerows(chunk)
            data = text.getvalue().encode("utf-8")
            if writer.fits(data):
                writer.write(data, len(chunk))
                continue
            for row in chunk:
                done = writer.add(lines.encode(row))
                if done is not None:
                    yield done
        done = writer.close()
        if done is not None:
            yield done
    finally:
        writer.abandon()


class BatchWriter:
    """The batch file being filled: opened by the first row written, closed when the next does not fit."""

    def __init__(self, head: bytes, max_bytes: int, spool_dir: str) -> None:
        self.head, self.max_bytes, self.spool_dir = head, max_bytes, spool_dir
        self.number = self.size = self.rows = 0
        self.out: Any = None

    @property
    def is_open(self) -> bool:
        return self.out is not None

    def room(self) -> int:
        """The bytes that still fit in the open batch (in a new one when none is open)."""
        return self.max_bytes - (self.size if self.out is not None else len(self.head))

    def fits(self, data: bytes) -> bool:
        return self.out is not None and self.size + len(data) <= self.max_bytes

    def write(self, data: bytes | memoryview, rows: int) -> None:
        """Write ``rows`` whole rows that fit (see :meth:`room`), opening a batch when none is."""
        if self.out is None:
            self.number += 1
            self.out = open(os.path.join(self.spool_dir, f"batch-{self.number:06d}.csv"), "wb")  # noqa: SIM115
            self.out.write(self.head)
            self.size, self.rows = len(self.head), 0
        self.out.write(data)
        self.size += len(data)
        self.rows += rows

    def add(self, line: bytes) -> Batch | None:
        """Add one row; return the batch it closed, when it did not fit in the open one."""
        if len(self.head) + len(line) > self.max_bytes:
            raise BatchTooLarge(
                f"A row of {len(line):,} bytes does not fit in a batch of {self.max_bytes:,} bytes."
            )
        done = None
        if self.out is not None and not self.fits(line):
            done = self.close()
        self.write(line, 1)
        return done

    def close(self) -> Batch | None:
        if self.out is None:
            return None
        self.out.close()
        batch = Batch(self.out.name, self.rows, self.size)
        self.out = None
        return batch

    def abandon(self) -> None:
        if self.out is not None:
            self.out.close()


_DONE = object()


def ahead(items: Iterable[Any], depth: int = 1) -> Iterator[Any]:
    """
    Yield ``items``, made in a background thread up to ``depth`` ahead of the consumer.

    The next batch is converted while the current one is uploaded. An error in the producer is
    raised to the consumer; a consumer that stops early stops the producer.
    """
    import queue
    import threading

    made: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        made.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            made.put((_DONE, None))
        except BaseException as err:  # handed to the consumer
            made.put((_DONE, err))

    thread = threading.Thread(target=produce, name="pardot-import-batches", daemon=True)
    thread.start()
    try:
        while True:
            item, error = made.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                made.get_nowait()
            except queue.Empty:
                thread.join(0.05)


class Spool:
    """A local folder for an import's batches while they are uploaded (removed by :meth:`close`)."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="pardot-import-")

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
