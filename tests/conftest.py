"""Shared fixtures: the Pardot emulator runs as a subprocess for the whole session; a moto S3 server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest

# Before any airflow import.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

sys.path.insert(0, str(Path(__file__).parent))
from emulator_control import EmulatorControl  # noqa: E402
from identities import FAST_RETRIES, pardot_connection  # noqa: E402

from airflow_provider_pardot.emulator.launch import EmulatorProcess  # noqa: E402


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    # Exports finish in about two seconds (the emulator's default is a human's pace).
    workdir = tmp_path_factory.mktemp("pardot-emulator")
    with EmulatorProcess("--export-delay", "1", workdir=workdir) as process:
        control = EmulatorControl(process.url)
        control.pid = process.pid
        yield control


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    return emulator_server


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Tokens and usage are cached per process: every test starts without them."""
    from airflow_provider_pardot.client.tokens import TOKENS, USAGE

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """A moto S3 server on 127.0.0.1 (``python -m moto.server``), for the whole session."""
    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _forget_attached_stores() -> None:
    """Airflow caches one file system per connection id for the whole process."""
    try:
        from airflow.sdk.io import store
    except ImportError:  # Airflow 2.11
        from airflow.io import store  # type: ignore[no-redef]
    store._STORE_CACHE.clear()


@pytest.fixture
def s3_bucket(moto_server, monkeypatch):
    """A fresh bucket on the moto server and the ``aws_test`` connection to it; returns the name."""
    import uuid

    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": moto_server, "region_name": "us-east-1"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_TEST", json.dumps(conn))
    _forget_attached_stores()  # a store attached earlier for aws_test may lack the moto endpoint
    bucket = f"pardot-{uuid.uuid4().hex[:8]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def context():
    """A minimal task context: a ``ti`` that records XCom pushes, and outlet events."""
    ti = mock.MagicMock()
    ti.pushed = {}
    ti.xcom_push.side_effect = lambda key, value, **_: ti.pushed.__setitem__(key, value)
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, "task_instance": ti}
