"""
Fixtures of the fault, bad-input and security suite.

Every test here records one or more figure lines (``FAULTS paging: pages=... lost=0``) with the
``figures`` fixture; they are printed together at the end of the run (``pytest_terminal_summary``),
whatever ``-s`` / ``-q`` say, so ``make test`` shows them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from typing import TYPE_CHECKING

from _faultkit import FIGURES, record_figure
from identities import BUSINESS_UNIT_ID, CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

from airflow_provider_pardot.utils.tokens import TOKENS, USAGE

if TYPE_CHECKING:
    from collections.abc import Iterator


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not FIGURES:
        return
    terminalreporter.section("Pardot fault / bad-input / security figures")
    for line in FIGURES:
        terminalreporter.write_line(line)


@pytest.fixture
def figures():
    """``figures("FAULTS x: a=1 b=2")`` - a line for the end-of-run summary."""
    return record_figure


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
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
