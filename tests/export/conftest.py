"""Fixtures for the export pipeline tests: Pardot connections on the emulator, a moto S3 server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from unittest import mock

import pytest
from identities import FAST_RETRIES, pardot_connection


@pytest.fixture
def set_conn(monkeypatch):
    """``set_conn(conn_id, url, **extra)``: put a Pardot connection in the environment."""

    def _set(conn_id: str, url: str, **extra) -> str:
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(pardot_connection(url, **{**FAST_RETRIES, **extra}))
        )
        return conn_id

    return _set


@pytest.fixture
def pardot(emulator, set_conn):
    """The emulator with fast exports, and ``pardot_default`` pointing at it (v5 Export API)."""
    emulator.config(export_delay=0.05)
    set_conn("pardot_default", emulator.url)
    return emulator


@pytest.fixture
def context():
    """A minimal task context: a ``ti`` that records XCom pushes."""
    ti = mock.MagicMock()
    ti.pushed = {}
    ti.xcom_push.side_effect = lambda key, value, **_: ti.pushed.__setitem__(key, value)
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, "task_instance": ti}


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
