"""A process-wide cache of access tokens and of the account usage last reported."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_pardot.utils.connection import PardotConnectionConfig
    from airflow_provider_pardot.utils.usage import ApiUsage


def cache_key(config: PardotConnectionConfig) -> str:
    """A fingerprint of who the token is for; secrets only enter it hashed."""
    ident = "\x00".join(
        str(v)
        for v in (
            config.login_url,
            config.auth_type,
            config.client_id,
            config.login,
            config.business_unit_id,
            hashlib.sha256("\x00".join(config.secrets).encode()).hexdigest(),
        )
    )
    return hashlib.sha256(ident.encode()).hexdigest()


class TokenCache:
    """Tokens shared by every hook and trigger of one process that use the same credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._tokens.get(key)

    def put(self, key: str, token: str) -> None:
        with self._lock:
            self._tokens[key] = token

    def invalidate(self, key: str, stale: str | None) -> None:
        """Forget ``stale``, unless another caller already replaced it with a fresh token."""
        with self._lock:
            if stale is None or self._tokens.get(key) == stale:
                self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


class UsageBoard:
    """The latest ``x-api-usage`` figure per business unit, as seen by this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: dict[str, ApiUsage] = {}

    def get(self, business_unit_id: str) -> ApiUsage | None:
        with self._lock:
            return self._usage.get(business_unit_id)

    def put(self, business_unit_id: str, usage: ApiUsage) -> None:
        with self._lock:
            self._usage[business_unit_id] = usage

    def clear(self) -> None:
        with self._lock:
            self._usage.clear()


TOKENS = TokenCache()
USAGE = UsageBoard()
