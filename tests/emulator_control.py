"""Test-side client for the Pardot emulator's control API (``/_emulator/...``)."""

from __future__ import annotations

import time

import requests


class EmulatorControl:
    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    # -- helpers
    def _get(self, path: str, **params):
        r = self.session.get(f"{self.url}/_emulator/{path}", params=params or None, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def _post(self, path: str, body=None):
        r = self.session.post(
            f"{self.url}/_emulator/{path}", json=body if body is not None else {}, timeout=self.timeout
        )
        r.raise_for_status()
        return r.json()

    # -- API
    def reset(self) -> None:
        self._post("reset")

    def state(self) -> dict:
        return self._get("state")

    def requests(self, since: int = 0) -> list[dict]:
        return self._get("requests", since=since)

    def config(self, **kw) -> dict:
        return self._post("config", kw) if kw else self._get("config")

    def seed(self, **counts) -> dict:
        return self._post("seed", counts)

    def faults(self, *rules: dict) -> dict:
        return self._post("faults", {"rules": list(rules)})

    def clear_faults(self) -> None:
        r = self.session.delete(f"{self.url}/_emulator/faults", timeout=self.timeout)
        r.raise_for_status()

    def expire_tokens(self) -> int:
        return self._post("tokens/expire")["expired"]

    def records(self, obj: str) -> list[int]:
        return self._get(f"records/{obj}")["ids"]

    def mutate(
        self, obj: str, insert: int | None = None, update: list | None = None, delete: list | None = None
    ) -> dict:
        body: dict = {}
        if insert:
            body["insert"] = insert
        if update:
            body["update"] = list(update)
        if delete:
            body["delete"] = list(delete)
        return self._post(f"records/{obj}", body)

    def peak_in_flight(self) -> int:
        """The most API requests the emulator has held in flight at once (since reset_peak)."""
        return self.state()["max_in_flight"]

    def peak_attempted_in_flight(self) -> int:
        """The most API requests that arrived at once, those refused with error 66 included."""
        return self.state()["max_attempted_in_flight"]

    def reset_peak(self) -> None:
        self._post("config", {"max_in_flight": 0})

    def sends(self) -> list[dict]:
        return self.state()["sends"]

    def identities(self) -> dict:
        return self._get("identities")

    def get_export(self, export_id) -> dict:
        return self._get(f"exports/{export_id}")

    def set_export(self, export_id, **kw) -> dict:
        return self._post(f"exports/{export_id}", kw)

    def export_files(self, export_id) -> list[dict]:
        return self._get(f"exports/{export_id}/files")

    def wait_export(self, export_id, state: str = "Complete", timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            exp = self.get_export(export_id)
            if exp["state"] == state:
                return exp
            if time.monotonic() > deadline:
                raise TimeoutError(f"export {export_id} is {exp['state']}, not {state}, after {timeout}s")
            time.sleep(0.05)

    def imports(self) -> list[dict]:
        """Every import: its v5 record plus ``batches``, ``rows``, ``polls``, ``applied``, ``pinned``."""
        return self._get("imports")

    def get_import(self, import_id) -> dict:
        return self._get(f"imports/{import_id}")

    def set_import(self, import_id, **kw) -> dict:
        """``status`` (forced and pinned), ``isExpired``, ``pinned``."""
        return self._post(f"imports/{import_id}", kw)
