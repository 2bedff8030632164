"""ObjectStorageToPardotOperator end to end: local files and S3 (moto) into the emulator's prospects and lists."""

from __future__ import annotations

import csv
import io

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from import_helpers import (
    CAMPAIGN,
    LIST_A,
    LIST_B,
    api_log,
    audience,
    by_email,
    imports_of,
    members,
    write_csv,
)

from airflow_provider_pardot.api import imports as import_rules
from airflow_provider_pardot.exceptions import PardotImportError
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

HEADER = ["email", "first_name", "last_name", "campaign_id"]
COLUMNS = {
    "email": ["email", "matchEmail"],
    "first_name": "firstName",
    "last_name": "lastName",
    "campaign_id": "campaignId",
}


def _op(source, **kw) -> ObjectStorageToPardotOperator:
    kw.setdefault("columns", COLUMNS)
    kw.setdefault("create_on_no_match", True)
    return ObjectStorageToPardotOperator(task_id="import", source=str(source), poll_interval=0.01, **kw)


def _ids(emulator, emails) -> set[int]:
    people = by_email(emulator)
    return {people[e.lower()][0]["id"] for e in emails}


def test_csv_into_a_list_then_a_rerun_changes_nothing(pardot, tmp_path, context):
    rows = audience(25)
    source = write_csv(tmp_path / "audience.csv", HEADER, rows)
    before = len(by_email(pardot))

    result = _op(source, add_to_lists=[LIST_A]).execute(context)

    assert result == {
        "import_ids": [result["import_ids"][0]],
        "rows": 25,
        "created": 25,
        "updated": 0,
        "errors": 0,
        "errors_uri": None,
    }
    people = by_email(pardot)
    assert len(people) == before + 25
    assert all(len(people[r[0]]) == 1 for r in rows)
    assert people[rows[3][0]][0]["first_name"] == "First3"
    assert _ids(pardot, [r[0] for r in rows]) <= members(pardot, LIST_A)
    # create, one batch, submit, one read: four calls for the whole audience
    assert [r["method"] for r in api_log(pardot, "/api/v5/imports")] == ["POST", "POST", "PATCH", "GET"]
    assert not (tmp_path / "audience.pardot-errors.csv").exists()

    again = _op(source, add_to_lists=[LIST_A]).execute(context)
    assert (again["created"], again["updated"], again["errors"]) == (0, 25, 0)
    assert len(by_email(pardot)) == before + 25  # matched, not created again


def test_parquet_folder_several_lists_and_removal(pardot, tmp_path, context):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "aud"
    folder.mkdir()
    people = audience(10)
    for n, part in enumerate((people[:6], people[6:])):
        table = pa.table({k: [p[i] for p in part] for i, k in enumerate(HEADER)})
        pq.write_table(table, folder / f"part-{n}.parquet")
    (folder / "_SUCCESS").write_text("")

    result = _op(folder, add_to_lists=[LIST_A, LIST_B]).execute(context)

    # one record bound for two lists is two rows: the second carries only the match column and a list
    assert (result["rows"], result["created"], result["errors"]) == (20, 10, 0)
    ids = _ids(pardot, [p[0] for p in people])
    assert ids <= members(pardot, LIST_A)
    assert ids <= members(pardot, LIST_B)
    assert {by_email(pardot)[p[0]][0]["campaign_id"] for p in people} == {CAMPAIGN}

    removed = _op(folder, remove_from_lists=[LIST_B], create_on_no_match=False).execute(context)
    assert (removed["rows"], removed["updated"], removed["errors"]) == (10, 10, 0)
    assert not ids & members(pardot, LIST_B)
    assert ids <= members(pardot, LIST_A)


def test_rejected_rows_are_written_with_the_reason_and_the_rate_fails_the_task(pardot, tmp_path, context):
    rows = [*audience(8), ["not-an-email", "Bad", "Row", CAMPAIGN], ["", "No", "Match", CAMPAIGN]]
    source = write_csv(tmp_path / "in" / "audience.csv", HEADER, rows)

    with pytest.raises(PardotImportError) as err:
        _op(source).execute(context)
    assert isinstance(err.value, AirflowFailException)  # a data problem: no retry
    assert "2 of 10 rows" in str(err.value)
    errors_file = tmp_path / "in" / "audience.pardot-errors.csv"
    written = list(csv.DictReader(io.StringIO(errors_file.read_text())))
    assert [r["email"] for r in written] == ["", "not-an-email"]  # refused before sending, then Pardot's
    assert "blank matchEmail" in written[0]["error"]
    assert written[0]["importId"] == ""
    assert "Invalid Email" in written[1]["error"]
    assert written[1]["importId"].isdigit()
    assert len(by_email(pardot)) >= 8  # the good rows were imported all the same

    result = _op(
        source, max_error_rate=0.25, errors_destination=str(tmp_path / "out" / "rejects.csv")
    ).execute(context)
    assert (result["rows"], result["errors"], result["created"], result["updated"]) == (10, 2, 0, 8)
    assert result["errors_uri"] == f"file://{tmp_path}/out/rejects.csv"


def test_many_rows_become_several_batches_and_imports(pardot, tmp_path, context, monkeypatch):
    monkeypatch.setattr(import_rules, "MAX_BATCH_BYTES", 2_000)
    monkeypatch.setattr(import_rules, "MAX_BATCHES_PER_IMPORT", 3)
    rows = audience(300)
    source = write_csv(tmp_path / "big.csv", HEADER, rows)

    result = _op(source).execute(context)

    assert result["created"] == 300
    held = imports_of(pardot)
    assert [i["id"] for i in held] == result["import_ids"]
    assert all(i["batches"] <= 3 and i["status"] == "Complete" for i in held)
    assert len(held) >= 5
    log = api_log(pardot, "/api/v5/imports")
    batches = sum(1 for r in log if r["path"].endswith("/batches"))
    reads = sum(1 for r in log if r["method"] == "GET")
    # calls = imports x (create + submit) + batches + status reads
    assert len(log) == len(held) * 2 + batches + reads
    assert batches == sum(i["batches"] for i in held)
    assert len(by_email(pardot)) >= 300


def test_s3_source_to_s3_errors(pardot, s3_bucket, context):
    import boto3

    body = io.StringIO()
    writer = csv.writer(body)
    writer.writerow(HEADER)
    writer.writerows([*audience(5, domain="s3.example.com"), ["bad", "B", "R", CAMPAIGN]])
    client = boto3.client("s3", endpoint_url=_moto_url(), region_name="us-east-1")
    client.put_object(
        Bucket=s3_bucket, Key="audiences/2025-01-01/audience.csv", Body=body.getvalue().encode()
    )

    result = _op(
        f"s3://{s3_bucket}/audiences/2025-01-01/",
        source_conn_id="aws_test",
        add_to_lists=[LIST_A],
        max_error_rate=0.5,
    ).execute(context)

    assert (result["created"], result["errors"]) == (5, 1)
    assert result["errors_uri"] == f"s3://{s3_bucket}/audiences/2025-01-01.pardot-errors.csv"
    got = client.get_object(Bucket=s3_bucket, Key="audiences/2025-01-01.pardot-errors.csv")["Body"].read()
    assert b"Invalid Email" in got
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert not [k for k in keys if k.endswith(".tmp")]


def _moto_url() -> str:
    import json
    import os

    return json.loads(os.environ["AIRFLOW_CONN_AWS_TEST"])["extra"]["endpoint_url"]


def test_deferrable_waits_in_the_trigger(pardot, tmp_path, context):
    import asyncio

    source = write_csv(tmp_path / "audience.csv", HEADER, audience(3))
    op = _op(source, deferrable=True, add_to_lists=[LIST_A])
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    trigger = deferred.value.trigger
    assert trigger.serialize()[0] == "airflow_provider_pardot.triggers.imports.PardotImportTrigger"
    trigger.jitter = False

    async def first():
        async for event in trigger.run():
            return event

    event = asyncio.run(first())
    assert event.payload["status"] == "success"
    fresh = _op(source, deferrable=True, add_to_lists=[LIST_A])
    result = fresh.execute_complete(context, event.payload)
    assert (result["rows"], result["created"], result["errors"]) == (3, 3, 0)


def test_restore_deleted_brings_back_recycled_prospects(pardot, tmp_path, context):
    recycled = pardot.records("prospect")[:2]
    pardot.mutate("prospect", delete=recycled)
    source = write_csv(
        tmp_path / "back.csv", ["prospect_id", "last_name"], [[i, "Restored"] for i in recycled]
    )
    columns = {"prospect_id": "matchId", "last_name": "lastName"}

    refused = _op(source, columns=columns, create_on_no_match=False, max_error_rate=1).execute(context)
    assert (refused["updated"], refused["errors"]) == (0, 2)
    errors = list(csv.DictReader(io.StringIO((tmp_path / "back.pardot-errors.csv").read_text())))
    assert all("Archived" in e["error"] for e in errors)

    restored = _op(source, columns=columns, create_on_no_match=False, restore_deleted=True).execute(context)
    assert (restored["updated"], restored["errors"]) == (2, 0)
    assert set(recycled) <= set(pardot.records("prospect"))


def test_without_waiting_returns_the_submitted_imports(pardot, tmp_path, context):
    source = write_csv(tmp_path / "audience.csv", HEADER, audience(4))
    result = _op(source, wait_for_completion=False).execute(context)
    assert (result["rows"], result["created"], result["errors"]) == (4, None, None)
    assert [i["id"] for i in imports_of(pardot)] == result["import_ids"]
    assert [r["method"] for r in api_log(pardot, "/api/v5/imports")] == ["POST", "POST", "PATCH"]
