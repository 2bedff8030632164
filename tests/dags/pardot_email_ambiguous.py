"""A send whose answer is lost must fail without an Airflow retry (tests/operators/test_email.py).

The test injects a fault that processes every send and then drops the connection. The send task
asks for two retries; ``retry_control`` proves this Airflow run does retry ordinary failures.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pardot.operators.email import PardotSendListEmailOperator

with DAG(
    dag_id="pardot_email_ambiguous",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pardot", "test"],
):

    @task(retries=1, retry_delay=timedelta(seconds=0))
    def retry_control(**context):
        if context["ti"].try_number == 1:
            raise RuntimeError("first try fails on purpose")
        print("retry_control succeeded on try", context["ti"].try_number)

    send = PardotSendListEmailOperator(
        task_id="send",
        list_ids=[30001],
        campaign_id=1001,
        email_template_id=101,
        retries=2,
        retry_delay=timedelta(seconds=0),
    )
    retry_control() >> send
