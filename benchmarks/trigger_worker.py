"""N PardotExportTriggers waiting at once in one asyncio event loop, in a fresh process.

``trigger_worker.py URL IDS_JSON POLL_INTERVAL READY_FILE`` runs one trigger per export id in
IDS_JSON (ids may repeat), writes READY_FILE once every trigger is running, and prints one JSON
line: per-export event times (time.time()), event statuses, seconds, CPU seconds, peak RSS.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

from common import setup_airflow_in_process


async def run_all(ids: list[int], poll: float, ready: Path) -> tuple[list[dict], float]:
    from airflow_provider_pardot.triggers.export import PardotExportTrigger

    events: list[dict] = []

    async def one(export_id: int) -> None:
        trigger = PardotExportTrigger(export_id=export_id, poll_interval=poll, timeout=600)
        async for event in trigger.run():
            events.append(
                {
                    "export_id": export_id,
                    "t": time.time(),
                    "status": event.payload["status"],
                    "message": event.payload["message"],
                    "requests": event.payload["requests"],
                }
            )
            return

    tasks = [asyncio.create_task(one(i)) for i in ids]
    await asyncio.sleep(0)  # every trigger has started (and slept for its jitter)
    ready.write_text(str(time.time()))
    t0 = time.perf_counter()
    await asyncio.gather(*tasks)
    return events, time.perf_counter() - t0


def main() -> None:
    url, ids_file, poll, ready = sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
    setup_airflow_in_process(url, max_retries=3)
    import httpx  # noqa: F401

    import airflow_provider_pardot.hooks.pardot
    import airflow_provider_pardot.triggers.export  # noqa: F401

    ids = json.loads(Path(ids_file).read_text())
    cpu0 = time.process_time()
    profile_to = os.environ.get("BENCH_PROFILE")
    if profile_to:  # for the analysis in README.md: python -m pstats FILE
        import cProfile

        profiler = cProfile.Profile()
        events, seconds = profiler.runcall(asyncio.run, run_all(ids, poll, ready))
        profiler.dump_stats(profile_to)
    else:
        events, seconds = asyncio.run(run_all(ids, poll, ready))
    print(
        json.dumps(
            {
                "events": events,
                "seconds": seconds,
                "cpu": time.process_time() - cpu0,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
