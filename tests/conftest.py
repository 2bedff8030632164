"""Shared fixtures: the Pardot emulator runs as a subprocess for the whole session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Before any airflow import.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

sys.path.insert(0, str(Path(__file__).parent))
from emulator_control import EmulatorControl  # noqa: E402

BUSINESS_UNIT_ID = "0Uv000000000001AAA"


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pardot-emulator")
    port_file = tmp / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_pardot.emulator",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--quiet",
            "--data-dir",
            str(tmp / "data"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("emulator did not start in 30 s")
            time.sleep(0.05)
        control = EmulatorControl(f"http://127.0.0.1:{port_file.read_text().strip()}")
        while True:
            try:
                control.state()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        control.pid = proc.pid
        yield control
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def pardot_conn(emulator, monkeypatch):
    conn = {
        "conn_type": "pardot",
        "host": emulator.url,
        "login": "integration@emulator.example",
        "password": "emulator-password",
        "extra": {
            "business_unit_id": BUSINESS_UNIT_ID,
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "token_url": emulator.url,
            "auth_type": "password",
            "max_retries": 3,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_PARDOT_DEFAULT", json.dumps(conn))
    return "pardot_default"
