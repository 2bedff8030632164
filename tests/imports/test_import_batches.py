"""The two ways of cutting batches (Arrow a column at a time, the csv module a row at a time) make the same bytes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_pardot.api import imports as import_rules
from airflow_provider_pardot.files import arrow_batches
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator, _Rejects

pytest.importorskip("pyarrow")

COLUMNS = {"email": ["email", "matchEmail"], "first_name": "firstName", "campaign_id": "campaignId"}
#: awkward but valid CSV: quotes, commas and line ends in values, a BOM, CRLF line ends, blank and
#: whitespace-only match values, rows of the wrong width, an empty line, text that is not ASCII
TRICKY = (
    "\ufeffemail,first_name,company,campaign_id\r\n"
    'a@x.example,Ann,"Acme, Inc.",1001\r\n'
    'b@x.example,"Bo ""The Boss""",Globex,1001\r\n'
    'c@x.example,"two\nlines",Initech,1001\r\n'
    ",No,Match,1001\r\n"
    " \t,Space,Only,1001\r\n"
    "d@x.example,Dörte,Ümlaut GmbH,1001\r\n"
    "e@x.example,Short,1001\r\n"
    "f@x.example,Long,Co,1001,extra\r\n"
    "\r\n"
    " g@x.example ,  padded  ,,1001\r\n"
    "h@x.example,\u3000,\u00a0,\r\n"
)


def _batches(source: Path, arrow: bool, monkeypatch, **kw) -> tuple[list[bytes], list[str], int]:
    monkeypatch.setattr(arrow_batches, "available", lambda: arrow)
    op = ObjectStorageToPardotOperator(
        task_id="t", source=str(source), columns=COLUMNS, create_on_no_match=True, **kw
    )
    plan = op._plan()
    rejects = _Rejects(plan.header)
    spool = source.parent / ("arrow" if arrow else "rows")
    spool.mkdir()
    try:
        made = list(op._batches(plan, rejects, str(spool)))
        refused = sorted(line.decode() for line in rejects.lines())  # in the order each way meets them
    finally:
        rejects.close()
    assert all(b.size == len(Path(b.path).read_bytes()) for b in made)
    return [Path(b.path).read_bytes() for b in made], refused, sum(b.rows for b in made)


@pytest.mark.parametrize(
    "lists",
    [
        {"add_to_lists": [30002]},
        {"add_to_lists": [30002, 30005], "remove_from_lists": [30006]},
        {},
    ],
    ids=["one list", "several lists", "no list"],
)
@pytest.mark.parametrize("max_bytes", [10_000_000, 160], ids=["one batch", "many batches"])
def test_csv_source_same_batches_either_way(tmp_path, monkeypatch, lists, max_bytes):
    monkeypatch.setattr(import_rules, "MAX_BATCH_BYTES", max_bytes)
    source = tmp_path / "tricky.csv"
    source.write_bytes(TRICKY.encode("utf-8"))

    by_arrow = _batches(source, True, monkeypatch, **lists)
    by_rows = _batches(source, False, monkeypatch, **lists)

    assert by_arrow == by_rows
    batches, refused, rows = by_arrow
    assert all(len(b) <= max_bytes for b in batches)
    assert len(refused) == 4  # two blank match values, two rows of the wrong width
    sent = b"".join(batches)
    assert b'"Acme, Inc."' in sent
    assert b'"Bo ""The Boss"""' in sent
    assert b'"two\nlines"' in sent


def test_parquet_source_same_batches_either_way(tmp_path, monkeypatch):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(import_rules, "MAX_BATCH_BYTES", 200)
    table = pa.table(
        {
            "email": ["a@x.example", None, "c@x.example", "  ", "e@x.example"],
            "first_name": ['Ann "A"', "B", None, "D", "multi\nline"],
            "campaign_id": pa.array([1001.0, 1001.0, 2.5, None, 7.0], pa.float64()),
            "score__c": pa.array([1, None, 3, 4, 5], pa.int64()),
            "active__c": [True, False, None, True, False],
            "seen__c": pa.array(
                [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)] * 5, pa.timestamp("s", "UTC")
            ),
        }
    )
    source = tmp_path / "aud.parquet"
    pq.write_table(table, source, row_group_size=2)

    by_arrow = _batches(source, True, monkeypatch, add_to_lists=[30002, 30005])
    by_rows = _batches(source, False, monkeypatch, add_to_lists=[30002, 30005])

    assert by_arrow == by_rows
    assert len(by_arrow[1]) == 2  # a null and a blank match value
    assert by_arrow[2] == 6  # three records, two rows each (two lists)
    assert b",2024-01-02T03:04:05" in b"".join(by_arrow[0])


def test_converting_with_arrow_does_not_import_pandas(tmp_path):
    """pyarrow converts Python values through its pandas support, which would load pandas (a second, tens of MiB)."""
    source = tmp_path / "tricky.csv"
    source.write_bytes(TRICKY.encode("utf-8"))
    script = textwrap.dedent(
        f"""
        import sys
        from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator, _Rejects
        op = ObjectStorageToPardotOperator(task_id="t", source={str(source)!r}, columns={COLUMNS!r},
                                           create_on_no_match=True, add_to_lists=[30002, 30005])
        plan = op._plan()
        made = list(op._batches(plan, _Rejects(plan.header), {str(tmp_path)!r}))
        print(len(made), "pyarrow" in sys.modules, "pandas" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-3:] == ["1", "True", "False"]


@pytest.mark.parametrize("arrow", [True, False], ids=["arrow", "rows"])
def test_a_row_larger_than_a_batch_is_refused_either_way(tmp_path, monkeypatch, arrow):
    from airflow_provider_pardot.files.import_batches import BatchTooLarge

    monkeypatch.setattr(import_rules, "MAX_BATCH_BYTES", 120)
    source = tmp_path / "wide.csv"
    source.write_text(
        f"email,first_name,company,campaign_id\na@x.example,A,B,1001\nb@x.example,{'B' * 200},C,1001\n"
    )

    with pytest.raises(BatchTooLarge, match="does not fit in a batch of 120 bytes"):
        _batches(source, arrow, monkeypatch, add_to_lists=[30002])
