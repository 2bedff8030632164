"""
CSV batches made by Arrow: a source read a block at a time, each batch's text built a column at a time.

The per-row path (:func:`~airflow_provider_pardot.files.import_batches.csv_batches`) spends a few
microseconds of Python on every row: the csv module parses it, the row is reshaped, the csv
module writes it. Here Arrow's C++ code does all three for a block of rows at once: a CSV file is
parsed by Arrow's CSV reader (all columns as text), a Parquet file is read in record batches, the
values that need it are quoted, and the cells of a row are joined into its line. Python only picks
where a batch ends (a binary search over the lines' offsets) and writes whole runs of lines.

The bytes are those :func:`~airflow_provider_pardot.files.import_batches.csv_batches` writes:
values quoted only where CSV needs it (a comma, a quote, a line end), quotes doubled, ``\\n``
line ends, so either path makes the same batches. A record bound for several lists is several
lines kept in one batch.

Used when pyarrow is installed (it is an extra) and every row of a record gets the same list
cells. Rows that may not be sent as they are (a blank match value, or the wrong number of values)
are handed to ``refuse``, which reports them or returns the rows to send in their place.
pyarrow is imported inside the functions that need it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.files.import_batches import (
    PARQUET_SLICE_ROWS,
    BatchTooLarge,
    BatchWriter,
    CsvLines,
)
from airflow_provider_pardot.files.parquet import repeated, text_column

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from airflow_provider_pardot.files.import_batches import Batch, SourceFile

    #: a source row that is not sent as it is, and the file it is in -> the rows to send instead
    Refuse = Callable[[list[str], SourceFile], list[list[str]]]

#: Bytes of a CSV source parsed at once. Arrow's reader holds several blocks while it parses
#: one: 1 MiB blocks put the task's peak 30-40 MiB higher than these, for the same speed.
CSV_BLOCK = 256 << 10
#: The characters that make the csv module quote a value.
_NEEDS_QUOTES = '[,"\\r\\n]'
#: A value of only these is blank: the characters :meth:`str.strip` removes (RE2 syntax).
_BLANK = (
    "^[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]*$"
)


@dataclass(frozen=True)
class RowLayout:
    """
    Where each cell of an import row comes from, when every record gets the same list cells.

    :param width: the number of columns of the source
    :param fields: the source column of each field column, in the header's order
    :param match: the match column's place among ``fields``
    :param tails: the list cells of each row of a record, after its fields: a record is
        ``len(tails)`` rows, the later ones carrying only the match value and their list cells
    """

    width: int
    fields: tuple[int, ...]
    match: int
    tails: tuple[tuple[str, ...], ...]


def available() -> bool:
    """Whether pyarrow is installed (found without importing it)."""
    import importlib.util

    return importlib.util.find_spec("pyarrow") is not None


def arrow_batches(
    files: Iterable[SourceFile],
    layout: RowLayout,
    header: Sequence[str],
    max_bytes: int,
    spool_dir: str,
    refuse: Refuse,
) -> Iterator[Batch]:
    """
    Cut the rows of ``files`` into CSV batches of at most ``max_bytes`` each, written to files in ``spool_dir``.

    As :func:`~airflow_provider_pardot.files.import_batches.csv_batches`, with the rows made from
    the source's columns by ``layout``.

    Arrow allocates from the system's allocator meanwhile: its default pool (mimalloc or
    jemalloc) keeps the pages it freed for reuse, which put the task's peak about 25 MiB higher.
    """
    import pyarrow as pa

    writer = BatchWriter(CsvLines().encode(header), max_bytes, spool_dir)
    lines = CsvLines()
    pool = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        for source in files:
            for block, wrong in _blocks(source, layout.width):
                keep, blank = _sendable(block, layout.fields[layout.match])
                for row in (*wrong, *blank):
                    for shaped in refuse(row, source):
                        if (done := writer.add(lines.encode(shaped))) is not None:
                            yield done
                if keep is not None and len(keep):
                    yield from _write(writer, _lines(keep, layout), len(layout.tails))
                del block, keep
        if (done := writer.close()) is not None:
            yield done
    finally:
        writer.abandon()
        pa.set_memory_pool(pool)


def _blocks(source: SourceFile, width: int) -> Iterator[tuple[Any, list[list[str]]]]:
    """A file's rows as record batches of text columns (``""`` for a missing value), and its rows of the wrong width."""
    if source.file_format == "parquet":
        for block in _parquet_blocks(source):
            yield block, []
        return
    bad: list[list[str]] = []
    with source.path.open("rb") as handle:
        for block in _csv_reader(handle, width, bad):
            yield block, bad[:]
            bad.clear()
        if bad:
            yield None, bad


def _csv_reader(handle: Any, width: int, bad: list[list[str]]) -> Any:
    """Arrow's streaming CSV reader over ``handle``: every column text, rows of the wrong width put in ``bad``."""
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    def odd(row: Any) -> str:
        bad.append(next(csv.reader(io.StringIO(row.text, newline="")), []))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    return pa_csv.open_csv(
        handle,
        read_options=pa_csv.ReadOptions(
            column_names=names, skip_rows=1, block_size=CSV_BLOCK, use_threads=False
        ),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=odd),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _parquet_blocks(source: SourceFile) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with source.path.open("rb") as handle:
        # a column chunk read whole when its pages are decoded, on this thread: less held at once
        # than pre-buffering a row group, or than 1 MiB read buffers (about 15 MiB less at the peak)
        parquet = pq.ParquetFile(handle, pre_buffer=False, buffer_size=0)
        for batch in parquet.iter_batches(batch_size=PARQUET_SLICE_ROWS, use_threads=False):
            columns = [text_column(batch.column(i)) for i in range(batch.num_columns)]
            yield pa.RecordBatch.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])


def _sendable(block: Any, match: int) -> tuple[Any, list[list[str]]]:
    """The rows of ``block`` with a match value, and the others (as text rows)."""
    import pyarrow.compute as pc

    if block is None:
        return None, []
    blank = pc.match_substring_regex(block.column(match), pattern=_BLANK)
    if not pc.any(blank).as_py():
        return block, []
    odd = block.filter(blank)
    rows = [list(row) for row in zip(*(c.to_pylist() for c in odd.columns), strict=True)]
    return block.filter(pc.invert(blank)), rows


def _quoted(column: Any) -> Any:
    """Text as the csv module writes it: in quotes (quotes doubled) only when it holds a comma, a quote or a line end."""
    import pyarrow.compute as pc

    data = column.buffers()[2]
    text = b"" if data is None else data.to_pybytes()
    if not any(mark in text for mark in (b",", b'"', b"\r", b"\n")):
        return column  # none in the column's text: a scan in C, faster than a search of each value
    needs = pc.match_substring_regex(column, pattern=_NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    some = pc.replace_substring(pc.filter(column, needs), pattern='"', replacement='""')
    mark = repeated('"', len(some))
    return pc.replace_with_mask(
        column, needs, pc.binary_join_element_wise(mark, some, mark, repeated("", len(some)))
    )


def _lines(block: Any, layout: RowLayout) -> Any:
    """One string a record: its rows' CSV lines, each ending with ``\\n``."""
    import pyarrow.compute as pc

    count = len(block)
    cells = [_quoted(block.column(i)) for i in layout.fields]
    last = len(cells) - 1
    comma, nothing = repeated(",", count), repeated("", count)
    first = pc.binary_join_element_wise(*cells, comma) if len(cells) > 1 else cells[0]
    rows = [pc.binary_join_element_wise(first, repeated(_tail(layout.tails[0]), count), nothing)]
    for tail in layout.tails[1:]:  # the match value, then the list cells
        before, after = "," * layout.match, "," * (last - layout.match) + _tail(tail)
        rows.append(
            pc.binary_join_element_wise(
                repeated(before, count), cells[layout.match], repeated(after, count), nothing
            )
        )
    return rows[0] if len(rows) == 1 else pc.binary_join_element_wise(*rows, nothing)


def _tail(cells: tuple[str, ...]) -> str:
    """What follows a row's fields: its list cells (ids need no quotes), then the line end."""
    return "".join(f",{cell}" for cell in cells) + "\n"


def _write(writer: BatchWriter, lines: Any, rows_each: int) -> Iterator[Batch]:
    """Write ``lines`` (one string a record) to batches, a record never split between two."""
    import pyarrow as pa

    if lines.type != pa.string():
        lines = lines.cast(pa.string())
    _, offsets, data = lines.buffers()
    ends = memoryview(offsets).cast("i")[lines.offset : lines.offset + len(lines) + 1]
    text = memoryview(data)
    first, count = 0, len(lines)
    while first < count:
        limit = ends[first] + writer.room()
        last = bisect.bisect_right(ends, limit, first, count + 1) - 1  # lines first..last-1 fit
        if last > first:
            writer.write(text[ends[first] : ends[last]], (last - first) * rows_each)
            first = last
        elif writer.is_open:
            yield writer.close()  # type: ignore[misc]
        else:
            raise BatchTooLarge(
                f"A row of {ends[first + 1] - ends[first]:,} bytes does not fit in a batch of "
                f"{writer.max_bytes:,} bytes."
            )
