"""
Fixtures of the fault, bad-input and security suite.

Every test here records one or more figure lines (``FAULTS paging: pages=... lost=0``) with the
``figures`` fixture; they are printed together at the end of the run (``pytest_terminal_summary``),
whatever ``-s`` / ``-q`` say, so ``make test`` shows them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _faultkit import FIGURES, record_figure


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
