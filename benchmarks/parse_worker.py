"""DAG-parse cost of the provider, in a fresh process: ``parse_worker.py``.

Imports bare Airflow as a DAG file does first (``import airflow`` and the DAG class), then
every operator, sensor and transfer module of the provider; prints the seconds and the modules
that the provider's imports added, and whether pandas / pyarrow got imported.
"""

from __future__ import annotations

import json
import sys
import time

PROVIDER_MODULES = [
    "airflow_provider_pardot.operators.email",
    "airflow_provider_pardot.operators.lists",
    "airflow_provider_pardot.operators.export",
    "airflow_provider_pardot.sensors.export",
    "airflow_provider_pardot.transfers.pardot_to_object_storage",
]


def main() -> None:
    import importlib

    t0 = time.perf_counter()
    import airflow

    try:
        from airflow.sdk import DAG
    except ImportError:
        from airflow import DAG  # noqa: F401  (Airflow 2)
    t1, c1 = time.perf_counter(), time.process_time()
    before = set(sys.modules)
    for name in PROVIDER_MODULES:
        importlib.import_module(name)
    t2, c2 = time.perf_counter(), time.process_time()
    added = sorted(set(sys.modules) - before)
    tops = sorted({m.split(".")[0] for m in added})
    print(
        json.dumps(
            {
                "airflow": airflow.__version__,
                "baseline_seconds": t1 - t0,
                "provider_seconds": t2 - t1,
                "provider_cpu_seconds": c2 - c1,
                "modules_added": len(added),
                "top_level_added": tops,
                "pandas": "pandas" in sys.modules,
                "pyarrow": "pyarrow" in sys.modules,
            }
        )
    )


if __name__ == "__main__":
    main()
