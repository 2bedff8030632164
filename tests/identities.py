"""The emulator's seeded identities (what --strict-auth checks), for tests."""

from __future__ import annotations

BUSINESS_UNIT_ID = "0Uv000000000001AAA"
USERNAME = "integration@emulator.example"
PASSWORD = "emulator-password"
CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REFRESH_TOKEN = "emulator-refresh-token"

#: Connection extras for tests that want retries to be quick.
FAST_RETRIES = {"max_retries": 3, "retry_backoff": 0.05}


def pardot_connection(url: str, **extra) -> dict:
    """A ``pardot`` connection (as AIRFLOW_CONN_* JSON) for the emulator at ``url``; ``None`` drops a field."""
    fields = {
        "business_unit_id": BUSINESS_UNIT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "login_url": url,
        "auth_type": "password",
        **extra,
    }
    return {
        "conn_type": "pardot",
        "host": fields.pop("host", None) or url,
        "login": fields.pop("login", USERNAME),
        "password": fields.pop("password", PASSWORD),
        "extra": {k: v for k, v in fields.items() if v is not None},
    }
