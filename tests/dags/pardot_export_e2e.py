"""
End-to-end export pipeline, run by tests/export/test_e2e.py with ``airflow dags test``.

Create a visitor-activity export, wait for it in the triggerer (deferrable sensor), then move its
result files to the folder given as ``dag_run.conf["dest"]``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pardot.operators.export import PardotCreateExportOperator
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

with DAG(
    dag_id="pardot_export_e2e",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["pardot", "test"],
):
    create = PardotCreateExportOperator(
        task_id="create_export",
        object_name="visitorActivity",
        procedure="filter_by_created_at",
        arguments={"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"},
        fields=["id", "prospect_id", "type_name", "details", "created_at"],
    )
    wait = PardotExportSensor(
        task_id="wait_for_export",
        export_id=create.output,
        deferrable=True,
        poke_interval=1,
        timeout=300,
    )
    move = PardotExportToObjectStorageOperator(
        task_id="export_to_storage",
        export_id=create.output,
        dest="{{ dag_run.conf['dest'] }}",
        max_concurrency=3,
    )
    create >> wait >> move
