"""
A daily scheduled Pardot list email, and the statistics of the previous day's email.

Each run:

1. ``send_list_email`` (:class:`PardotSendListEmailOperator`) schedules an email from a Pardot
   template to the lists in the ``list_ids`` param, for ``send_hour`` o'clock (UTC) on the day
   after the run's data interval (``scheduled_time`` is templated from ``data_interval_end``).
   The task returns the new email's id and links to it ("Pardot Email"). It has ``retries=0``:
   the provider never re-sends an email on its own, because after an ambiguous failure the email
   may already have gone out.
2. ``email_sent_by_previous_run`` finds the id of the email the **previous** run scheduled (its
   ``send_list_email`` XCom), ``has_previous_email`` checks there is one, and
   ``previous_email_stats`` (:class:`PardotGetEmailStatsOperator`) reads that email's statistics.
   By the time the next daily run starts, yesterday's email went out hours ago, so opens, clicks
   and bounces have had time to come in.

Why not wait a day inside one run with a ``TimeDeltaSensor`` / ``DateTimeSensorAsync``? A run
that waits a day keeps a worker slot (or a trigger) busy for 24 hours, overlaps the next run, and
``airflow dags test`` would block for a day. Reading the statistics one run later gives the same
figures with no waiting task, and runs green under ``airflow dags test``:

* on the first run there is no previous email: ``has_previous_email`` short-circuits and
  ``previous_email_stats`` is **skipped** (the run still succeeds);
* from the second run on, it reports the email of the run before.

``email_sent_by_previous_run`` runs before ``send_list_email``, so it can only see emails sent by
earlier runs. The short-circuit skips only ``previous_email_stats``: the send goes ahead.

The params default to ids that exist in the local emulator (``python -m
airflow_provider_pardot.emulator``): set ``list_ids``, ``campaign_id`` and ``email_template_id``
to your account's, and ``pardot_conn_id`` to your connection. Both Pardot tasks run in the pool
named by ``PARDOT_EXAMPLE_POOL`` (``default_pool`` when unset; in production a ``pardot`` pool of
five slots per business unit: see ``example_pardot_export``).
"""

from __future__ import annotations

import logging
import os

import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2.11
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_pardot.operators.email import PardotGetEmailStatsOperator, PardotSendListEmailOperator

PARDOT_POOL = os.environ.get("PARDOT_EXAMPLE_POOL", "default_pool")
PARDOT_CONN_ID = "{{ params.pardot_conn_id }}"

with DAG(
    dag_id="example_pardot_list_email",
    description="Daily scheduled Pardot list email and the statistics of the previous one",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    # One run at a time: each run reads the email of the run before it.
    max_active_runs=1,
    params={
        "list_ids": Param([30001], type="array", description="Pardot list ids to send to."),
        "campaign_id": Param(1001, type="integer", description="Pardot campaign id of the email."),
        "email_template_id": Param(101, type="integer", description="Pardot email template id."),
        "send_hour": Param(9, type="integer", minimum=0, maximum=23, description="Hour (UTC) to send at."),
        "pardot_conn_id": Param("pardot_default", type="string", description="The Pardot connection."),
    },
    tags=["pardot", "example"],
) as dag:

    @task
    def email_sent_by_previous_run(**context):
        """The id of the email sent by the latest earlier run (None on the first run)."""
        # Runs before this run's send_list_email, so "latest" can only be an earlier run's.
        # map_indexes=-1 asks for that one value: without it, Airflow 3 returns the values of
        # every earlier run (a list) as soon as there are two.
        return context["ti"].xcom_pull(task_ids="send_list_email", include_prior_dates=True, map_indexes=-1)

    @task.short_circuit
    def has_previous_email(email_id):
        """Skip the statistics when no earlier run sent an email (e.g. the first run)."""
        if email_id is None:
            logging.getLogger("airflow.task").info("No earlier run sent an email yet: no statistics to read.")
        return email_id

    previous_email = email_sent_by_previous_run()

    previous_email_stats = PardotGetEmailStatsOperator(
        task_id="previous_email_stats",
        email_id=has_previous_email(previous_email),
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    send_list_email = PardotSendListEmailOperator(
        task_id="send_list_email",
        list_ids="{{ params.list_ids }}",
        campaign_id="{{ params.campaign_id }}",
        email_template_id="{{ params.email_template_id }}",
        scheduled_time="{{ (data_interval_end + macros.timedelta(hours=params.send_hour)).isoformat() }}",
        tags=["airflow", "daily"],
        pool=PARDOT_POOL,
        pardot_conn_id=PARDOT_CONN_ID,
    )

    # The lookup runs first, so it never sees this run's own email. The short-circuit skips only
    # the statistics, which are downstream of it; the send is not.
    previous_email >> send_list_email
