"""Every email operator in one real Airflow run against the Pardot emulator (tests/operators/test_email.py)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_pardot.operators.email import (
    PardotGetEmailStatsOperator,
    PardotSendListEmailOperator,
    PardotSendOneToOneEmailOperator,
)

with DAG(
    dag_id="pardot_email_operators",
    schedule="@daily",
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    params={"list_ids": [30001, 30002], "campaign_id": 1001},
    tags=["pardot", "test"],
):
    send_list = PardotSendListEmailOperator(
        task_id="send_list",
        list_ids="{{ params.list_ids }}",
        campaign_id="{{ params.campaign_id }}",
        text_content="Daily report for {{ ds }}. %%unsubscribe%%",
        html_content="<p>Daily report for {{ ds }}</p><a href='%%unsubscribe%%'>Unsubscribe</a>",
        name="Daily report {{ ds }}",
        subject="Your report for {{ ds }}",
        from_email="reports@example.com",
        from_name="Reports",
        tags=["airflow", "e2e"],
        scheduled_time="{{ data_interval_end }}",
    )
    stats = PardotGetEmailStatsOperator(task_id="stats", email_id=send_list.output)
    by_id = PardotSendOneToOneEmailOperator(
        task_id="one_to_one_by_id", prospect_id=20001, campaign_id=1001, email_template_id=101
    )
    by_email = PardotSendOneToOneEmailOperator(
        task_id="one_to_one_by_email",
        prospect_email="prospect1@example.com",
        campaign_id=1001,
        text_content="Hi {{ ds }} %%email_preference_center%%",
        name="Note {{ ds }}",
        subject="A note",
        from_user_id=7,
    )

    @task
    def check(**context):
        ti = context["ti"]
        for task_id in ("send_list", "one_to_one_by_id", "one_to_one_by_email"):
            email_id = ti.xcom_pull(task_ids=task_id)
            assert isinstance(email_id, int), (task_id, email_id)
            assert ti.xcom_pull(task_ids=task_id, key="pardot_email")["email_id"] == email_id, task_id
        figures = ti.xcom_pull(task_ids="stats")
        assert isinstance(figures["sent"], int), figures
        assert isinstance(figures["delivery_rate"], float), figures
        assert ti.xcom_pull(task_ids="stats", key="pardot_email")["email_id"] == ti.xcom_pull(
            task_ids="send_list"
        )
        print("checked xcoms and links")

    [stats, by_id, by_email] >> check()
