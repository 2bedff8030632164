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
from identities import FAST_RETRIES, pardot_connection  # noqa: E402


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


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Tokens and usage are cached per process: every test starts without them."""
    from airflow_provider_pardot.utils.tokens import TOKENS, USAGE

    TOKENS.clear()
    USAGE.clear()
    yield
    TOKENS.clear()
    USAGE.clear()


@pytest.fixture
def make_conn(emulator, monkeypatch):
    """``make_conn(conn_id="pardot_default", **fields)``: a Pardot connection to the emulator in the environment."""

    def make(conn_id: str = "pardot_default", **fields):
        conn = pardot_connection(
            emulator.url, **{**FAST_RETRIES, "retry_backoff": 0.01, "timeout": 5, **fields}
        )
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return make


@pytest.fixture
def pardot_conn(make_conn):
    return make_conn()


@pytest.fixture
def hook(make_conn):
    """A PardotHook on ``pardot_default``, pointing at the emulator."""
    from airflow_provider_pardot.hooks.pardot import PardotHook

    return PardotHook(pardot_conn_id=make_conn())
