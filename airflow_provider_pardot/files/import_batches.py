"""
Reading an import's source (CSV or Parquet files on any object storage) and cutting CSV batches.

Everything streams: a CSV file is read record by record, a Parquet file a row group slice at a
time, and a batch is written to a local spool file as it fills, so memory stays flat whatever
the source's size. A batch is UTF-8 CSV with the header on its first line, values quoted only
where CSV needs it; it never exceeds the byte limit it is given.

pyarrow is imported inside the functions that read Parquet only.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import ObjectStoragePath

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Sequence

FORMATS = ("csv", "parquet")
#: Files written beside a source by the import transfer; never read as part of a source.
ERRORS_SUFFIX = ".pardot-errors.csv"
#: Rows converted at once when reading Parquet.
PARQUET_SLICE_ROWS = 8192


@dataclass(frozen=True)
class SourceFile:
    """One file of an import's source, and how to read it."""

    path: ObjectStoragePath
    file_format: str

    @property
    def uri(self) -> str:
        from airflow_provider_pardot.utils.storage import uri

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
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
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


def iter_rows(source: SourceFile) -> Iterator[list[str]]:
    """Every row of a file after its header, as text (``""`` for a missing value)."""
    if source.file_format == "parquet":
        yield from _parquet_rows(source)
        return
    with source.path.open("rb") as handle:
        records = _csv_records(handle)
        try:
            next(records, None)
            for record in records:
                if any(cell for cell in record):  # blank lines are not rows
                    yield record
        finally:
            records.close()


def _as_text(column: Any) -> list[str]:
    """One Arrow column as CSV text: numbers as written (``1.0`` -> ``1``), booleans true/false."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(column.type):
        whole = pc.equal(column, pc.floor(column))
        integral = pc.cast(pc.cast(column, pa.int64(), safe=False), pa.string())
        column = pc.if_else(pc.fill_null(whole, False), integral, pc.cast(column, pa.string()))
    elif pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z")
    elif not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            import json

            return ["" if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
    return ["" if v is None else v for v in column.to_pylist()]


def _parquet_rows(source: SourceFile) -> Iterator[list[str]]:
    import pyarrow.parquet as pq

    with source.path.open("rb") as handle:
        parquet = pq.ParquetFile(handle)
        for batch in parquet.iter_batches(batch_size=PARQUET_SLICE_ROWS):
            columns = [_as_text(batch.column(i)) for i in range(batch.num_columns)]
            yield from (list(row) for row in zip(*columns, strict=True))


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

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read()


class BatchTooLarge(ValueError):
    """One row (with the header) is larger than a whole batch may be."""


def csv_batches(
    header: Sequence[str], rows: Iterable[Sequence[Any]], max_bytes: int, spool_dir: str
) -> Iterator[Batch]:
    """
    Cut ``rows`` into CSV batches of at most ``max_bytes`` each, written to files in ``spool_dir``.

    Every batch starts with ``header``. A batch file is complete when it is yielded, and is the
    caller's to keep or remove.
    """
    lines = CsvLines()
    head = lines.encode(header)
    number = 0
    out = None
    size = count = 0
    try:
        for row in rows:
            line = lines.encode(row)
            if len(head) + len(line) > max_bytes:
                raise BatchTooLarge(
                    f"A row of {len(line):,} bytes does not fit in a batch of {max_bytes:,} bytes."
                )
            if out is not None and size + len(line) > max_bytes:
                out.close()
                yield Batch(out.name, count, size)
                out = None
            if out is None:
                number += 1
                out = open(os.path.join(spool_dir, f"batch-{number:06d}.csv"), "wb")  # noqa: SIM115
                out.write(head)
                size, count = len(head), 0
            out.write(line)
            size += len(line)
            count += 1
        if out is not None:
            out.close()
            yield Batch(out.name, count, size)
            out = None
    finally:
        if out is not None:
            out.close()


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
