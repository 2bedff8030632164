"""Lineage in a real Airflow (``airflow dags test``) with the real OpenLineage provider (file
transport): the events of the export and the transfers, hook-level lineage from ``@task`` code, and
the asset events recorded in the metadata database."""

from __future__ import annotations

import json
import os

import pytest
from identities import BUSINESS_UNIT_ID

pytestmark = pytest.mark.e2e

PARDOT = f"pardot://{BUSINESS_UNIT_ID}"
EXPORT_FIELDS = ["id", "prospect_id", "type_name", "created_at"]


def _names(dataset: dict) -> list[str]:
    return [f["name"] for f in dataset["facets"]["schema"]["fields"]]


def _datasets(event: dict, side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event[side]]


def test_export_pipeline_lineage_and_asset_events(lineage_airflow, emulator, tmp_path, s3_bucket):
    dest = tmp_path / "out"
    s3 = f"s3://{s3_bucket}/pardot/visitor_activity/date=2025-06-01/"
    lineage_airflow.run(
        "pardot_lineage_export",
        {"dest": f"file://{dest}", "object": "visitorActivity", "s3": s3},
        connections={"aws_test": json.loads(os.environ["AIRFLOW_CONN_AWS_TEST"])},
    )
    manifest = json.loads((dest / "folder" / "_manifest.json").read_text())
    assert manifest["total_rows"] == 2500
    assert len(manifest["files"]) == 3

    # The export reports what it reads when it starts: the object (its template rendered), the fields.
    start = lineage_airflow.event("pardot_lineage_export.create_export", "START")
    assert _datasets(start, "inputs") == [(PARDOT, "visitorActivity")]
    assert _names(start["inputs"][0]) == EXPORT_FIELDS

    # The transfer, on completion: the object (found upstream) in, the folder out, with its figures.
    done = lineage_airflow.event("pardot_lineage_export.export_to_folder", "COMPLETE")
    assert _datasets(done, "inputs") == [(PARDOT, "visitorActivity")]
    assert _datasets(done, "outputs") == [("file", f"{dest}/folder".lstrip("/"))]
    (output,) = done["outputs"]
    assert output["outputFacets"]["outputStatistics"] == {
        **output["outputFacets"]["outputStatistics"],
        "rowCount": 2500,
        "size": manifest["total_bytes"],
        "fileCount": 3,
    }
    assert _names(output) == EXPORT_FIELDS == _names(done["inputs"][0])

    # merge=True names the one file written; object_name given explicitly.
    merged = lineage_airflow.event("pardot_lineage_export.export_merged", "COMPLETE")
    assert _datasets(merged, "inputs") == [(PARDOT, "visitorActivity")]
    assert _datasets(merged, "outputs") == [("file", f"{dest}/merged/part-00000.csv".lstrip("/"))]
    stats = merged["outputs"][0]["outputFacets"]["outputStatistics"]
    assert (stats["rowCount"], stats["fileCount"]) == (2500, 1)
    assert stats["size"] == (dest / "merged" / "part-00000.csv").stat().st_size

    # Into S3: the edge pardot://<business unit>/visitorActivity -> the S3 folder, with its row count.
    to_s3 = lineage_airflow.event("pardot_lineage_export.export_to_s3", "COMPLETE")
    assert _datasets(to_s3, "inputs") == [(PARDOT, "visitorActivity")]
    assert _datasets(to_s3, "outputs") == [(f"s3://{s3_bucket}", "pardot/visitor_activity/date=2025-06-01")]
    stats = to_s3["outputs"][0]["outputFacets"]["outputStatistics"]
    assert (stats["rowCount"], stats["size"], stats["fileCount"]) == (2500, manifest["total_bytes"], 3)

    # The asset events, as recorded in the metadata database.
    extra = {
        "export_id": manifest["export_id"],
        "rows": 2500,
        "bytes": manifest["total_bytes"],
        "files": 3,
        "uri": f"file://{dest}/folder",
    }
    events = lineage_airflow.asset_events()
    by_uri = {e["uri"]: e for e in events}
    assert by_uri["file:///lineage/visitor_activity"]["extra"] == extra
    assert by_uri["file:///lineage/visitor_activity"]["task"] == "export_to_folder"
    # the alias adds an event for the destination actually written this run
    alias_event = by_uri[f"file://{dest}/folder"]
    assert alias_event["extra"] == extra
    assert alias_event["aliases"] == ["pardot_lineage_alias"]
    assert len(events) == 2, events  # the merged transfer has no outlets: no event


def test_query_and_hook_level_lineage(lineage_airflow, emulator, tmp_path):
    dest = tmp_path / "out"
    lineage_airflow.run("pardot_lineage_query", {"dest": f"file://{dest}"})
    manifest = json.loads((dest / "lists" / "_manifest.json").read_text())
    header = (dest / "lists" / "part-00000.csv").read_text().splitlines()[0].split(",")

    done = lineage_airflow.event("pardot_lineage_query.lists_to_csv", "COMPLETE")
    assert _datasets(done, "inputs") == [(PARDOT, "list")]
    assert _datasets(done, "outputs") == [("file", f"{dest}/lists".lstrip("/"))]
    (output,) = done["outputs"]
    stats = output["outputFacets"]["outputStatistics"]
    assert (stats["rowCount"], stats["size"], stats["fileCount"]) == (
        manifest["total_rows"],
        manifest["total_bytes"],
        1,
    )
    assert manifest["total_rows"] > 0
    assert _names(output) == header

    # @task code that calls the hook: its reads reach the hook lineage collector.
    # (``dags test`` runs both tasks in one process, which shares the collector: hence a set.)
    counted = lineage_airflow.event("pardot_lineage_query.count_lists", "COMPLETE")
    assert set(_datasets(counted, "inputs")) == {(PARDOT, "list")}

    (event,) = lineage_airflow.asset_events()
    assert event["uri"] == "file:///lineage/lists"
    assert event["extra"] == {
        "object": "list",
        "rows": manifest["total_rows"],
        "bytes": manifest["total_bytes"],
        "files": 1,
        "uri": f"file://{dest}/lists",
    }


def test_hook_level_lineage_of_downloads(lineage_airflow, emulator):
    """A @task creates an export through the hook and downloads it: the download reads listMembership."""
    lineage_airflow.run("pardot_lineage_download", {})
    downloaded = lineage_airflow.event("pardot_lineage_download.download_export", "COMPLETE")
    assert _datasets(downloaded, "inputs") == [(PARDOT, "listMembership")]
    assert downloaded["outputs"] == []
    assert lineage_airflow.asset_events() == []


def test_import_lineage_and_asset_events(lineage_airflow, emulator, tmp_path):
    source = tmp_path / "audience.csv"
    source.write_text("email,campaignId\n" + "".join(f"l{i}@lineage.example.com,1001\n" for i in range(7)))
    lineage_airflow.run("pardot_lineage_import", {"source": f"file://{source}"})

    done = lineage_airflow.event("pardot_lineage_import.import_audience", "COMPLETE")
    assert _datasets(done, "inputs") == [("file", str(source).lstrip("/"))]
    assert _names(done["inputs"][0]) == ["email", "campaignId"]
    assert _datasets(done, "outputs") == [(PARDOT, "prospects"), (PARDOT, "listMemberships")]
    for output in done["outputs"]:
        assert output["outputFacets"]["outputStatistics"]["rowCount"] == 7
        assert _names(output) == ["email", "matchEmail", "campaignId", "addToList"]

    (record,) = emulator.imports()
    extra = {"import_ids": [record["id"]], "rows": 7, "created": 7, "updated": 0, "errors": 0}
    by_uri = {e["uri"]: e for e in lineage_airflow.asset_events()}
    assert by_uri["file:///lineage/audience_in_pardot"]["extra"] == extra
    alias_event = by_uri[f"{PARDOT}/prospects"]
    assert alias_event["extra"] == extra
    assert alias_event["aliases"] == ["pardot_import_alias"]
