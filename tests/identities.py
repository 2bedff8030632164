"""The emulator's seeded identities (what --strict-auth checks), for tests."""

from __future__ import annotations

BUSINESS_UNIT_ID = "0Uv000000000001AAA"
USERNAME = "integration@emulator.example"
PASSWORD = "emulator-password"
CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
REFRESH_TOKEN = "emulator-refresh-token"
