"""
The read that ``hook_lineage.py`` times, in a fresh interpreter and inside a real task alike: a
task that reads the emulator's lists through the hook, twice.
"""

from __future__ import annotations

import time


def switch_reports_off() -> None:
    """What the provider did before without OpenLineage: no hook lineage report on a read."""
    import airflow_provider_pardot.lineage.openlineage as lineage

    lineage.report_hook_input = lambda *args, **kwargs: None  # the hook looks it up at each read


def read_twice() -> dict[str, float]:
    """Seconds of the first read (hook built, collector built if reported) and of the second."""
    from airflow_provider_pardot.hooks.pardot import PardotHook

    started = time.perf_counter()
    hook = PardotHook()
    rows = sum(1 for _ in hook.query("lists"))
    first = time.perf_counter() - started
    again = time.perf_counter()
    rows += sum(1 for _ in hook.query("lists"))
    return {"first": first, "again": time.perf_counter() - again, "rows": rows}
