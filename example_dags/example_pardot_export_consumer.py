"""
Runs after each delivery of ``example_pardot_export``: data-aware scheduling on an asset.

``example_pardot_export``'s transfer has the asset ``file:///tmp/pardot-demo/visitor_activity`` in
its ``outlets``. When it finishes, Airflow records an asset event (a Dataset event on Airflow 2.11)
whose extra describes what was delivered::

    {"export_id": 2401, "rows": 2500, "bytes": 312345, "files": 3,
     "uri": "file:///tmp/pardot-demo/visitor_activity/date=2025-06-01"}

and the scheduler starts this DAG, scheduled on that asset. ``report_delivery`` logs the extra of
each event that triggered the run (run by hand, it reports the latest delivery instead), and
returns the extras: a real pipeline would load ``uri`` into its warehouse here, checking the row
count against ``rows``.

Nothing in this DAG calls Pardot, so it needs no ``pardot`` pool slot.
"""

from __future__ import annotations

import logging

import pendulum
from airflow.providers.common.compat.sdk import DAG, Asset, get_current_context, task

#: The asset example_pardot_export's transfer emits (the same URI: an asset is known by it).
VISITOR_ACTIVITY = Asset("file:///tmp/pardot-demo/visitor_activity")
#: The task log, in order with Airflow's own lines (print() output reached the log after Airflow's
#: "Done. Returned value was" line: the task's stdout is logged apart from its log records).
log = logging.getLogger("airflow.task")


with DAG(
    dag_id="example_pardot_export_consumer",
    description="Runs when example_pardot_export delivers visitor activities",
    doc_md=__doc__,
    schedule=[VISITOR_ACTIVITY],
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    tags=["pardot", "example"],
) as dag:

    @task(inlets=[VISITOR_ACTIVITY])
    def report_delivery() -> list[dict]:
        context = get_current_context()
        # Airflow 3 names them triggering_asset_events, Airflow 2.11 triggering_dataset_events.
        triggering = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        extras = [dict(event.extra) for events in triggering.values() for event in events]
        if not extras:  # triggered by hand: the latest delivery
            latest = context["inlet_events"][VISITOR_ACTIVITY]
            extras = [dict(latest[-1].extra)] if len(latest) else []
        for extra in extras:
            log.info(
                "Pardot export %s delivered %s rows, %s bytes in %s file(s) to %s",
                *(extra.get(key) for key in ("export_id", "rows", "bytes", "files", "uri")),
            )
            log.info("Asset event extra: %s", extra)
        return extras

    report_delivery()
