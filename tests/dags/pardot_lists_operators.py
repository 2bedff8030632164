"""Every list operator in one real Airflow run against the Pardot emulator (tests/operators/test_lists.py)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pardot.operators.lists import (
    PardotCreateListOperator,
    PardotDeleteListOperator,
    PardotUpdateListOperator,
)

with DAG(
    dag_id="pardot_lists_operators",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"public": True},
    tags=["pardot", "test"],
):
    create = PardotCreateListOperator(
        task_id="create",
        name="Airflow e2e {{ ds }}",
        is_public="{{ params.public }}",
        title="Created by Airflow",
        description="Run {{ run_id }}",
    )
    update = PardotUpdateListOperator(
        task_id="update",
        list_id=create.output["list_id"],
        description="Updated on {{ ds }}",
        is_crm_visible=True,
    )

    @task
    def check(**context):
        ti = context["ti"]
        created = ti.xcom_pull(task_ids="create")
        updated = ti.xcom_pull(task_ids="update")
        assert isinstance(created["id"], int), created
        assert created["is_public"] is True, created
        assert updated["id"] == created["id"], (created, updated)
        assert updated["description"].startswith("Updated on "), updated
        assert updated["is_crm_visible"] is True, updated
        assert ti.xcom_pull(task_ids="create", key="list_id") == created["id"]
        assert ti.xcom_pull(task_ids="create", key="pardot_list")["list_id"] == created["id"]
        assert ti.xcom_pull(task_ids="update", key="pardot_list")["list_id"] == created["id"]
        print("checked list xcoms and links")
        return created["id"]

    checked = check()
    update >> checked
    delete = PardotDeleteListOperator(task_id="delete", list_id="{{ ti.xcom_pull(task_ids='check') }}")
    checked >> delete
