"""The account-budget recipe (README, "Sharing the account's API budget") under a real scheduler: eight parallel Pardot tasks.

``pardot_pool_recipe`` runs them in the ``pardot`` pool (5 slots, one per concurrent request
Pardot allows the account); ``pardot_pool_control`` runs the same tasks in a pool of 64 slots, to
show that without the recipe the same load goes over Pardot's limit of five requests in flight.
"""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotQueryToObjectStorageOperator

PARALLEL_TASKS = 8

for dag_id, pool in (("pardot_pool_recipe", "pardot"), ("pardot_pool_control", "pardot_unbounded")):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
        catchup=False,
        max_active_tasks=PARALLEL_TASKS,
        doc_md=__doc__,
        tags=["pardot", "test"],
    ) as dag:
        for i in range(PARALLEL_TASKS):
            PardotQueryToObjectStorageOperator(
                task_id=f"list_memberships_{i}",
                object_name="listMembership",
                criteria={},
                dest="{{ var.value.pardot_export_dest }}/{{ dag.dag_id }}/{{ run_id | replace(':', '_') }}/"
                + str(i),
                overwrite=True,
                pool=pool,
            )
    globals()[dag_id] = dag
