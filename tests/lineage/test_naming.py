"""The lineage naming and the pieces behind it, without a DAG run: the ``pardot`` asset scheme as
Airflow and the OpenLineage provider read it, the CSV header read on the way, and the export's
object found upstream."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from airflow.providers.common.compat.sdk import DAG, Asset, ObjectStoragePath
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from airflow_provider_pardot.lineage.openlineage import (
    CsvColumns,
    Delivery,
    delivery_lineage,
    storage_name,
)
from airflow_provider_pardot.transfers.pardot_to_object_storage import upstream_export_object

BU = "0Uv000000000001AAA"


def test_a_pardot_asset_becomes_the_openlineage_dataset_of_its_object():
    """The provider registers the ``pardot`` scheme: Airflow checks the URI, OpenLineage converts it."""
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    dataset = translate_airflow_asset(Asset(f"pardot://{BU}/visitorActivity"), None)
    assert (dataset.namespace, dataset.name) == (f"pardot://{BU}", "visitorActivity")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("pardot:///visitorActivity", "must contain a business unit id"),
        (f"pardot://{BU}", "must name one object"),
        (f"pardot://{BU}/lists/extra", "must name one object"),
    ],
)
def test_a_malformed_pardot_asset_uri_is_refused(uri, message):
    if AIRFLOW_V_3_0_PLUS:
        with pytest.raises(ValueError, match=message):
            Asset(uri)
    else:  # Airflow 2.11 warns about a URI its scheme's handler refuses
        with pytest.warns(UserWarning, match=message):
            Asset(uri)


@pytest.mark.parametrize(
    ("dest", "expected"),
    [
        (
            "s3://bucket/pardot/visitor_activity/date=2025-01-01/",
            ("s3://bucket", "pardot/visitor_activity/date=2025-01-01"),
        ),
        ("file:///data/pardot/lists", ("file", "data/pardot/lists")),
    ],
)
def test_destinations_are_named_as_airflow_names_object_storage_paths(dest, expected):
    assert storage_name(ObjectStoragePath(dest)) == expected
    # the store's connection is no part of the name (Airflow 2.11 keeps it in the bucket)
    assert storage_name(ObjectStoragePath(dest, conn_id="aws_test")) == expected


def _through(chunks: list[bytes]) -> tuple[list[str] | None, bytes]:
    columns = CsvColumns()
    passed = b"".join(columns.watch(iter(chunks)))
    return columns.columns, passed


@pytest.mark.parametrize(
    "chunks",
    [
        [b'id,"type, name","det\nails"\n1,a,b\n'],
        [b'id,"type, na', b'me","det\n', b'ails"\n1,a,b\n'],  # the header across chunks
        [b'\xef\xbb\xbfid,"type, name","det\nails"\r\n1,a,b\r\n'],  # byte order mark, CRLF
        [b'id,"type, name","det\nails"'],  # a header-only file without its newline
    ],
)
def test_the_csv_header_is_read_on_the_way_and_the_bytes_pass_unchanged(chunks):
    columns, passed = _through(chunks)
    assert columns == ["id", "type, name", "det\nails"]
    assert passed == b"".join(chunks)


def test_the_first_header_wins():
    columns = CsvColumns()
    for chunks in ([b"a,b\n1,2\n"], [b"c,d\n3,4\n"]):
        list(columns.watch(iter(chunks)))
    assert columns.columns == ["a", "b"]


def test_a_failed_transfer_reports_its_input_only():
    delivery = Delivery(BU, "visitorActivity", {"export_id": 7})
    lineage = delivery_lineage(delivery)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [(f"pardot://{BU}", "visitorActivity")]
    assert lineage.outputs == []
    assert delivery_lineage(None).inputs == []


def _export_dag(*objects: str):
    from airflow_provider_pardot.operators.export import PardotCreateExportOperator
    from airflow_provider_pardot.sensors.export import PardotExportSensor
    from airflow_provider_pardot.transfers.pardot_to_object_storage import (
        PardotExportToObjectStorageOperator,
    )

    with DAG("lineage_upstream", schedule=None, start_date=datetime(2025, 1, 1), params={"obj": "prospect"}):
        creates = [
            PardotCreateExportOperator(
                task_id=f"create_{i}",
                object_name=name,
                procedure="filter_by_updated_at",
                arguments={"updated_after": "2025-01-01 00:00:00"},
            )
            for i, name in enumerate(objects)
        ]
        wait = PardotExportSensor(task_id="wait", export_id=creates[0].output)
        move = PardotExportToObjectStorageOperator(
            task_id="move", export_id=creates[0].output, dest="file:///tmp/x"
        )
        creates >> wait >> move
    return move


def test_the_object_comes_from_the_export_upstream_with_its_template_rendered():
    move = _export_dag("{{ params.obj }}")
    assert upstream_export_object(move, {"params": {"obj": "prospect"}}) == "prospect"


def test_exports_of_different_objects_upstream_give_no_object():
    move = _export_dag("visitorActivity", "prospect")
    assert upstream_export_object(move, {"params": {}}) is None
    assert upstream_export_object(_export_dag("visitor", "visitor"), {"params": {}}) == "visitor"


def test_a_transfer_outside_a_dag_has_no_upstream_object():
    from airflow_provider_pardot.transfers.pardot_to_object_storage import (
        PardotExportToObjectStorageOperator,
    )

    move = PardotExportToObjectStorageOperator(task_id="move", export_id=1, dest="file:///tmp/x")
    assert upstream_export_object(move, {"params": {}}) is None


def test_a_jsonl_query_reports_every_field_it_wrote(make_conn, tmp_path):
    from unittest import mock

    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotQueryToObjectStorageOperator

    make_conn()
    op = PardotQueryToObjectStorageOperator(
        task_id="q", object_name="list", criteria={}, dest=f"file://{tmp_path}", file_format="jsonl"
    )
    op.execute({"ti": mock.MagicMock()})
    records = [json.loads(line) for line in (tmp_path / "part-00000.jsonl").read_text().splitlines()]
    fields = list(dict.fromkeys(key for record in records for key in record))
    lineage = op.get_openlineage_facets_on_complete(None)
    (output,) = lineage.outputs
    assert [f.name for f in output.facets["schema"].fields] == fields
    assert output.outputFacets["outputStatistics"].rowCount == len(records) > 0
    assert (output.namespace, output.name) == ("file", str(tmp_path).lstrip("/"))
