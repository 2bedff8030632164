"""PardotQueryToObjectStorageOperator on Pardot API v5 object names, over real HTTP."""

from __future__ import annotations

import csv
import io
import json

import pytest

from airflow_provider_pardot.api.v5 import V5_OBJECTS
from airflow_provider_pardot.exceptions import PardotValidationError
from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotQueryToObjectStorageOperator


def _op(dest, **kw) -> PardotQueryToObjectStorageOperator:
    return PardotQueryToObjectStorageOperator(task_id="query_v5", dest=str(dest), **kw)


def _v5(emulator) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].startswith("/api/v5/objects/")]


def test_csv_header_is_the_fields_asked_in_order(pardot, tmp_path, context):
    pardot.seed(list=2300)
    fields = ["name", "isDynamic", "createdAt", "id"]
    _op(f"file://{tmp_path}", object_name="lists", fields=fields, concurrency=3, file_format="csv").execute(
        context
    )
    rows = list(csv.reader(io.StringIO((tmp_path / "part-00000.csv").read_text())))
    assert rows[0] == fields
    ids = [int(r[3]) for r in rows[1:]]
    assert sorted(ids) == sorted(pardot.records("list"))
    assert len(ids) == len(set(ids))
    assert {r[1] for r in rows[1:]} <= {"true", "false"}
    assert len(_v5(pardot)) <= 3 + 7


def test_default_fields_and_no_record(pardot, tmp_path, context):
    """With nothing matching, the CSV still has its header: the object's standard fields."""
    _op(
        f"file://{tmp_path}",
        object_name="lifecycle-histories",
        criteria={"createdAtAfter": "2100-01-01T00:00:00+00:00"},
        file_format="csv",
    ).execute(context)
    rows = list(csv.reader(io.StringIO((tmp_path / "part-00000.csv").read_text())))
    assert rows == [list(V5_OBJECTS["lifecycle-histories"].fields)]
    assert json.loads((tmp_path / "_manifest.json").read_text())["total_rows"] == 0


def test_templated_fields_and_jsonl(pardot, tmp_path, context):
    op = _op(f"file://{tmp_path}", object_name="list-memberships", fields=["id", "listId"], concurrency=2)
    assert "fields" in op.template_fields
    assert op.pool_slots == 2  # its requests in flight, as the export transfer's downloads
    op.execute(context)
    lines = [json.loads(line) for line in (tmp_path / "part-00000.jsonl").read_text().splitlines()]
    assert [list(r) for r in lines[:1]] == [["id", "listId"]]
    assert len(lines) == len(pardot.records("listMembership"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"object_name": "lists", "criteria": {"updated_after": "2024-01-01"}}, "camelCase"),
        ({"object_name": "lists", "fields": ["nope"]}, "not a field of lists"),
        ({"object_name": "lists", "concurrency": 9}, "from 1 to 5"),
        ({"object_name": "list", "fields": ["id"]}, "v5 object names only"),
    ],
)
def test_refused_before_anything(pardot, tmp_path, context, kwargs, match):
    with pytest.raises(PardotValidationError, match=match):
        _op(f"file://{tmp_path}/q", **kwargs).execute(context)
    assert pardot.requests() == []
    assert not (tmp_path / "q").exists()
