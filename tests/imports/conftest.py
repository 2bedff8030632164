"""Fixtures of the import tests: the emulator's Import API, fast; its prospects and memberships; sources."""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def pardot(emulator, make_conn):
    """The emulator answering Complete at the first read after a submit; ``pardot_default`` on it."""
    emulator.config(import_polls=0)
    make_conn()
    return emulator


@pytest.fixture
def context():
    """A minimal task context: a ``ti`` that records XCom pushes, and outlet events."""
    ti = mock.MagicMock()
    ti.pushed = {}
    ti.xcom_push.side_effect = lambda key, value, **_: ti.pushed.__setitem__(key, value)
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, "task_instance": ti}
