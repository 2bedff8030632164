"""DAG-parse cost of the provider, in a fresh process: ``parse_worker.py``.

Imports bare Airflow as a DAG file does first (``import airflow`` and the DAG class), then every
public module of the provider (the hook, operator, sensor, trigger and transfer modules its provider
info registers, and its links); prints the wall and CPU seconds of those imports, measured inside
this interpreter (so the swing of Airflow's own import does not hide them), the modules they added,
the top-level packages other than Airflow's and the provider's, and the CPU time of the full
garbage collections (generation 2) that ran during those imports: the collector starts one when
enough objects have piled up since the last, whoever allocated them, and over Airflow's heap one
costs far more than compiling the provider.
"""

from __future__ import annotations

import json
import sys
import time


def provider_modules() -> list[str]:
    """The public modules, as the provider registers them (read without importing them)."""
    from airflow_provider_pardot.get_provider_info import get_provider_info

    info = get_provider_info()
    kinds = ("hooks", "operators", "sensors", "triggers")
    found = [m for kind in kinds for entry in info[kind] for m in entry["python-modules"]]
    found += [entry["python-module"] for entry in info["transfers"]]
    return found + sorted({link.rsplit(".", 1)[0] for link in info["extra-links"]})


OWN = ("airflow", "airflow_provider_pardot")


class ImporterLog:
    """Remembers which module first imported each package other than Airflow's and the provider's
    (a meta-path finder that only looks and finds nothing: the import goes on as usual)."""

    def __init__(self) -> None:
        self.importers: dict[str, str] = {}

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in OWN or top in self.importers or name in sys.modules:
            return None
        frame = sys._getframe(1)
        while frame is not None:
            module = frame.f_globals.get("__name__", "")
            if not module.startswith(("importlib", "_frozen_importlib", top)) and module != __name__:
                self.importers[top] = module
                break
            frame = frame.f_back
        return None


class FullCollections:
    """The CPU seconds spent in full garbage collections (generation 2) while it is installed."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.process_time()
        else:
            self.count += 1
            self.seconds += time.process_time() - self._started


def main() -> None:
    import gc
    import importlib

    t0 = time.perf_counter()
    import airflow

    try:
        from airflow.sdk import DAG
    except ImportError:
        from airflow import DAG  # noqa: F401  (Airflow 2)
    modules = provider_modules()
    t1, c1 = time.perf_counter(), time.process_time()
    before = set(sys.modules)
    importers = ImporterLog()
    sys.meta_path.insert(0, importers)
    collections = FullCollections()
    gc.callbacks.append(collections)
    for name in modules:
        importlib.import_module(name)
    t2, c2 = time.perf_counter(), time.process_time()
    gc.callbacks.remove(collections)
    sys.meta_path.remove(importers)
    by_airflow = {t for t, m in importers.importers.items() if m.partition(".")[0] == "airflow"}
    added = sorted(set(sys.modules) - before)
    tops = sorted({m.split(".")[0] for m in added})
    print(
        json.dumps(
            {
                "airflow": airflow.__version__,
                "baseline_seconds": t1 - t0,
                "provider_seconds": t2 - t1,
                "provider_cpu_seconds": c2 - c1,
                "full_gc_count": collections.count,
                "full_gc_cpu_seconds": collections.seconds,
                "modules_added": len(added),
                "top_level_added": tops,
                # packages the provider's modules load themselves; those Airflow's own base classes
                # load (pydantic for BaseTrigger on Airflow 3) are Airflow's
                "foreign_added": [t for t in tops if t not in OWN and t not in by_airflow],
                "airflow_loaded": sorted(by_airflow),
                "pandas": "pandas" in sys.modules,
                "pyarrow": "pyarrow" in sys.modules,
            }
        )
    )


if __name__ == "__main__":
    main()
