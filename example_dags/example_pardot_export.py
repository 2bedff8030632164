"""
Daily export of Pardot visitor activities to object storage.

Every day this DAG exports the visitor activities **created during the run's data interval** with
Pardot's Export API, waits for the export without holding a worker slot, and moves the result
files to object storage:

1. ``create_export`` (:class:`PardotCreateExportOperator`): ``visitorActivity`` /
   ``filter_by_created_at`` with ``created_after`` = ``data_interval_start`` and
   ``created_before`` = ``data_interval_end``, formatted ``YYYY-MM-DD HH:MM:SS``. Pardot reads
   those times in the **API user's time zone**: set the ``pardot_timezone`` param to that zone
   (``UTC`` by default) so each day is exported exactly once. Returns the export id; the task has a
   "Pardot Export" link.
2. ``wait_for_export`` (:class:`PardotExportSensor`, ``deferrable=True``): waits in the triggerer
   until the export is Complete; fails at once when it is Failed, Canceled or expired.
3. ``export_to_storage`` (:class:`PardotExportToObjectStorageOperator`): streams every result
   file to ``<dest>/visitor_activity/date=<YYYY-MM-DD>/part-0000N.csv`` plus ``_manifest.json``
   (row and byte counts per file). ``<dest>`` is the DAG param ``dest`` when given, else the Airflow
   Variable ``pardot_export_dest``, else ``file:///tmp/pardot-demo``; any ``ObjectStoragePath``
   URL works (``s3://bucket/pardot`` with ``dest_conn_id`` and the ``[amazon]`` extra, ...).
   The date in the path is the start of the data interval (the run's ``ds`` for scheduled runs),
   so a manual run or a re-run lands in the partition of the data it holds, and re-runs replace
   it (``overwrite=True``). Its outlet is the asset ``file:///tmp/pardot-demo/visitor_activity``
   (the folder the daily partitions land in; change it with ``dest``): every delivery emits an
   asset event whose extra holds the export id, rows, bytes, files and the partition's URI, and
   ``example_pardot_export_consumer``, scheduled on that asset, runs after each delivery.

The DAG param ``pardot_conn_id`` names the Pardot connection (``pardot_default`` by default), so
one DAG can serve several business units.

**Pool.** In production, run every task that calls Pardot in one pool of five slots per business
unit (Pardot allows five concurrent requests per account)::

    airflow pools set pardot 5 "Pardot API: 5 concurrent requests per business unit"

and write ``pool="pardot"`` on those tasks. So that this example runs as it is on a fresh Airflow
(a task whose pool does not exist stays "Scheduled" forever), it takes the pool's name from the
environment variable ``PARDOT_EXAMPLE_POOL`` (read when the DAG is parsed; ``default_pool`` when
unset): set ``PARDOT_EXAMPLE_POOL=pardot`` once the pool exists (``make demo`` does). The transfer
takes as many slots as it downloads files at once (``max_concurrency``, here 4), so all tasks
together never exceed Pardot's limit. A deferred sensor frees its slot while waiting.

Try it against the local emulator (no Salesforce account needed): ``make demo``.
The sensor reads the export every 15 seconds, so a run against the emulator (an export takes about
20 s there) finishes soon after its export. Set the environment variable
``PARDOT_EXAMPLE_POLL_SECONDS`` (read when the DAG is parsed) to change it: real exports take
minutes, and every read counts against the account's daily API allocation, so 60 suits production.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, Param

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_pardot.operators.export import PardotCreateExportOperator
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

PARDOT_POOL = os.environ.get("PARDOT_EXAMPLE_POOL", "default_pool")
PARDOT_CONN_ID = "{{ params.pardot_conn_id }}"
DEFAULT_DEST = "file:///tmp/pardot-demo"
POLL_SECONDS = float(os.environ.get("PARDOT_EXAMPLE_POLL_SECONDS", "15"))
#: What downstream DAGs schedule on (example_pardot_export_consumer): the visitor-activity folder.
VISITOR_ACTIVITY = Asset(f"{DEFAULT_DEST}/visitor_activity")

CREATED_AFTER = "{{ pardot_time(data_interval_start, params.pardot_timezone) }}"
CREATED_BEFORE = "{{ pardot_time(data_interval_end, params.pardot_timezone) }}"
DEST = (
    "{{ (params.dest or var.value.get('pardot_export_dest', '" + DEFAULT_DEST + "')).rstrip('/') }}"
    "/visitor_activity/date={{ data_interval_start | ds }}/"
)


def pardot_time(value, timezone: str = "UTC") -> str:
    """Format a datetime the way Pardot reads it: "YYYY-MM-DD HH:MM:SS" in the API user's time zone."""
    if value is None:
        raise ValueError(
            "This run has no data interval (an Airflow 3 run triggered without a logical date): "
            "trigger it with a logical date, as the UI does by default."
        )
    return pendulum.instance(value).in_timezone(timezone).strftime("%Y-%m-%d %H:%M:%S")


with DAG(
    dag_id="example_pardot_export",
    description="Daily Pardot visitor-activity export to object storage",
    doc_md=__doc__,
    # A daily *interval* (not a cron trigger): each run covers [data_interval_start, data_interval_end).
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=3,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    params={
        "dest": Param(
            None,
            type=["null", "string"],
            description="Destination folder URL (default: the Variable pardot_export_dest, "
            f"else {DEFAULT_DEST}).",
        ),
        "pardot_timezone": Param("UTC", type="string", description="Time zone of the Pardot API user."),
        "pardot_conn_id": Param("pardot_default", type="string", description="The Pardot connection."),
    },
    user_defined_macros={"pardot_time": pardot_time},
    tags=["pardot", "example"],
) as dag:
    create_export = PardotCreateExportOperator(
        task_id="create_export",
        object_name="visitorActivity",
        procedure="filter_by_created_at",
        arguments={"created_after": CREATED_AFTER, "created_before": CREATED_BEFORE},
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    wait_for_export = PardotExportSensor(
        task_id="wait_for_export",
        export_id=create_export.output,
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=12).total_seconds(),
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    export_to_storage = PardotExportToObjectStorageOperator(
        task_id="export_to_storage",
        export_id=create_export.output,
        dest=DEST,
        file_format="csv",
        overwrite=True,
        max_concurrency=4,
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
        outlets=[VISITOR_ACTIVITY],
    )

    create_export >> wait_for_export >> export_to_storage
