"""
One measured run of the import benchmark, in its own process (its peak RSS is its own).

    import_worker.py run <source> [rows]     ObjectStorageToPardotOperator.execute(): JSON with the
                                             seconds of the upload (conversion + create + batches +
                                             submit) and of the whole task, and the result; with
                                             ``rows``, converted by the csv module as without pyarrow
    import_worker.py premake <source> <dir>  the same CSV batches written to <dir> (for curl)
    import_worker.py baseline <source> [rows]  the task process's RSS before it reads a row (the
                                             plan made, the hook built, pyarrow imported unless
                                             ``rows``), and what importing pyarrow cost: seconds, MiB

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

        def _upload(self, plan, rejects):
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


def run(source: str, by_rows: bool = False) -> dict:
    if by_rows:
        from airflow_provider_pardot.files import arrow_batches

        arrow_batches.available = lambda: False
    op = _operator(source)
    started = time.perf_counter()
    result = op.execute({"ti": mock.MagicMock()})
    return {
        "seconds": time.perf_counter() - started,
        "upload_seconds": op.upload_seconds,
        "requests": op.hook.request_count,
        **result,
    }


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def baseline(source: str, by_rows: bool = False) -> dict:
    """Everything the task does before it reads a row, then pyarrow's modules imported as the conversion does."""
    op = _operator(source)
    op._plan()
    assert op.hook.request_count == 0  # the hook built (requests imported), nothing sent
    before, started = _rss_mib(), time.perf_counter()
    if not by_rows:  # what the conversion imports: compute, and the source format's reader
        import importlib

        importlib.import_module("pyarrow.compute")
        importlib.import_module("pyarrow.parquet" if source.endswith(".parquet") else "pyarrow.csv")
    return {
        "pyarrow_import_seconds": time.perf_counter() - started,
        "pyarrow_import_mib": _rss_mib() - before,
        "baseline_mib": _rss_mib(),
    }


def premake(source: str, folder: str) -> dict:
    """The batches the operator would send, as files: what curl uploads."""
    from airflow_provider_pardot.transfers.object_storage_to_pardot import _Rejects

    op = _operator(source)
    plan = op._plan()
    batches = list(op._batches(plan, _Rejects(plan.header), folder))
    return {"batches": [b.path for b in batches], "rows": sum(b.rows for b in batches)}


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "premake":
        out = premake(*args)
    else:
        out = (run if mode == "run" else baseline)(args[0], args[1:] == ["rows"])
    print(json.dumps(out, default=str))
