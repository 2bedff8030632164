"""A process-wide cache of access tokens and of the account usage last reported."""

from __future__ import annotations

import hashlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_pardot.client.connection import PardotConnectionConfig
    from airflow_provider_pardot.client.usage import ApiUsage


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
    """
    Tokens shared by every hook and trigger of one process that use the same credentials.

    Both hooks read it the same way: :meth:`lookup`; on a miss, under their lock (a thread lock,
    or an event loop's), :meth:`lookup` again, then fetch and :meth:`keep`. Parallel callers
    starting together thus fetch (and mask) one token, not one each.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}

    def lookup(self, config: PardotConnectionConfig) -> str | None:
        """The token to send: the connection's own ``access_token``, else a cached one, else ``None``."""
        if config.auth_type == "access_token":  # never fetched, never cached
            return str(config.access_token)
        with self._lock:
            return self._tokens.get(cache_key(config))

    def keep(self, config: PardotConnectionConfig, token: str) -> str:
        """Cache a freshly fetched ``token`` and return it."""
        with self._lock:
            self._tokens[cache_key(config)] = token
        return token

    def invalidate(self, config: PardotConnectionConfig, stale: str | None) -> None:
        """Forget ``stale``, unless another caller already replaced it with a fresh token."""
        key = cache_key(config)
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
