"""SPEC §8, "the account's API budget": one pool of five slots per business unit keeps parallel
Pardot tasks within Pardot's five concurrent requests, in a real scheduler (``airflow standalone``,
LocalExecutor) against the emulator. The control DAG runs the same load in an unbounded pool and
does go over the limit (the emulator answers error 66), so the recipe is what keeps it under."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from standalone import EmulatorProcess, Standalone, airflow_major, pardot_connection

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]

DAGS = Path(__file__).resolve().parent / "dags"
TASKS = 8
# Every list-membership page takes 3 s: the eight tasks' requests overlap for sure.
SLOW_PAGES = {"match": r"^/api/listMembership/", "kind": "delay", "seconds": 3}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if airflow_major() < 3:
        pytest.skip("the standalone scheduler test runs on Airflow 3 (LocalExecutor)")
    emu = EmulatorProcess(tmp_path_factory.mktemp("pool-emulator")).start()
    out = tmp_path_factory.mktemp("pool-output")
    sa = Standalone(
        tmp_path_factory.mktemp("airflow-home-pool"),
        dags_folder=DAGS,
        # Retries off in the hook: an error 66 would fail the task instead of being retried away.
        connections={"pardot_default": pardot_connection(emu.url, max_retries=0)},
        extra_env={
            "AIRFLOW_VAR_PARDOT_EXPORT_DEST": f"file://{out}",
            "AIRFLOW__CORE__PARALLELISM": "32",
        },
    )
    try:
        sa.start()
        sa.ensure_pool("pardot", 5)
        sa.ensure_pool("pardot_unbounded", 64)
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
