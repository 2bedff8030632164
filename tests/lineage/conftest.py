"""Fixtures for the lineage tests: a real Airflow with the OpenLineage provider's file transport."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from airflow_run import AirflowHome
from identities import FAST_RETRIES, pardot_connection

DAGS = Path(__file__).parent / "dags"


class LineageAirflow:
    """``airflow dags test`` on a fresh home; OpenLineage events go to a file, one JSON a line."""

    def __init__(self, root: Path, emulator_url: str) -> None:
        self.home = AirflowHome(root / "airflow", DAGS)
        self.events_file = root / "openlineage.jsonl"
        self.connections = {"pardot_default": pardot_connection(emulator_url, **FAST_RETRIES)}
        self._synced = False

    def run(self, dag_id: str, conf: dict, connections: dict[str, dict] | None = None) -> str:
        if not self._synced:
            self.home.sync_dags_on_airflow_2()
            self._synced = True
        transport = {"type": "file", "log_file_path": str(self.events_file), "append": True}
        result = self.home.dags_test(
            dag_id,
            connections={**self.connections, **(connections or {})},
            conf=conf,
            extra_env={"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)},
            timeout=300,
        )
        assert result.succeeded, result.output[-6000:]
        return result.output

    def events(self, job: str, event_type: str) -> list[dict]:
        """The OpenLineage events of ``job`` (``<dag_id>.<task_id>``) of this type."""
        lines = self.events_file.read_text().splitlines() if self.events_file.exists() else []
        events = [json.loads(line) for line in lines if line.strip()]
        return [e for e in events if e.get("job", {}).get("name") == job and e.get("eventType") == event_type]

    def event(self, job: str, event_type: str) -> dict:
        (found,) = self.events(job, event_type)
        return found

    def asset_events(self) -> list[dict]:
        """Asset (Dataset) events in the metadata database: uri, extra, source task, alias names."""
        db = sqlite3.connect(self.home.root / "airflow.db")
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            kind = "asset" if "asset_event" in tables else "dataset"
            rows = db.execute(
                f"SELECT e.id, a.uri, e.extra, e.source_task_id FROM {kind}_event e "
                f"JOIN {kind} a ON a.id = e.{kind}_id ORDER BY e.id"
            ).fetchall()
            aliases = db.execute(
                f"SELECT l.event_id, al.name FROM {kind}_alias_{kind}_event l "
                f"JOIN {kind}_alias al ON al.id = l.alias_id"
            ).fetchall()
        finally:
            db.close()
        by_event: dict[int, list[str]] = {}
        for event_id, name in aliases:
            by_event.setdefault(event_id, []).append(name)
        return [
            {"uri": uri, "extra": json.loads(extra or "{}"), "task": task, "aliases": by_event.get(i, [])}
            for i, uri, extra, task in rows
        ]


@pytest.fixture
def lineage_airflow(emulator, tmp_path) -> LineageAirflow:
    emulator.config(export_delay=0.5)
    return LineageAirflow(tmp_path, emulator.url)
