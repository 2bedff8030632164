from __future__ import annotations

import json

import pytest
from identities import BUSINESS_UNIT_ID, CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

from airflow_provider_pardot.utils.tokens import TOKENS, USAGE


@pytest.fixture(autouse=True)
def _fresh_caches():
    TOKENS.clear()
    USAGE.clear()
    yield
    TOKENS.clear()
    USAGE.clear()


@pytest.fixture
def make_conn(emulator, monkeypatch):
    """Point ``pardot_default`` (or ``conn_id``) at the emulator with the given extra overrides."""

    def make(conn_id: str = "pardot_default", *, login=USERNAME, password=PASSWORD, host=None, **extra):
        base = {
            "business_unit_id": BUSINESS_UNIT_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "token_url": emulator.url,
            "auth_type": "password",
            "max_retries": 3,
            "retry_backoff": 0.01,
            "timeout": 5,
        }
        base.update(extra)
        conn = {
            "conn_type": "pardot",
            "host": host or emulator.url,
            "login": login,
            "password": password,
            "extra": {k: v for k, v in base.items() if v is not None},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return make


@pytest.fixture
def hook(make_conn):
    from airflow_provider_pardot.hooks.pardot import PardotHook

    return PardotHook(pardot_conn_id=make_conn())
