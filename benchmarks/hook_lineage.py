"""What reporting every read to Airflow's hook lineage collector costs a task.

Each measure runs in a fresh interpreter (a task's process), against the emulator, twice: with the
hook's reports (as shipped) and with them switched off (the hook's ``report_hook_input`` replaced
by a no-op: what the provider did before without the OpenLineage provider configured). Printed:
the median seconds of each over ``--runs`` runs, their ratio, and how many times Airflow built
its collector in the process.

``--in-task`` measures the same read inside a real Airflow task (``airflow dags test`` on a fresh
SQLite database), once without and once with OpenLineage configured (console transport): whether
Airflow had built its collector before the task's first read, the first and second reads' seconds,
and the whole ``dags test`` run's.

    .venv/bin/python benchmarks/hook_lineage.py [--runs 5] [--in-task]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

from common import BENCH, Emulator, airflow_env

WORKER = textwrap.dedent(
    """
    import json, sys, tempfile, time
    from unittest import mock

    from hook_read import read_twice, switch_reports_off

    mode, what = sys.argv[1], sys.argv[2]
    import airflow_provider_pardot.hooks.pardot  # imports are not what is measured
    if mode == "off":
        switch_reports_off()
    from airflow.providers.common.compat.sdk import get_hook_lineage_collector as built

    started = time.perf_counter()
    if what == "read":  # a @task that reads through the hook
        result = read_twice()
        first, again, rows = result["first"], result["again"], result["rows"]
    else:  # the query transfer: a read, then object-storage writes
        from airflow_provider_pardot.transfers.pardot_to_object_storage import (
            PardotQueryToObjectStorageOperator,
        )
        op = PardotQueryToObjectStorageOperator(
            task_id="q", object_name="lists", dest="file://" + tempfile.mkdtemp(), overwrite=True
        )
        rows = len(op.execute({"ti": mock.MagicMock()}))
        first = time.perf_counter() - started
        again = 0.0
    info = built.cache_info() if hasattr(built, "cache_info") else None
    print(json.dumps({"first": first, "again": again, "rows": rows,
                      "builds": info.misses if info else None}))
    """
)


def run(url: str, mode: str, what: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, mode, what],
        env=airflow_env(url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


TASK_DAG = textwrap.dedent(
    """
    from __future__ import annotations

    from airflow.sdk import dag, task


    @dag(schedule=None)
    def hook_lineage_cost():
        @task
        def read():
            import json, os
            from pathlib import Path

            from airflow.providers.common.compat.sdk import get_hook_lineage_collector as built
            from hook_read import read_twice, switch_reports_off

            if os.environ["PARDOT_REPORTS"] == "off":
                switch_reports_off()
            built_before = built.cache_info().currsize
            result = {"built_before": built_before, **read_twice()}
            Path(os.environ["PARDOT_OUT"]).write_text(json.dumps(result))

        read()


    hook_lineage_cost()
    """
)


def in_task(url: str, runs: int) -> None:
    """The read inside a real task, reports on and off, without and with OpenLineage configured."""
    import tempfile
    import time
    from pathlib import Path

    from airflow_run import AirflowHome
    from common import connection

    root = Path(tempfile.mkdtemp(prefix="hook-lineage-"))
    (root / "dags").mkdir()
    (root / "dags" / "hook_lineage_cost.py").write_text(TASK_DAG)
    home, out = AirflowHome(root / "home", root / "dags"), root / "out.json"
    for lineage in ("no lineage reader", "OpenLineage (console)"):
        results: dict[str, list[dict]] = {"on": [], "off": []}
        for mode in ("on", "off") * runs:
            env = {"PARDOT_REPORTS": mode, "PARDOT_OUT": str(out), "PYTHONPATH": str(BENCH)}
            if lineage.startswith("OpenLineage"):
                env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = '{"type": "console"}'
            started = time.perf_counter()
            run = home.dags_test("hook_lineage_cost", connections={"pardot_default": connection(url)}, extra_env=env)
            if not run.succeeded:
                raise RuntimeError(run.output[-3000:])
            results[mode].append(json.loads(out.read_text()) | {"wall": time.perf_counter() - started})
        med = {m: {k: statistics.median(r[k] for r in rs) for k in ("first", "again", "wall")} for m, rs in results.items()}
        before = sorted({r["built_before"] for rs in results.values() for r in rs})
        print(
            f"in a task, {lineage}: first read {med['on']['first']:.3f}s reported vs "
            f"{med['off']['first']:.3f}s not; second read {med['on']['again'] * 1e3:.1f} vs "
            f"{med['off']['again'] * 1e3:.1f} ms; dags test {med['on']['wall']:.1f} vs {med['off']['wall']:.1f} s; "
            f"collector built before the first read: {before}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-task", action="store_true", help="measure inside a real task (airflow dags test)")
    args = parser.parse_args()
    with Emulator("--export-delay", "0", "--records", "list=300", name="lineage") as emulator:
        if args.in_task:
            in_task(emulator.url, args.runs)
            return 0
        for what in ("read", "transfer"):
            results = {mode: [run(emulator.url, mode, what) for _ in range(args.runs)] for mode in ("on", "off")}
            first = {mode: statistics.median(r["first"] for r in rs) for mode, rs in results.items()}
            again = {mode: statistics.median(r["again"] for r in rs) for mode, rs in results.items()}
            builds = {mode: sorted({r["builds"] for r in rs}, key=str) for mode, rs in results.items()}
            print(
                f"{what}: reported {first['on']:.3f}s, not reported {first['off']:.3f}s "
                f"(ratio {first['on'] / first['off']:.2f}; second read {again['on'] * 1e3:.1f} vs "
                f"{again['off'] * 1e3:.1f} ms); collector built {builds['on']} vs {builds['off']} time(s)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
