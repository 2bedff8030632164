"""The account's API budget: one pool of five slots per business unit keeps parallel
Pardot tasks within Pardot's five concurrent requests, in a real scheduler (``airflow standalone``,
LocalExecutor) against the emulator. The control DAG runs the same load in an unbounded pool and
does go over the limit (the emulator answers error 66), so the recipe is what keeps it under.

The same scheduler shows data-aware scheduling: the example export DAG's transfer emits
its asset event, which starts the example consumer DAG, and the OpenLineage events (file transport)
of the real worker processes hold the edge from the Pardot object to the folder written."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from identities import BUSINESS_UNIT_ID
from standalone import EXAMPLE_DAGS, EmulatorProcess, Standalone, airflow_major, pardot_connection

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

DAGS = Path(__file__).resolve().parent / "dags"
TASKS = 8
# Every list-membership page takes 3 s: the eight tasks' requests overlap for sure.
SLOW_PAGES = {"match": r"^/api/listMembership/", "kind": "delay", "seconds": 3}
#: The asset pair (export, consumer), scheduled here beside the pool DAGs.
ASSET_PAIR = ("example_pardot_export.py", "example_pardot_export_consumer.py")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if airflow_major() < 3:
        pytest.skip("the standalone scheduler test runs on Airflow 3 (LocalExecutor)")
    emu = EmulatorProcess(tmp_path_factory.mktemp("pool-emulator"), "--export-delay", "1").start()
    out = tmp_path_factory.mktemp("pool-output")
    dags = tmp_path_factory.mktemp("pool-dags")
    for dag_file in [*DAGS.glob("*.py"), *(EXAMPLE_DAGS / name for name in ASSET_PAIR)]:
        shutil.copy(dag_file, dags)
    lineage = out.parent / "openlineage.jsonl"
    sa = Standalone(
        tmp_path_factory.mktemp("airflow-home-pool"),
        dags_folder=dags,
        # Retries off in the hook: an error 66 would fail the task instead of being retried away.
        connections={"pardot_default": pardot_connection(emu.url, max_retries=0)},
        extra_env={
            "AIRFLOW_VAR_PARDOT_EXPORT_DEST": f"file://{out}",
            "AIRFLOW__CORE__PARALLELISM": "32",
            "PARDOT_EXAMPLE_POLL_SECONDS": "1",
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(lineage), "append": True}
            ),
        },
    )
    try:
        sa.start()
        sa.ensure_pool("pardot", 5)
        sa.ensure_pool("pardot_unbounded", 64)
        sa.out, sa.lineage = out, lineage
        yield sa, emu
    finally:
        sa.stop()
        emu.stop()


def _run(sa: Standalone, emu: EmulatorProcess, dag_id: str) -> tuple[dict, dict[str, str]]:
    requests.post(f"{emu.url}/_emulator/reset", json={}, timeout=10).raise_for_status()
    requests.post(f"{emu.url}/_emulator/faults", json={"rules": [SLOW_PAGES]}, timeout=10).raise_for_status()
    sa.wait_for_dag(dag_id)
    run_id = sa.trigger(dag_id)
    run = sa.wait_for_run(dag_id, run_id, timeout=600)
    states = {t["task_id"]: t["state"] for t in sa.task_instances(dag_id, run_id)}
    return emu.state(), states | {"__run__": run["state"]}


def test_pool_of_five_keeps_parallel_tasks_within_pardots_limit(cluster):
    sa, emu = cluster
    state, states = _run(sa, emu, "pardot_pool_recipe")
    assert states.pop("__run__") == "success", (states, state["errors"], sa.tail())
    assert len(states) == TASKS
    assert set(states.values()) == {"success"}, states
    assert state["errors"].get("66", 0) == 0, state["errors"]
    assert state["max_in_flight"] <= 5
    # The pool was used: five tasks at a time, so requests really were in flight together.
    assert state["max_in_flight"] >= 3, state


def test_without_the_pool_the_same_load_exceeds_the_limit(cluster):
    sa, emu = cluster
    state, states = _run(sa, emu, "pardot_pool_control")
    states.pop("__run__")
    # The emulator refuses a sixth concurrent request with error 66 (so its max_in_flight stays 5);
    # with no hook retries, those tasks fail.
    assert state["errors"].get("66", 0) > 0, (state, states)
    assert "failed" in states.values(), states


# --------------------------------------------------------------------------- assets
def _dag_runs(sa: Standalone, dag_id: str) -> list[dict]:
    return sa.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]


def _wait_for_finished_run(sa: Standalone, dag_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = [r for r in _dag_runs(sa, dag_id) if r["state"] in ("success", "failed")]
        if runs:
            return runs[0]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no finished run of {dag_id} in {timeout:.0f} s:\n{sa.tail()}")
        time.sleep(2)


def test_the_transfers_asset_event_starts_the_consumer_dag(cluster):
    sa, emu = cluster
    requests.post(f"{emu.url}/_emulator/reset", json={}, timeout=10).raise_for_status()
    for dag_id in ("example_pardot_export_consumer", "example_pardot_export"):
        sa.wait_for_dag(dag_id)
    # Unpaused, the consumer waits for the asset; the producer's scheduler run (the latest daily
    # interval, catchup=False) starts by itself.
    sa.api("PATCH", "/dags/example_pardot_export_consumer", json={"is_paused": False})
    sa.api("PATCH", "/dags/example_pardot_export", json={"is_paused": False})

    producer = _wait_for_finished_run(sa, "example_pardot_export")
    assert producer["state"] == "success", (producer, sa.tail())
    consumer = _wait_for_finished_run(sa, "example_pardot_export_consumer", timeout=180)
    assert consumer["state"] == "success", (consumer, sa.tail())
    assert consumer["run_type"] == "asset_triggered"
    assert len(_dag_runs(sa, "example_pardot_export_consumer")) == 1

    # The event that started it, and what the consumer made of it.
    interval_start = producer["data_interval_start"][:10]
    folder = sa.out / "visitor_activity" / f"date={interval_start}"
    manifest = json.loads((folder / "_manifest.json").read_text())
    extra = {
        "export_id": manifest["export_id"],
        "rows": manifest["total_rows"],
        "bytes": manifest["total_bytes"],
        "files": len(manifest["files"]),
        "uri": f"file://{folder}",
    }
    assert manifest["total_rows"] > 0
    run_id = consumer["dag_run_id"]
    events = sa.api("GET", f"/dags/example_pardot_export_consumer/dagRuns/{run_id}/upstreamAssetEvents")
    (event,) = events["asset_events"]
    assert event["uri"] == "file:///tmp/pardot-demo/visitor_activity"
    assert (event["source_dag_id"], event["source_task_id"]) == ("example_pardot_export", "export_to_storage")
    assert event["extra"] == extra
    xcom = sa.api(
        "GET",
        f"/dags/example_pardot_export_consumer/dagRuns/{run_id}/taskInstances/report_delivery"
        "/xcomEntries/return_value",
    )
    value = xcom["value"]
    assert (json.loads(value) if isinstance(value, str) else value) == [extra]

    # OpenLineage from the real worker: the edge pardot://<business unit>/visitorActivity -> folder.
    lines = sa.lineage.read_text().splitlines()
    completes = [
        e
        for e in map(json.loads, lines)
        if e["eventType"] == "COMPLETE" and e["job"]["name"] == "example_pardot_export.export_to_storage"
    ]
    (complete,) = completes
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (f"pardot://{BUSINESS_UNIT_ID}", "visitorActivity")
    ]
    assert [(d["namespace"], d["name"]) for d in complete["outputs"]] == [("file", str(folder).lstrip("/"))]
    assert complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == manifest["total_rows"]
