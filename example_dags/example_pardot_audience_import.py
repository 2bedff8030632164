"""
An audience from the warehouse into a new Pardot list, mailed, and the email's statistics.

The round trip a marketing data team runs: the people who should get an email are decided in the
warehouse (here: ``data/audience.csv`` beside this file, as a warehouse export would leave it in
object storage); Pardot sends the email.

1. ``create_list`` (:class:`PardotCreateListOperator`): a new static list for this run's audience.
   Its id is the ``list_id`` XCom.
2. ``import_audience`` (:class:`ObjectStorageToPardotOperator`): reads the CSV (any
   ``ObjectStoragePath``: ``s3://bucket/audiences/{{ ds }}/`` works the same, with
   ``source_conn_id``), renames the warehouse's snake_case columns to the v5 field names Pardot
   reads (``first_name`` -> ``firstName``), sends ``email`` also as the match column
   ``matchEmail`` (every row is matched, so a retried task updates what an earlier try created),
   drops ``churn_score``, creates the prospects Pardot does not know yet
   (``create_on_no_match=True``; ``campaign_id`` is their campaign) and adds every row to the new
   list: one import of one batch, four API calls for the whole audience. It waits for the import
   in the triggerer (``deferrable=True``) and returns ``{"import_ids", "rows", "created",
   "updated", "errors", "errors_uri"}``; rejected rows would be written beside the source.
3. ``send_list_email`` (:class:`PardotSendListEmailOperator`): a template email to that list. It has
   ``retries=0``: an email is never sent twice.
4. ``wait_for_engagement``: gives the recipients ``stats_wait_minutes`` (a DAG param, 60 by default,
   counted from the start of the run) to open and click, in ``reschedule`` mode so no worker slot
   is held meanwhile.
5. ``email_stats`` (:class:`PardotGetEmailStatsOperator`): the email's statistics.

The params default to ids that exist in the local emulator (``python -m
airflow_provider_pardot.emulator``): set ``campaign_id`` (inside the CSV) and ``email_template_id``
to your account's, ``pardot_conn_id`` to your connection, and ``source`` to your audience files.
Every Pardot task runs in the pool named by ``PARDOT_EXAMPLE_POOL`` (``default_pool`` when unset; in
production a ``pardot`` pool of five slots per business unit: see ``example_pardot_export``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_pardot.operators.email import PardotGetEmailStatsOperator, PardotSendListEmailOperator
from airflow_provider_pardot.operators.lists import PardotCreateListOperator
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

PARDOT_POOL = os.environ.get("PARDOT_EXAMPLE_POOL", "default_pool")
PARDOT_CONN_ID = "{{ params.pardot_conn_id }}"
AUDIENCE = f"file://{os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'audience.csv')}"
#: How often the example polls Pardot while it waits (shortened for demos and tests).
POLL_SECONDS = float(os.environ.get("PARDOT_EXAMPLE_POLL_SECONDS", "60"))

with DAG(
    dag_id="example_pardot_audience_import",
    description="Import an audience into a new Pardot list, send it a list email, read the statistics",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={
        "source": Param(AUDIENCE, type="string", description="The audience: a CSV/Parquet file or folder."),
        "email_template_id": Param(101, type="integer", description="Pardot email template id."),
        "campaign_id": Param(1001, type="integer", description="Pardot campaign id of the email."),
        "stats_wait_minutes": Param(
            60, type="integer", minimum=0, description="Minutes before reading stats."
        ),
        "pardot_conn_id": Param("pardot_default", type="string", description="The Pardot connection."),
    },
    tags=["pardot", "example"],
) as dag:
    create_list = PardotCreateListOperator(
        task_id="create_list",
        name="Audience {{ run_id }}",
        description="Imported by Airflow from {{ params.source }}",
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )
    list_id = "{{ ti.xcom_pull(task_ids='create_list', key='list_id') }}"

    import_audience = ObjectStorageToPardotOperator(
        task_id="import_audience",
        source="{{ params.source }}",
        columns={
            "email": ["email", "matchEmail"],
            "first_name": "firstName",
            "last_name": "lastName",
            "campaign_id": "campaignId",
            "churn_score": None,
        },
        add_to_lists=[list_id],
        create_on_no_match=True,
        deferrable=True,
        poll_interval=POLL_SECONDS,
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    send_list_email = PardotSendListEmailOperator(
        task_id="send_list_email",
        list_ids=[list_id],
        campaign_id="{{ params.campaign_id }}",
        email_template_id="{{ params.email_template_id }}",
        tags=["airflow", "audience"],
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    @task.sensor(poke_interval=POLL_SECONDS, timeout=2 * 24 * 3600, mode="reschedule")
    def wait_for_engagement(params=None, dag_run=None) -> bool:
        """True once ``stats_wait_minutes`` have passed since the run started (the email went out then)."""
        started = dag_run.start_date or datetime.now(UTC)
        return datetime.now(UTC) >= started + timedelta(minutes=params["stats_wait_minutes"])

    email_stats = PardotGetEmailStatsOperator(
        task_id="email_stats",
        email_id="{{ ti.xcom_pull(task_ids='send_list_email') }}",
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    create_list >> import_audience >> send_list_email >> wait_for_engagement() >> email_stats
