"""Fixtures of the import tests: the emulator's Import API, fast; its prospects and memberships; sources."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from unittest import mock

import pytest

sys.path.insert(0, str(Path(__file__).parent))

CAMPAIGN = 1001
#: static lists of the seeded emulator (30001 is dynamic: imports cannot add to it)
LIST_A, LIST_B, LIST_C = 30002, 30005, 30006


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


def prospects(emulator) -> list[dict]:
    return emulator._get("records/prospect", rows=1)["rows"]


def by_email(emulator) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in prospects(emulator):
        out.setdefault(str(row.get("email")).lower(), []).append(row)
    return out


def members(emulator, list_id: int) -> set[int]:
    rows = emulator._get("records/listMembership", rows=1)["rows"]
    return {r["prospect_id"] for r in rows if r["list_id"] == list_id}


def imports_of(emulator) -> list[dict]:
    """Every import the emulator holds (control API, not in the request log): ``batches``, ``rows``, ``applied``."""
    return sorted(emulator.imports(), key=lambda i: i["id"])


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def audience(n: int, start: int = 0, domain: str = "audience.example.com") -> list[list]:
    """``n`` new people: email, firstName, lastName, campaignId."""
    return [[f"person{i}@{domain}", f"First{i}", f"Last{i}", CAMPAIGN] for i in range(start, start + n)]


def api_log(emulator, prefix: str = "/api/") -> list[dict]:
    return [r for r in emulator.requests() if r["path"].startswith(prefix)]
