"""The whole chain in a real Airflow: create -> deferrable sensor -> transfer (``airflow dags test``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from airflow_run import AirflowHome
from identities import FAST_RETRIES, pardot_connection

DAGS = Path(__file__).parent.parent / "dags"


@pytest.mark.e2e
def test_export_chain_in_airflow(pardot, tmp_path):
    pardot.config(export_delay=1.5)
    home = AirflowHome(tmp_path / "airflow", DAGS)
    dest = tmp_path / "out"
    run = home.dags_test(
        "pardot_export_e2e",
        connections={"pardot_default": pardot_connection(pardot.url, **FAST_RETRIES)},
        conf={"dest": f"file://{dest}"},
        timeout=300,
    )
    assert run.succeeded, run.output[-6000:]
    # the sensor really went through the triggerer
    assert "running trigger in line" in run.output or "Trigger completed" in run.output, run.output[-4000:]
    assert pardot.state()["exports"] == 1  # one export created, never twice
    manifest = json.loads((dest / "_manifest.json").read_text())
    export_id = manifest["export_id"]
    files = pardot.export_files(export_id)
    assert len(files) == 3
    assert sorted(p.name for p in dest.iterdir()) == [
        "_manifest.json",
        "part-00000.csv",
        "part-00001.csv",
        "part-00002.csv",
    ]
    for i, info in enumerate(files):
        assert hashlib.sha256((dest / f"part-{i:05d}.csv").read_bytes()).hexdigest() == info["sha256"]
    assert manifest["total_rows"] == 2500
    assert [f["rows"] for f in manifest["files"]] == [f["rows"] for f in files]
    assert "Pardot API: " in run.output
