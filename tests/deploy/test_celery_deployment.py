"""The provider in a distributed Airflow 3 -- CeleryExecutor over PostgreSQL and Redis,
with the scheduler, the DAG processor, the triggerer, the API server and two Celery workers as
separate processes, the emulator standing in for Pardot, the ``pardot`` pool of five slots.

Everything is asserted from the outside (the REST API, the emulator's counters, the files):

1. The example DAGs, backfilled over several data intervals at once: every run succeeds; every
   file is complete (byte for byte the emulator's) and listed in its manifest; the account never
   had more than five requests in flight (no error 66); every sensor deferred to the triggerer
   and was woken by it; every email was sent exactly once.
2. A Celery worker is SIGKILLed in the middle of a transfer (the emulator slows the download): the
   task is found without a heartbeat, retried on the other worker, and completes the transfer;
   nothing partial ever sits under a final name; the export is not created again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import TYPE_CHECKING

import pytest
from cluster import CONN_ID, HEARTBEAT_TIMEOUT, POOL, POOL_SLOTS, WORKERS
from services import wait

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.deploy, pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1200)]

EXPORT_DAG = "example_pardot_export"
EMAIL_DAG = "example_pardot_list_email"
TRIGGER_CLASS = "airflow_provider_pardot.triggers.export.PardotExportTrigger"
TODAY = dt.datetime.now(dt.UTC).date()
EXPORT_DAYS = 4  # data intervals backfilled at once
EMAIL_DAYS = 3


def _midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _backfill(cluster, dag_id: str, days: int, conf: dict, max_active_runs: int) -> None:
    """Backfill the ``days`` daily intervals that end today (the latest is the one a scheduler
    would run when the DAG is unpaused, so it makes no run of its own)."""
    body = {
        "dag_id": dag_id,
        "from_date": _midnight(TODAY - dt.timedelta(days=days)),
        "to_date": _midnight(TODAY - dt.timedelta(days=1)),
        "dag_run_conf": conf,
        "max_active_runs": max_active_runs,
    }
    cluster.api("POST", "/backfills", json=body)


def _runs(cluster, dag_id: str) -> list[dict]:
    return cluster.api("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "logical_date"})["dag_runs"]


class Observer:
    """Samples the deferred task instances while runs go on (the trigger row exists only then)."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.deferred: dict[tuple[str, str, str], dict] = {}

    def sample(self) -> None:
        tis = self.cluster.api(
            "GET", "/dags/~/dagRuns/~/taskInstances", params={"state": "deferred", "limit": 100}
        )["task_instances"]
        for ti in tis:
            self.deferred[(ti["dag_id"], ti["dag_run_id"], ti["task_id"])] = {
                "classpath": (ti.get("trigger") or {}).get("classpath"),
                "triggerer_job": ti.get("triggerer_job"),
            }

    def wait_for_runs(self, expected: dict[str, int], timeout: float) -> dict[str, list[dict]]:
        deadline = time.monotonic() + timeout
        while True:
            self.sample()
            runs = {dag_id: _runs(self.cluster, dag_id) for dag_id in expected}
            finished = all(
                len(runs[d]) >= n and all(r["state"] in ("success", "failed") for r in runs[d])
                for d, n in expected.items()
            )
            if finished:
                return runs
            if time.monotonic() > deadline:
                states = {d: [(r["dag_run_id"], r["state"]) for r in rs] for d, rs in runs.items()}
                raise TimeoutError(f"runs not finished in {timeout:.0f} s: {states}\n{self.cluster.tail()}")
            time.sleep(1)


def _states(cluster, dag_id: str, run_id: str) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in cluster.task_instances(dag_id, run_id)}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_delivery(cluster, folder: Path) -> dict:
    """The folder holds exactly the export's files, byte for byte, and a manifest listing them."""
    manifest = json.loads((folder / "_manifest.json").read_text())
    source = cluster.emulator_control.export_files(manifest["export_id"])
    names = [f"part-{i:05d}.csv" for i in range(len(source))]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "_manifest.json"])
    assert [f["name"] for f in manifest["files"]] == names
    for name, entry, src in zip(names, manifest["files"], source, strict=True):
        assert _sha256(folder / name) == src["sha256"], name
        assert (entry["rows"], entry["bytes"]) == (src["rows"], src["bytes"]), name
    assert manifest["total_rows"] == sum(f["rows"] for f in source) > 0
    return manifest


def test_example_dags_over_several_intervals_at_once(deployment):
    cluster = deployment
    emulator = cluster.emulator_control
    for dag_id in (EXPORT_DAG, EMAIL_DAG):
        cluster.wait_for_dag(dag_id)
    assert cluster.api("GET", "/importErrors")["import_errors"] == []
    # The recipe is in place: the pool has five slots and every Pardot task is in it.
    assert cluster.api("GET", f"/pools/{POOL}")["slots"] == POOL_SLOTS
    for dag_id in (EXPORT_DAG, EMAIL_DAG):
        tasks = cluster.api("GET", f"/dags/{dag_id}/tasks")["tasks"]
        pardot = [t for t in tasks if t["class_ref"]["module_path"].startswith("airflow_provider_pardot.")]
        assert pardot
        assert {t["pool"] for t in pardot} == {POOL}, [(t["task_id"], t["pool"]) for t in pardot]

    export_dest = cluster.output / "export"
    _backfill(
        cluster, EXPORT_DAG, EXPORT_DAYS, {"pardot_conn_id": CONN_ID, "dest": f"file://{export_dest}"}, 4
    )
    # Each run reads the email of the run before it: one run at a time.
    _backfill(cluster, EMAIL_DAG, EMAIL_DAYS, {"pardot_conn_id": CONN_ID}, 1)
    for dag_id in (EXPORT_DAG, EMAIL_DAG):
        cluster.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    observer = Observer(cluster)
    runs = observer.wait_for_runs({EXPORT_DAG: EXPORT_DAYS, EMAIL_DAG: EMAIL_DAYS}, timeout=600)

    # Every run is one of the backfill's, and succeeded.
    for dag_id, days in ((EXPORT_DAG, EXPORT_DAYS), (EMAIL_DAG, EMAIL_DAYS)):
        assert [r["run_type"] for r in runs[dag_id]] == ["backfill"] * days, runs[dag_id]
        for run in runs[dag_id]:
            states = _states(cluster, dag_id, run["dag_run_id"])
            assert run["state"] == "success", (dag_id, run["dag_run_id"], states, cluster.tail())

    state = emulator.state()
    # Pardot's limit held across both workers and the triggerer: no request met error 66.
    assert state["errors"].get("66", 0) == 0, state["errors"]
    assert state["max_in_flight"] <= 5
    assert state["exports"] == EXPORT_DAYS

    export_ids = set()
    hosts = set()
    for run in runs[EXPORT_DAG]:
        run_id, start = run["dag_run_id"], run["data_interval_start"][:10]
        manifest = _check_delivery(cluster, export_dest / "visitor_activity" / f"date={start}")
        export_ids.add(manifest["export_id"])
        assert emulator.get_export(manifest["export_id"])["procedure"]["arguments"]["created_after"] == (
            f"{start} 00:00:00"
        )
        # The sensor deferred to the triggerer and the trigger's event woke it: one try, resumed
        # in execute_complete, which reports the trigger's requests.
        deferred = observer.deferred.get((EXPORT_DAG, run_id, "wait_for_export"))
        assert deferred, (run_id, "never seen deferred", observer.deferred)
        assert deferred["classpath"] == TRIGGER_CLASS, deferred
        assert deferred["triggerer_job"], deferred
        assert [t[:2] for t in cluster.hosts_of(EXPORT_DAG, run_id, "wait_for_export")] == [(1, "success")]
        assert "by the trigger" in cluster.task_log(EXPORT_DAG, run_id, "wait_for_export")
        for task_id in ("create_export", "wait_for_export", "export_to_storage"):
            hosts |= {h for _, _, h in cluster.hosts_of(EXPORT_DAG, run_id, task_id)}
    assert len(export_ids) == EXPORT_DAYS
    assert hosts <= set(WORKERS), hosts

    # Each run scheduled its email exactly once; each later run read the statistics of the one before.
    sends = emulator.sends()
    assert len(sends) == EMAIL_DAYS, sends
    expected_times = [f"{r['data_interval_end'][:10]}T09:00:00" for r in runs[EMAIL_DAG]]
    assert sorted(s["scheduled_time"][:19] for s in sends) == sorted(expected_times)
    email_ids = [s["email_id"] for s in sorted(sends, key=lambda s: s["scheduled_time"])]
    stats = [r["path"] for r in emulator.requests() if "/do/stats/" in r["path"]]
    assert stats == [f"/api/email/version/4/do/stats/id/{i}" for i in email_ids[:-1]], stats


def test_a_worker_killed_mid_transfer_is_retried_on_the_other(deployment):
    cluster = deployment
    emulator = cluster.emulator_control
    exports_before = emulator.state()["exports"]
    # Every result file now trickles in (about 40 s a file), so the kill lands in the middle.
    emulator.faults({"match": r"/results/", "kind": "throttle", "bytes_per_second": 3000})
    dest = cluster.output / "crash"
    day = TODAY - dt.timedelta(days=EXPORT_DAYS + 1)
    run_id = cluster.trigger(
        EXPORT_DAG, conf={"pardot_conn_id": CONN_ID, "dest": f"file://{dest}"}, logical_date=_midnight(day)
    )
    run = cluster.api("GET", f"/dags/{EXPORT_DAG}/dagRuns/{run_id}")
    folder = dest / "visitor_activity" / f"date={run['data_interval_start'][:10]}"

    def downloading() -> str | None:
        ti = cluster.api("GET", f"/dags/{EXPORT_DAG}/dagRuns/{run_id}/taskInstances/export_to_storage")
        started = folder.exists() and any(p.stat().st_size > 0 for p in folder.iterdir())
        return ti["hostname"] if ti["state"] == "running" and ti["hostname"] and started else None

    victim = wait(downloading, 300, "the transfer never started downloading")
    assert victim in WORKERS, victim
    cluster.processes[victim].kill()
    emulator.clear_faults()
    # Only temporaries (".<name>.<token>.tmp") hold the partial data: no final name exists.
    partial = sorted(p.name for p in folder.iterdir())
    assert partial
    assert all(name.startswith(".") and name.endswith(".tmp") for name in partial), partial

    # Found without a heartbeat, failed, retried on the surviving worker, and finished there.
    run = cluster.wait_for_run(EXPORT_DAG, run_id, timeout=HEARTBEAT_TIMEOUT + 300)
    assert run["state"] == "success", (_states(cluster, EXPORT_DAG, run_id), cluster.tail())
    tries = cluster.hosts_of(EXPORT_DAG, run_id, "export_to_storage")
    (survivor,) = set(WORKERS) - {victim}
    assert tries == [(1, "failed", victim), (2, "success", survivor)], tries
    _check_delivery(cluster, folder)  # complete, and the killed try's temporaries are gone

    # The export was made once: the retry moved the same export's files.
    assert emulator.state()["exports"] == exports_before + 1
    assert [t[:2] for t in cluster.hosts_of(EXPORT_DAG, run_id, "create_export")] == [(1, "success")]
