"""
Parquet conversions for the transfers: a CSV byte stream, or spooled query records, to Parquet;
and back: Arrow columns as CSV text.

pandas and pyarrow are imported inside the functions only, so importing this module (and so
parsing a DAG) stays light.
"""

from __future__ import annotations

import functools
import io
import json
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pardot.files.streams import ChunkStream

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_pardot.files.streams import CountingWriter

#: Rows per pandas chunk when converting CSV to Parquet (bounded memory).
PARQUET_CHUNK_ROWS = 20_000


def csv_to_parquet(
    chunks: Iterator[bytes], out: CountingWriter, state: dict[str, Any] | None, *, keep_open: bool = False
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
        io.BufferedReader(ChunkStream(chunks), buffer_size=1 << 20),
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


def kind(value: Any) -> str:
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


def csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def records_to_parquet(
    records: Iterator[dict[str, Any]], names: list[str], kinds: dict[str, set[str]], out: CountingWriter
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


def text_column(column: Any) -> Any:
    """One Arrow column as CSV text (``""`` for null): numbers as written (``1.0`` -> ``1``), booleans true/false."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(column.type):
        whole = pc.equal(column, pc.floor(column))
        integral = pc.cast(pc.cast(column, pa.int64(), safe=False), pa.string())
        column = pc.if_else(pc.fill_null(whole, False), integral, pc.cast(column, pa.string()))
    elif pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S%z")
    elif not pa.types.is_string(column.type):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            import json

            column = pa.array(
                ["" if v is None else json.dumps(v, default=str) for v in column.to_pylist()], pa.string()
            )
    return pc.fill_null(column, repeated("", 1)[0])  # a scalar taken from an array: see repeated()


@functools.lru_cache(maxsize=32)
def repeated(text: str, count: int) -> Any:
    """A string array of ``count`` times ``text``, built from its buffers.

    Not ``pa.repeat(pa.scalar(text))``: pyarrow converts a Python value through its pandas
    support, which imports pandas (over a second and tens of MiB) when it is installed.
    """
    import array

    import pyarrow as pa

    data = text.encode("utf-8")
    offsets = array.array("i", range(0, (count + 1) * len(data), len(data)) if data else [0] * (count + 1))
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data * count)]
    )
