"""One timed pull of every ``list`` record, in a fresh process: ``v5_worker.py MODE URL``.

MODE is ``hook-v4`` (``PardotHook.query("list")``, today's v4 paging, 200 a call), ``hook-v5-c1``
and ``hook-v5-c5`` (``PardotHook.query("lists", concurrency=1 or 5)``), or ``bare-v5``: a
``requests.Session`` loop that asks the first v5 page (``limit=1000``, the same fields as the
hook's default) and then follows ``nextPageUrl`` as it is, one page at a time, until it is null,
which is what Airbyte's and amp-labs' connectors do. Prints one JSON line: records, unique ids,
seconds, client CPU seconds during the pull, and the client's own call count. Ids are checked in
a bitmap, so the worker's own memory does not grow with the records (peak RSS is the client's).
"""

from __future__ import annotations

import json
import sys
import time

from api import headers, token
from common import setup_airflow_in_process


class Seen:
    """Count records and unique ids in memory that does not grow with the records (ids are dense)."""

    def __init__(self) -> None:
        self.bits = bytearray()
        self.base: int | None = None
        self.records = self.unique = 0

    def add(self, record_id: int) -> None:
        self.records += 1
        if self.base is None:
            self.base = record_id - 1_000_000
        i = record_id - self.base
        if i >= len(self.bits):
            self.bits.extend(bytes(i - len(self.bits) + 65536))
        if not self.bits[i]:
            self.bits[i] = 1
            self.unique += 1


def pull_hook(object_name: str, concurrency: int):
    from airflow_provider_pardot.hooks.pardot import PardotHook

    hook = PardotHook()
    kwargs = {"concurrency": concurrency} if concurrency > 1 else {}
    seen = Seen()
    for row in hook.query(object_name, **kwargs):
        seen.add(row["id"])
    return seen, hook.request_count


def pull_bare_v5(url: str):
    import requests

    from airflow_provider_pardot.api.v5 import V5_OBJECTS

    session = requests.Session()
    session.headers.update({**headers(token(url)), "X-Return-Api-Usage": "1", "Accept": "application/json"})
    fields = ",".join(V5_OBJECTS["lists"].fields)
    response = session.get(
        f"{url}/api/v5/objects/lists", params={"fields": fields, "limit": 1000}, timeout=60
    )
    seen = Seen()
    calls = 1
    while True:
        response.raise_for_status()
        body = response.json()
        for record in body["values"]:
            seen.add(record["id"])
        if not body.get("nextPageUrl"):
            return seen, calls
        response = session.get(body["nextPageUrl"], timeout=60)
        calls += 1


def warm_up(mode: str) -> None:
    """Imports, and for the hook Airflow's hook-lineage collector, built once per process on the first read
    (``benchmarks/hook_lineage.py`` measures that): neither is part of the pull."""
    import requests  # noqa: F401

    from airflow_provider_pardot.api.v5 import V5_OBJECTS  # noqa: F401

    if mode.startswith("hook"):
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

        from airflow_provider_pardot.api import v5_paging  # noqa: F401
        from airflow_provider_pardot.hooks.pardot import PardotHook  # noqa: F401

        get_hook_lineage_collector()


def main() -> None:
    mode, url = sys.argv[1], sys.argv[2]
    setup_airflow_in_process(url)
    warm_up(mode)

    pulls = {
        "hook-v4": lambda: pull_hook("list", 1),
        "hook-v5-c1": lambda: pull_hook("lists", 1),
        "hook-v5-c5": lambda: pull_hook("lists", 5),
        "bare-v5": lambda: pull_bare_v5(url),
    }
    cpu0, t0 = time.process_time(), time.perf_counter()
    seen, calls = pulls[mode]()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    print(
        json.dumps(
            {
                "mode": mode,
                "records": seen.records,
                "unique": seen.unique,
                "seconds": seconds,
                "cpu": cpu,
                "client_calls": calls,
            }
        )
    )


if __name__ == "__main__":
    main()
