"""Profile one v5 pull: ``v5_timeline.py [LAYOUT ...] [--concurrency N]`` prints each request's slot timeline.

Starts the emulator with 250 ms per request, seeds 50,000 lists on each layout, pulls them through
``PardotHook.query("lists", concurrency=N)`` in this process and prints, per request: its thread,
start and end (in units of the latency), the range it asked (or the token it followed) and the ids
it brought (``-v``), and for each thread its requests, the time it was busy and when it ended: a thread
that ends early, or is busy for less than the others, idled while the rest paged.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Emulator, setup_airflow_in_process

LATENCY_MS = 250
RECORDS = 50_000


def _describe(params: dict[str, str]) -> str:
    if "nextPageToken" in params:
        return "token"
    keys = ("idGreaterThan", "idLessThan", "orderBy", "limit")
    return " ".join(f"{k}={params[k]}" for k in keys if k in params) + (
        " ids-only" if params.get("fields") == "id" else ""
    )


def pull(concurrency: int) -> tuple[list[tuple], float, int]:
    from airflow_provider_pardot.api import v5_paging
    from airflow_provider_pardot.hooks.pardot import PardotHook

    rows: list[tuple] = []
    lock = threading.Lock()
    original = v5_paging.v5_records

    def records(fetch, query, **kw):
        def timed(params):
            t0 = time.perf_counter()
            page = fetch(params)
            t1 = time.perf_counter()
            ids = [v["id"] for v in page.values]
            with lock:
                rows.append(
                    (threading.current_thread().name, t0, t1, _describe(params), len(ids), ids[:1], ids[-1:])
                )
            return page

        return original(timed, query, **kw)

    v5_paging.v5_records = records
    try:
        hook = PardotHook()
        hook.query("lists", max_records=1)  # token and connection warmed, as in the benchmark's steady state
        rows.clear()
        t0 = time.perf_counter()
        seen = [row["id"] for row in hook.query("lists", concurrency=concurrency)]
        seconds = time.perf_counter() - t0
    finally:
        v5_paging.v5_records = original
    if len(seen) != RECORDS or len(set(seen)) != RECORDS:
        raise SystemExit(f"{len(seen)} records, {len(set(seen))} unique")
    return [(r[0], r[1] - t0, r[2] - t0, *r[3:]) for r in rows], seconds, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("layouts", nargs="*", default=["even", "clustered"])
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--verbose", "-v", action="store_true", help="print every request")
    args = parser.parse_args()
    latency = LATENCY_MS / 1000
    with Emulator("--latency-ms", str(LATENCY_MS), name="v5-timeline") as emu:
        setup_airflow_in_process(emu.url)
        for layout in args.layouts:
            emu.control.seed(lists=RECORDS, id_layout=layout)
            rows, seconds, calls = pull(args.concurrency)
            print(
                f"== {layout}: {seconds:.2f} s = {seconds / (RECORDS / 1000 / 5 * latency):.2f} x the limit, {calls} calls"
            )
            for name, t0, t1, what, n, first, last in sorted(rows, key=lambda r: (r[0], r[1])):
                if args.verbose:
                    print(
                        f"{name:>20} {t0 / latency:5.2f}-{t1 / latency:5.2f}  {n:5d} {first} .. {last}  {what}"
                    )
            slots: dict[str, list[tuple]] = {}
            for row in rows:
                slots.setdefault(row[0], []).append(row)
            for name, own in sorted(slots.items()):
                busy = sum(r[2] - r[1] for r in own)
                print(
                    f"{name:>20}: {len(own):2d} requests, {busy / latency:5.2f} latencies busy, last ends at {max(r[2] for r in own) / latency:5.2f}"
                )


if __name__ == "__main__":
    main()
