"""
One measured run of the import benchmark, in its own process (its peak RSS is its own).

    import_worker.py run <source>            ObjectStorageToPardotOperator.execute(): JSON with the
                                             seconds of the upload (conversion + create + batches +
                                             submit) and of the whole task, and the result
    import_worker.py premake <source> <dir>  the same CSV batches written to <dir> (for curl)
    import_worker.py pyarrow                 what importing pyarrow costs a task process that has
                                             imported Airflow and the operator: seconds and MiB

The connection comes from ``AIRFLOW_CONN_PARDOT_DEFAULT`` (see ``common.airflow_env``).
"""

from __future__ import annotations

import json
import sys
import time
from unittest import mock

COLUMNS = {
    "email": ["email", "matchEmail"],
    "first_name": "firstName",
    "last_name": "lastName",
    "company": "company",
    "campaign_id": "campaignId",
}
LIST_ID = 30002


def _operator(source: str):
    from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

    class Timed(ObjectStorageToPardotOperator):
        upload_seconds = 0.0
        rss_before_mib = 0.0
        pyarrow_before = False

        def _upload(self, plan, rejects):
            # the process before it reads a row: Airflow, the provider, requests, the source's store
            self.rss_before_mib = _rss_mib()
            self.pyarrow_before = "pyarrow" in sys.modules
            started = time.perf_counter()
            try:
                return super()._upload(plan, rejects)
            finally:
                self.upload_seconds = time.perf_counter() - started

    return Timed(
        task_id="import",
        source=source,
        columns=COLUMNS,
        create_on_no_match=True,
        add_to_lists=[LIST_ID],
        poll_interval=0.2,
    )


def run(source: str) -> dict:
    op = _operator(source)
    started = time.perf_counter()
    result = op.execute({"ti": mock.MagicMock()})
    return {
        "seconds": time.perf_counter() - started,
        "upload_seconds": op.upload_seconds,
        "rss_before_mib": op.rss_before_mib,
        "pyarrow_before": op.pyarrow_before,
        "requests": op.hook.request_count,
        **result,
    }


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def pyarrow_cost() -> dict:
    """Import what the operator imports, then pyarrow as the conversion does: its seconds and MiB."""
    import requests  # noqa: F401

    import airflow_provider_pardot.transfers.object_storage_to_pardot  # noqa: F401

    before, started = _rss_mib(), time.perf_counter()
    import pyarrow.compute
    import pyarrow.csv
    import pyarrow.parquet  # noqa: F401

    return {
        "pyarrow_import_seconds": time.perf_counter() - started,
        "pyarrow_import_mib": _rss_mib() - before,
    }


def premake(source: str, folder: str) -> dict:
    """The batches the operator would send, as files: what curl uploads."""
    from airflow_provider_pardot.transfers.object_storage_to_pardot import _Rejects

    op = _operator(source)
    plan = op._plan()
    batches = list(op._batches(plan, _Rejects(plan.header), folder))
    return {"batches": [b.path for b in batches], "rows": sum(b.rows for b in batches)}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "pyarrow":
        out = pyarrow_cost()
    else:
        out = run(sys.argv[2]) if mode == "run" else premake(sys.argv[2], sys.argv[3])
    print(json.dumps(out, default=str))
