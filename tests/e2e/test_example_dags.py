"""The example DAGs parse cleanly and run green in a real Airflow (``airflow dags test``) against the
Pardot emulator; ``scripts/demo.sh`` (``make demo``) works end to end."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from airflow_run import AirflowHome
from standalone import EXAMPLE_DAGS, ROOT, VENV_BIN, airflow_major, pardot_connection

pytestmark = pytest.mark.e2e

EXAMPLE_DAG_IDS = {
    "example_pardot_audience_import",
    "example_pardot_export",
    "example_pardot_export_consumer",
    "example_pardot_incremental_query",
    "example_pardot_list_email",
    "example_pardot_v5_incremental",
}
#: Example DAGs that call no Pardot API (so need no pool slot).
NO_PARDOT_TASKS = {"example_pardot_export_consumer"}
TODAY = dt.datetime.now(dt.UTC).date()
TOMORROW = TODAY + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    # A fresh Airflow: no pool but default_pool.
    home = AirflowHome(tmp_path_factory.mktemp("airflow-home-examples"), EXAMPLE_DAGS)
    home.sync_dags_on_airflow_2()  # the consumer reads the producer's Dataset event
    return home


@pytest.fixture
def run_dag(airflow_home, emulator, tmp_path):
    """``airflow dags test <dag_id> <date>`` against the (freshly reset) emulator; files go to tmp_path."""
    dest = tmp_path / "out"

    def run(dag_id: str, date: dt.date, conf: dict | None = None, **extra_env: str):
        env = {
            "AIRFLOW_VAR_PARDOT_EXPORT_DEST": f"file://{dest}",
            "PARDOT_EXAMPLE_POLL_SECONDS": "1",
            **extra_env,
        }
        result = airflow_home.dags_test(
            dag_id,
            connections={"pardot_default": pardot_connection(emulator.url)},
            extra_env=env,
            logical_date=date.isoformat(),
            conf=conf,
        )
        assert result.succeeded, result.output[-6000:]
        return result

    run.dest = dest
    return run


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


# --------------------------------------------------------------------------- parsing
def _cli_json(home: AirflowHome, *args: str):
    """Run an ``airflow`` command with ``-o json`` and parse the JSON at the end of its output."""
    home.migrate()
    done = subprocess.run(
        [str(VENV_BIN / "airflow"), *args, "-o", "json"],
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout.strip()
    if not text or "No data found" in text:
        return []
    # Log lines such as "[warning  ] Could not import graphviz" may come first.
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("["):
            try:
                return json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
    raise AssertionError(f"no JSON in the output of airflow {' '.join(args)}:\n{text}")


def test_example_dags_have_no_import_errors(airflow_home):
    local = ["--local"] if airflow_major() >= 3 else []
    assert _cli_json(airflow_home, "dags", "list-import-errors", *local) == []
    dag_ids = {d["dag_id"] for d in _cli_json(airflow_home, "dags", "list", *local)}
    assert dag_ids >= EXAMPLE_DAG_IDS


def _load_example(path: Path, monkeypatch, pool: str | None):
    """Parse an example DAG file with ``PARDOT_EXAMPLE_POOL`` set to ``pool`` (unset for None)."""
    if pool is None:
        monkeypatch.delenv("PARDOT_EXAMPLE_POOL", raising=False)
    else:
        monkeypatch.setenv("PARDOT_EXAMPLE_POOL", pool)
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}_{pool}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    pardot_tasks = [t for t in dag.tasks if type(t).__module__.startswith("airflow_provider_pardot")]
    assert bool(pardot_tasks) is (dag.dag_id not in NO_PARDOT_TASKS)
    return dag, pardot_tasks


EXAMPLES = sorted(EXAMPLE_DAGS.glob("example_*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_run_on_a_fresh_airflow_and_take_the_pool_recipe(path, monkeypatch):
    """A fresh Airflow has only ``default_pool``: a task in any other pool would stay "Scheduled"
    forever. With ``PARDOT_EXAMPLE_POOL=pardot`` every Pardot task follows the pool recipe."""
    dag, pardot_tasks = _load_example(path, monkeypatch, None)
    assert len(dag.doc_md or "") > 200, "every example DAG explains itself"
    if pardot_tasks:
        assert "PARDOT_EXAMPLE_POOL" in dag.doc_md, "the doc says how to use the production pool"
    for t in dag.tasks:
        assert t.pool == "default_pool", f"{dag.dag_id}.{t.task_id} needs pool {t.pool!r}"
    dag, pardot_tasks = _load_example(path, monkeypatch, "pardot")
    for t in pardot_tasks:
        assert t.pool == "pardot", f"{dag.dag_id}.{t.task_id} is in pool {t.pool!r}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_take_the_connection_id_as_a_param(path, monkeypatch):
    dag, pardot_tasks = _load_example(path, monkeypatch, None)
    if not pardot_tasks:
        pytest.skip(f"{dag.dag_id} calls no Pardot operator (e.g. a DAG scheduled on a Pardot asset)")
    assert dag.params["pardot_conn_id"] == "pardot_default"
    for t in pardot_tasks:
        assert "pardot_conn_id" in t.template_fields, f"{type(t).__name__} must template pardot_conn_id"
        assert t.pardot_conn_id == "{{ params.pardot_conn_id }}", f"{dag.dag_id}.{t.task_id}"


_PARSE_AND_LIST_MODULES = """
import runpy, sys
for path in sys.argv[1:]:
    runpy.run_path(path)
print("\\n".join(sorted(sys.modules)))
"""


def test_parsing_the_example_dags_imports_no_openlineage(tmp_path):
    """Lineage is imported lazily; parsing a DAG loads nothing of OpenLineage (nor pandas).

    Airflow itself imports every provider's ``get_provider_info`` when it reads its configuration;
    nothing more of the OpenLineage provider, and nothing of its client, may be loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    transport = {"type": "file", "log_file_path": str(tmp_path / "ol.jsonl")}
    env |= {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)}
    paths = [str(p) for p in sorted(EXAMPLE_DAGS.glob("example_*.py"))]
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_AND_LIST_MODULES, *paths],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules = set(done.stdout.split())
    assert "airflow_provider_pardot.transfers.pardot_to_object_storage" in modules  # really parsed
    discovery = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}
    assert {m for m in modules if "openlineage" in m} - discovery == set()
    assert not {m for m in modules if m.split(".")[0] in ("pandas", "pyarrow", "boto3", "s3fs")}


# --------------------------------------------------------------------------- runs
def test_export_dag_runs_end_to_end(run_dag, emulator):
    result = run_dag("example_pardot_export", TODAY)

    # The run's data interval is the previous day: [TODAY - 1 day, TODAY).
    start = TODAY - dt.timedelta(days=1)
    folder = run_dag.dest / "visitor_activity" / f"date={start}"
    manifest = _manifest(folder)
    export = emulator.get_export(manifest["export_id"])
    assert export["procedure"] == {
        "name": "filter_by_created_at",
        "arguments": {"created_after": f"{start} 00:00:00", "created_before": f"{TODAY} 00:00:00"},
    }
    assert export["state"] == "Complete"
    creates = [r for r in emulator.requests() if r["method"] == "POST" and "export" in r["path"]]
    assert len(creates) == 1, creates
    files = manifest["files"]
    assert len(files) >= 2, "the emulator splits 2,500 rows into several result files"
    assert sum(f["rows"] for f in files) == manifest["total_rows"] == 2500
    for i, f in enumerate(files):
        part = folder / f"part-{i:05d}.csv"
        assert part.stat().st_size == f["bytes"]
    assert "Pardot API:" in result.output  # every task reports its request count

    state = emulator.state()
    assert state["max_in_flight"] <= 5
    assert not state["errors"], state["errors"]

    # The transfer's asset event says what was delivered; the consumer DAG, scheduled on
    # that asset, prints it (run by hand here, it reads the latest event; test_assets_scheduler.py
    # shows the scheduler starting it).
    extra = {
        "export_id": manifest["export_id"],
        "rows": 2500,
        "bytes": manifest["total_bytes"],
        "files": len(files),
        "uri": f"file://{folder}",
    }
    consumer = run_dag("example_pardot_export_consumer", TODAY)
    assert f"Asset event extra: {extra}" in consumer.output, consumer.output[-4000:]
    assert f"delivered 2500 rows, {manifest['total_bytes']} bytes in {len(files)} file(s)" in consumer.output


def test_incremental_query_dag_pulls_only_the_interval(run_dag, emulator):
    new_lists = emulator.mutate("list", insert=7)["inserted"]
    new_histories = emulator.mutate("lifecycleHistory", insert=11)["inserted"]

    # Logical date tomorrow -> data interval [today, tomorrow): exactly the records made just now
    # (the seeded ones are older; lists updated today by the seed would count too, hence >=).
    run_dag("example_pardot_incremental_query", TOMORROW)

    lists = _manifest(run_dag.dest / "list" / f"date={TODAY}")
    histories = _manifest(run_dag.dest / "lifecycle_history" / f"date={TODAY}")
    assert lists["total_rows"] >= len(new_lists)
    assert histories["total_rows"] == len(new_histories)

    def ids(folder: Path) -> set[int]:
        lines = (folder / "part-00000.jsonl").read_text().splitlines()
        return {json.loads(line)["id"] for line in lines}

    assert set(new_lists) <= ids(run_dag.dest / "list" / f"date={TODAY}")
    assert ids(run_dag.dest / "lifecycle_history" / f"date={TODAY}") == set(new_histories)
    assert not emulator.state()["errors"]


def test_v5_incremental_dag_pulls_only_the_interval(run_dag, emulator):
    new_histories = emulator.mutate("lifecycleHistory", insert=11)["inserted"]
    new_memberships = emulator.mutate("listMembership", insert=5)["inserted"]

    # Logical date tomorrow -> data interval [today, tomorrow): the records made just now.
    run_dag("example_pardot_v5_incremental", TOMORROW)

    def rows(folder: str) -> list[dict]:
        path = run_dag.dest / folder / f"date={TODAY}" / "part-00000.csv"
        return list(csv.DictReader(io.StringIO(path.read_text())))

    histories = rows("lifecycle_histories")
    assert {int(r["id"]) for r in histories} == set(new_histories)
    assert list(histories[0]) == [
        "id",
        "prospectId",
        "previousStageId",
        "nextStageId",
        "secondsElapsed",
        "createdAt",
    ]
    memberships = rows("list_memberships")
    assert set(new_memberships) <= {int(r["id"]) for r in memberships}
    assert _manifest(run_dag.dest / "lifecycle_histories" / f"date={TODAY}")["total_rows"] == 11
    v5 = [r for r in emulator.requests() if r["path"].startswith("/api/v5/objects/")]
    assert {r["path"] for r in v5} == {
        "/api/v5/objects/lifecycle-histories",
        "/api/v5/objects/list-memberships",
    }
    first = next(r for r in v5 if r["path"].endswith("lifecycle-histories"))
    assert first["query"]["createdAtAfterOrEqualTo"] == [f"{TODAY}T00:00:00+00:00"]
    assert first["query"]["createdAtBefore"] == [f"{TOMORROW}T00:00:00+00:00"]
    assert not emulator.state()["errors"]


def test_an_example_without_its_connection_fails_at_once(tmp_path):
    """On a fresh Airflow with no ``pardot_default``, an example's run fails in its first try (no
    retry, no retry delay: example_pardot_v5_incremental has retries=2, 5 minutes apart, and
    max_active_runs=1, so a run waiting out its retries would hold back the user's next run), and
    the log says which connection to add or which param to set."""
    import sqlite3

    home = AirflowHome(tmp_path / "home", EXAMPLE_DAGS)
    result = home.dags_test("example_pardot_v5_incremental", logical_date=TODAY.isoformat(), timeout=300)
    assert not result.succeeded
    assert "The Pardot connection 'pardot_default' does not exist" in result.output, result.output[-4000:]
    assert "airflow connections add pardot_default --conn-type pardot" in result.output
    assert "DAG param pardot_conn_id" in result.output
    with sqlite3.connect(home.root / "airflow.db") as db:
        rows = db.execute(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?",
            ("example_pardot_v5_incremental",),
        ).fetchall()
    assert sorted(rows) == [("lifecycle_histories", "failed", 1), ("list_memberships", "failed", 1)]
    assert "up_for_retry" not in result.output.lower()


def test_list_email_dag_sends_and_reports_the_previous_email(run_dag, emulator):
    # First run: schedules an email; no earlier email, so the statistics task is skipped.
    run_dag("example_pardot_list_email", TODAY)
    sends = emulator.sends()
    assert len(sends) == 1, sends
    first = sends[0]
    assert (first["kind"], first["list_ids"], first["campaign_id"]) == ("list", [30001], 1001)
    assert str(first["email_template_id"]) == "101"
    # data interval [TODAY - 1, TODAY) -> sent at 09:00 on TODAY
    assert first["scheduled_time"].startswith(f"{TODAY}T09:00:00"), first
    assert not [r for r in emulator.requests() if "/do/stats/" in r["path"]]

    # Next day's run: schedules the next email and reads the statistics of the first one.
    run_dag("example_pardot_list_email", TOMORROW)
    sends = emulator.sends()
    assert len(sends) == 2, sends
    assert sends[1]["scheduled_time"].startswith(f"{TOMORROW}T09:00:00")
    stats = [r["path"] for r in emulator.requests() if "/do/stats/" in r["path"]]
    assert stats == [f"/api/email/version/4/do/stats/id/{first['email_id']}"], stats
    assert not emulator.state()["errors"]


def test_audience_import_dag_fills_a_new_list_and_mails_it(run_dag, emulator):
    import_source = ROOT / "example_dags" / "data" / "audience.csv"
    audience = list(csv.DictReader(io.StringIO(import_source.read_text())))
    result = run_dag("example_pardot_audience_import", TODAY, conf={"stats_wait_minutes": 0})

    # the new list holds exactly the audience, each person once
    lists = [
        r for r in emulator.requests() if r["path"].startswith("/api/list/") and "/do/create" in r["path"]
    ]
    assert len(lists) == 1
    imports = emulator.imports()
    assert [(i["status"], i["rows"], i["createdCount"], i["errorCount"]) for i in imports] == [
        ("Complete", len(audience), len(audience), 0)
    ]
    people = {
        p["email"]: p
        for p in emulator._get("records/prospect", rows=1)["rows"]
        if p["email"].endswith("@audience.example.com")
    }
    assert sorted(people) == sorted(r["email"] for r in audience)
    assert people[audience[0]["email"]]["first_name"] == audience[0]["first_name"]
    sends = emulator.sends()
    assert len(sends) == 1
    list_id = sends[0]["list_ids"][0]
    memberships = emulator._get("records/listMembership", rows=1)["rows"]
    assert {m["prospect_id"] for m in memberships if m["list_id"] == list_id} == {
        p["id"] for p in people.values()
    }
    # the statistics of that email were read; the import took create + batch + submit + reads
    assert [r["path"] for r in emulator.requests() if "/do/stats/" in r["path"]] == [
        f"/api/email/version/4/do/stats/id/{sends[0]['email_id']}"
    ]
    import_calls = [r for r in emulator.requests() if r["path"].startswith("/api/v5/imports")]
    assert len([r for r in import_calls if r["method"] != "GET"]) == 3
    assert "Pardot API:" in result.output
    assert not emulator.state()["errors"]


# --------------------------------------------------------------------------- make demo
@pytest.mark.skipif(airflow_major() < 3, reason="make demo runs on the Airflow 3 venv")
def test_demo_script(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            "DEMO_HOME": str(tmp_path / "home"),
            "DEMO_OUTPUT": str(tmp_path / "out"),
            "PYTHON": sys.executable,
        }
    )
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    start = TODAY - dt.timedelta(days=1)
    folder = tmp_path / "out" / "visitor_activity" / f"date={start}"
    assert f"{folder}/" in out
    assert "2,500 rows" in out, out
    assert "in 3 file(s)" in out, out
    assert "Demo complete" in out
    # The export takes longer than the sensor takes to start: it defers, and the demo shows it.
    assert re.search(r"^Waiting for Pardot export \d+ in the triggerer$", out, re.MULTILINE), out[-3000:]
    assert re.search(r"^Pardot export \d+ is Complete with 3 result file\(s\)\.$", out, re.MULTILINE)
    # The README's `make demo` block shows what it prints. Byte counts follow the day, the number
    # of sensor polls and of overlapping downloads the timing; the rest is fixed.
    readme = (ROOT / "README.md").read_text()
    summary = r"^Emulator: \d+ API requests, at most [1-5] in flight, errors: none$"
    for text in (out, readme):
        assert re.search(summary, text, re.MULTILINE), text[-3000:]
        assert re.search(r"^  total +2,500 rows +[\d,]+ bytes in 3 file\(s\)$", text, re.MULTILINE)
    assert _manifest(folder)["total_rows"] == 2500
    # The emulator was stopped on exit (no process still serving its port).
    port = (tmp_path / "home" / "emulator.port").read_text().strip()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2)
