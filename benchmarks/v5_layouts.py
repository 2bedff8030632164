"""How the parallel v5 paging does on many id layouts, without the emulator: ``v5_layouts.py [LAYOUT ...]``.

Drives the hook's own :class:`~airflow_provider_pardot.api.v5_paging.ParallelPages` (five threads)
against an in-memory server: pages of a sorted id list with ``idGreaterThan``/``idLessThan``,
``orderBy=id ASC|DESC``, ``limit`` and ``nextPageToken``, each answered after ``LATENCY`` seconds.
Prints, per layout and run, the time in rounds of the latency (the limit is ``pages / 5``; 11 is
the floor with the first round's two requests) and the calls (at most ``pages + 7``), and checks
every record came once. A tool for trying the plan (``api/v5_ranges.py``) on shapes the emulator
does not seed; the timings here are the plan's, not Pardot's.
"""

from __future__ import annotations

import bisect
import itertools
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_pardot.api.v5_paging import ParallelPages, V5Page

LATENCY = 0.04
RECORDS = 50_000


def _step(layout: str, k: int, n: int, rng: random.Random) -> int:
    """The gap after the ``k``-th of ``n`` ids: small inside a burst, large outside."""
    dense, sparse = rng.randint(1, 3), rng.randint(1, 1201)
    if layout == "clustered":  # nine in ten in the last 3% of the span
        return sparse if k < n // 10 else dense
    if layout == "early":  # nine in ten in the first 3%
        return dense if k < n - n // 10 else sparse
    if layout == "two-bursts":
        return dense if n // 5 < k < 2 * n // 5 or k > 4 * n // 5 else rng.randint(1, 601)
    if layout == "middle":
        return dense if 2 * n // 5 < k < 3 * n // 5 else rng.randint(1, 201)
    if layout == "growing":  # ever denser
        return max(1, int(2000 * (1 - k / n) ** 3))
    if layout == "random":
        return rng.choice([1, 2, 3, 50, 1000])
    return dense


LAYOUTS = ("even", "clustered", "early", "two-bursts", "middle", "growing", "random")


def layout_ids(layout: str, n: int = RECORDS) -> list[int]:
    rng, ids, cur = random.Random(42), [], 30_001
    for k in range(n):
        ids.append(cur)
        cur += _step(layout, k, n, rng)
    return ids


class Server:
    """Pages of a sorted id list, as Pardot pages a v5 query ordered by id."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.calls = ids, 0
        self.tokens: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def fetch(self, params: dict[str, str]) -> V5Page:
        with self._lock:
            self.calls += 1
            state = self.tokens[params["nextPageToken"]] if "nextPageToken" in params else self._state(params)
            rows = self._rows(state)
            token = None
            if len(rows) == state["limit"]:
                token = f"t{next(self._numbers)}"
                self.tokens[token] = {**state, "resume": rows[-1]}
        time.sleep(LATENCY)
        return V5Page([{"id": i} for i in rows], token, "")

    @staticmethod
    def _state(params: dict[str, str]) -> dict[str, Any]:
        return {
            "after": int(params.get("idGreaterThan", -1)),
            "before": int(params.get("idLessThan", 10**18)),
            "down": params["orderBy"].endswith("DESC"),
            "limit": int(params["limit"]),
            "resume": None,
        }

    def _rows(self, state: dict[str, Any]) -> list[int]:
        lo, hi = bisect.bisect_right(self.ids, state["after"]), bisect.bisect_left(self.ids, state["before"])
        if state["resume"] is not None and state["down"]:
            hi = min(hi, bisect.bisect_left(self.ids, state["resume"]))
        elif state["resume"] is not None:
            lo = max(lo, bisect.bisect_right(self.ids, state["resume"]))
        if state["down"]:
            return self.ids[max(hi - state["limit"], lo) : hi][::-1]
        return self.ids[lo : min(lo + state["limit"], hi)]


class Query:
    """What :class:`ParallelPages` asks of a query: fields, filters and id bounds (none here)."""

    request_fields = "id"
    params: dict[str, str] = {}
    id_after = id_before = None

    @staticmethod
    def id_params(after: int | None, before: int | None) -> dict[str, str]:
        bounds = {"idGreaterThan": after, "idLessThan": before}
        return {name: str(value) for name, value in bounds.items() if value is not None}


def pull(ids: list[int]) -> tuple[float, int]:
    server = Server(ids)
    start = time.perf_counter()
    got = [r["id"] for page in ParallelPages(server.fetch, Query(), 5, 1000).pages() for r in page]  # type: ignore[arg-type]
    rounds = (time.perf_counter() - start) / LATENCY
    if sorted(got) != ids:
        raise SystemExit(f"{len(got)} records, {len(set(got))} unique, of {len(ids)}")
    return rounds, server.calls


def main() -> None:
    for layout in sys.argv[1:] or LAYOUTS:
        ids = layout_ids(layout)
        runs = [pull(ids) for _ in range(3)]
        print(
            f"{layout:>11}: rounds {', '.join(f'{r:.1f}' for r, _ in runs)} "
            f"(limit {len(ids) / 5000:.0f}), calls {', '.join(str(c) for _, c in runs)} (at most {-(-len(ids) // 1000) + 7})"
        )


if __name__ == "__main__":
    main()
