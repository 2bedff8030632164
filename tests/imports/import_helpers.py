"""Helpers of the import tests: the emulator's prospects and memberships, sources, the request log."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

CAMPAIGN = 1001
#: static lists of the seeded emulator (30001 is dynamic: imports cannot add to it)
LIST_A, LIST_B, LIST_C = 30002, 30005, 30006


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
