"""A thin raw-HTTP client for the emulator's own tests (no provider code involved)."""

from __future__ import annotations

from pathlib import Path

import requests

BU = "0Uv000000000001AAA"
RECORDED = str(Path(__file__).resolve().parents[3] / "shared" / "pardot-docs" / "recorded")


class Api:
    def __init__(self, url: str):
        self.url = url
        self.s = requests.Session()
        self.token: str | None = None

    def oauth(self, **form) -> requests.Response:
        return self.s.post(f"{self.url}/services/oauth2/token", data=form, timeout=30)

    def login(self) -> str:
        r = self.oauth(
            grant_type="password",
            client_id="emulator-client-id",
            client_secret="emulator-client-secret",
            username="integration@emulator.example",
            password="emulator-password",
        )
        r.raise_for_status()
        self.token = r.json()["access_token"]
        return self.token

    def headers(self, **extra) -> dict:
        h = {"Pardot-Business-Unit-Id": BU}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra)
        return {k: v for k, v in h.items() if v is not None}

    def get(self, path: str, headers: dict | None = None, **params) -> requests.Response:
        params.setdefault("format", "json")
        return self.s.get(self.url + path, params=params, headers=headers or self.headers(), timeout=60)

    def post(self, path: str, data=None, headers: dict | None = None, **params) -> requests.Response:
        params.setdefault("format", "json")
        return self.s.post(
            self.url + path, params=params, data=data, headers=headers or self.headers(), timeout=60
        )


def load_text(path: str) -> str:
    """A recorded response from shared/pardot-docs/recorded (the test is skipped without it)."""
    import pytest

    if not Path(path).is_file():
        pytest.skip(f"{path} is not there: shared/pardot-docs/recorded is not beside the repo")
    return Path(path).read_text(encoding="utf-8")


def load_json(path: str):
    import json

    return json.loads(load_text(path))
