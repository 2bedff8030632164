"""Fixtures of the import tests: the emulator's Import API, fast; its prospects and memberships; sources."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def pardot(emulator, make_conn):
    """The emulator answering Complete at the first read after a submit; ``pardot_default`` on it."""
    emulator.config(import_polls=0)
    make_conn()
    return emulator
