"""
Incremental pulls of Pardot lifecycle histories and list memberships on API v5.

Both objects are queried by their v5 names through :class:`PardotQueryToObjectStorageOperator`:
``GET /api/v5/objects/<name>``, 1,000 records a call (v3/v4 answer 200), so a full pull costs a
fifth of the API calls. Each run pulls what its data interval ``[data_interval_start,
data_interval_end)`` covers:

* ``lifecycle-histories``: stage changes **created** in the interval
  (``createdAtAfterOrEqualTo`` / ``createdAtBefore``). A history entry never changes once written.
* ``list-memberships``: memberships **updated** in the interval (``updatedAtAfterOrEqualTo`` /
  ``updatedAtBefore``) with ``deleted="all"``, so removals arrive too (``isDeleted`` true);
  downstream, upsert on ``id``.

v5 takes date-times with their offset, so the interval goes out as it is, whatever the API user's
time zone. Files land in ``<dest>/<object>/date=<YYYY-MM-DD>/part-00000.csv`` with a
``_manifest.json``; the CSV header is the ``fields`` asked, in order. ``<dest>`` is the DAG param
``dest``, else the Airflow Variable ``pardot_export_dest``, else ``file:///tmp/pardot-demo``.

``concurrency=2`` pages two id ranges at once. Those requests come out of the account's five
concurrent-request slots, shared with every other Pardot client of the business unit, so each
task takes as many pool slots (``pool_slots``) as it may have requests in flight (the transfer's
default). In production that is the ``pardot`` pool of five slots (README, "Sharing the account's
API budget"); the example uses the pool named by the environment variable ``PARDOT_EXAMPLE_POOL``,
``default_pool`` when unset, so it runs as it is on a fresh Airflow. The Pardot connection is the
DAG param ``pardot_conn_id``.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotQueryToObjectStorageOperator

PARDOT_POOL = os.environ.get("PARDOT_EXAMPLE_POOL", "default_pool")
DEFAULT_DEST = "file:///tmp/pardot-demo"
#: id ranges paged in parallel by each task (1-5), and so its pool slots
CONCURRENCY = 2

INTERVAL_START = "{{ data_interval_start.isoformat() }}"
INTERVAL_END = "{{ data_interval_end.isoformat() }}"


def _dest(folder: str) -> str:
    return (
        "{{ (params.dest or var.value.get('pardot_export_dest', '" + DEFAULT_DEST + "')).rstrip('/') }}"
        f"/{folder}/date={{{{ data_interval_start | ds }}}}/"
    )


with DAG(
    dag_id="example_pardot_v5_incremental",
    description="Incremental Pardot v5 lifecycle-history and list-membership pulls to object storage",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "dest": Param(None, type=["null", "string"], description="Destination folder URL."),
        "pardot_conn_id": Param("pardot_default", type="string", description="The Pardot connection."),
    },
    tags=["pardot", "example"],
) as dag:
    lifecycle_histories = PardotQueryToObjectStorageOperator(
        task_id="lifecycle_histories",
        object_name="lifecycle-histories",
        fields=["id", "prospectId", "previousStageId", "nextStageId", "secondsElapsed", "createdAt"],
        criteria={"createdAtAfterOrEqualTo": INTERVAL_START, "createdAtBefore": INTERVAL_END},
        concurrency=CONCURRENCY,
        dest=_dest("lifecycle_histories"),
        file_format="csv",
        overwrite=True,
        pardot_conn_id="{{ params.pardot_conn_id }}",
        pool=PARDOT_POOL,  # pool_slots defaults to the concurrency
    )

    list_memberships = PardotQueryToObjectStorageOperator(
        task_id="list_memberships",
        object_name="list-memberships",
        fields=["id", "listId", "prospectId", "optedOut", "isDeleted", "createdAt", "updatedAt"],
        criteria={
            "updatedAtAfterOrEqualTo": INTERVAL_START,
            "updatedAtBefore": INTERVAL_END,
            "deleted": "all",
        },
        concurrency=CONCURRENCY,
        dest=_dest("list_memberships"),
        file_format="csv",
        overwrite=True,
        pardot_conn_id="{{ params.pardot_conn_id }}",
        pool=PARDOT_POOL,  # pool_slots defaults to the concurrency
    )
