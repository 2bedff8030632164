"""Fixtures for the export pipeline tests: Pardot connections on the emulator, a task context."""

from __future__ import annotations

import json

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
