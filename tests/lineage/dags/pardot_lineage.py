"""
Lineage and assets in a real Airflow, run by tests/lineage/test_lineage.py with ``airflow dags test``.

- ``pardot_lineage_export``: create a visitor-activity export (fields asked), wait for it, then move
  it three times: to ``<dest>/folder/`` (outlets: an asset and an asset alias), merged to
  ``<dest>/merged/`` with ``object_name`` given, and to S3 (``conf["s3"]``, connection ``aws_test``).
- ``pardot_lineage_query``: a list query to CSV (outlet: an asset), and a ``@task`` that queries
  through the hook itself: hook-level lineage.
- ``pardot_lineage_download``: a ``@task`` that creates an export through the hook, reads it and
  downloads its files: hook-level lineage of downloads. (``airflow dags test`` runs every task in
  one process, where the hook lineage collector is shared: hence a DAG of its own.)
- ``pardot_lineage_import``: an audience CSV (``conf["source"]``) imported into a list (outlets: an
  asset and an asset alias).
"""

from __future__ import annotations

import time
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Asset, AssetAlias, task

from airflow_provider_pardot.operators.export import PardotCreateExportOperator
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.transfers.pardot_to_object_storage import (
    PardotExportToObjectStorageOperator,
    PardotQueryToObjectStorageOperator,
)

EXPORT_FIELDS = ["id", "prospect_id", "type_name", "created_at"]
DEST = "{{ dag_run.conf['dest'] }}"

with DAG(
    dag_id="pardot_lineage_export",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["pardot", "test"],
):
    create = PardotCreateExportOperator(
        task_id="create_export",
        object_name="{{ dag_run.conf['object'] }}",
        procedure="filter_by_created_at",
        arguments={"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"},
        fields=EXPORT_FIELDS,
    )
    wait = PardotExportSensor(
        task_id="wait_for_export", export_id=create.output, poke_interval=1, timeout=300
    )
    folder = PardotExportToObjectStorageOperator(
        task_id="export_to_folder",
        export_id=create.output,
        dest=DEST + "/folder/",
        outlets=[Asset("file:///lineage/visitor_activity"), AssetAlias("pardot_lineage_alias")],
    )
    merged = PardotExportToObjectStorageOperator(
        task_id="export_merged",
        export_id=create.output,
        dest=DEST + "/merged/",
        merge=True,
        object_name="visitorActivity",
    )
    to_s3 = PardotExportToObjectStorageOperator(
        task_id="export_to_s3",
        export_id=create.output,
        dest="{{ dag_run.conf['s3'] }}",
        dest_conn_id="aws_test",
    )
    create >> wait >> [folder, merged, to_s3]


with DAG(
    dag_id="pardot_lineage_query",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["pardot", "test"],
):
    PardotQueryToObjectStorageOperator(
        task_id="lists_to_csv",
        object_name="list",
        criteria={},
        dest=DEST + "/lists/",
        file_format="csv",
        outlets=[Asset("file:///lineage/lists")],
    )

    @task
    def count_lists() -> int:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        return sum(1 for _ in PardotHook().query("list"))

    count_lists()


with DAG(
    dag_id="pardot_lineage_download",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["pardot", "test"],
):

    @task
    def download_export() -> int:
        from airflow_provider_pardot.hooks.pardot import PardotHook

        hook = PardotHook()
        export = hook.create_export(
            "listMembership",
            "filter_by_created_at",
            {"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"},
        )
        while (export := hook.get_export(export["id"]))["state"] != "Complete":
            time.sleep(0.2)
        return sum(len(chunk) for ref in export["resultRefs"] for chunk in hook.iter_result(ref))

    download_export()


with DAG(
    dag_id="pardot_lineage_import",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["pardot", "test"],
):
    from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

    ObjectStorageToPardotOperator(
        task_id="import_audience",
        source="{{ dag_run.conf['source'] }}",
        columns={"email": ["email", "matchEmail"]},
        create_on_no_match=True,
        add_to_lists=[30002],
        poll_interval=0.2,
        outlets=[Asset("file:///lineage/audience_in_pardot"), AssetAlias("pardot_import_alias")],
    )
