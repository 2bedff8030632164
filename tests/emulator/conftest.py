"""Fixtures for the emulator's own tests."""

from __future__ import annotations

import pytest
from emu_api import Api


@pytest.fixture
def api(emulator) -> Api:
    a = Api(emulator.url)
    a.login()
    return a
