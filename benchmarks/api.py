"""Minimal direct Pardot API calls for the benchmark driver (no airflow import)."""

from __future__ import annotations

import datetime as dt

import requests
from common import BUSINESS_UNIT_ID, LOGIN, PASSWORD


def token(url: str) -> str:
    response = requests.post(
        f"{url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "username": LOGIN,
            "password": PASSWORD,
        },
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def headers(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}", "Pardot-Business-Unit-Id": BUSINESS_UNIT_ID}


def create_export(url: str, tok: str, session: requests.Session | None = None) -> int:
    after = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    body = {
        "object": "visitorActivity",
        "procedure": {"name": "filter_by_created_at", "arguments": {"created_after": after}},
    }
    response = (session or requests).post(
        f"{url}/api/v5/exports", json=body, headers=headers(tok), timeout=60
    )
    response.raise_for_status()
    return int(response.json()["id"])


def get_export(url: str, tok: str, export_id: int) -> dict:
    response = requests.get(f"{url}/api/v5/exports/{export_id}", headers=headers(tok), timeout=60)
    response.raise_for_status()
    return response.json()
