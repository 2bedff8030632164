"""The emulator's account state: configuration, data, tokens, exports, faults and counters."""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import Any

from .auth import Auth, identities
from .exports import Exports
from .faults import Faults
from .imports import Imports
from .store import Store, canonical_object

CONFIG_KEYS = {
    "daily_limit": int,
    "concurrency_limit": int,
    "token_ttl": float,
    "export_delay": float,
    "export_rows": int,
    "export_file_max_rows": int,
    "export_target_bytes": int,
    "export_file_max_bytes": int,
    "export_expiry_seconds": float,
    "status_184": int,
    "errors_http_200": bool,
    "strict_auth": bool,
    "legacy_auth": bool,
    "accept_any_token": bool,
    "jwt_public_key": str,
    "v5_record_cap": int,
    "v5_token_ttl": float,
    "latency_ms": float,
    "import_polls": int,
    "import_delay": float,
    "import_final_status": str,
    "import_open_expiry_seconds": float,
    "import_expiry_seconds": float,
    "import_batch_daily_limit": int,
    "import_apply_rows": bool,
}
SENSITIVE = re.compile(r"(token|secret|password|api_key|user_key|assertion|code|authorization)", re.I)
MAX_LOG = 100_000


def redact(params: dict) -> dict:
    return {k: (["***"] * len(v) if SENSITIVE.search(k) else list(v)) for k, v in params.items()}


class Emulator:
    def __init__(
        self,
        *,
        seed: int = 42,
        strict_auth: bool = False,
        legacy_auth: bool = False,
        daily_limit: int = 25000,
        export_delay: float = 1.0,
        data_dir: str,
        quiet: bool = False,
        jwt_public_key: str | None = None,
        v5_record_cap: int = 100_000,
        v5_token_ttl: float = 4 * 3600.0,
        latency_ms: float = 0.0,
        counts: dict | None = None,
        id_layout: str = "even",
    ):
        self.seed = seed
        #: start-up id layout (``--id-layout``); reset regenerates with it
        self.id_layout = id_layout
        self.quiet = quiet
        self.data_dir = data_dir
        self.identities = identities(seed)
        # heterogeneous: each value has the type CONFIG_KEYS gives for its key (or None)
        self.defaults: dict[str, Any] = {
            "daily_limit": daily_limit,
            "concurrency_limit": 5,
            "token_ttl": None,
            "export_delay": export_delay,
            "export_rows": 2500,
            "export_file_max_rows": 1000,
            "export_target_bytes": 0,
            "export_file_max_bytes": 64 << 20,
            "export_expiry_seconds": 7 * 86400.0,
            "status_184": 401,
            "errors_http_200": False,
            "strict_auth": strict_auth,
            "legacy_auth": legacy_auth,
            "accept_any_token": False,
            "jwt_public_key": jwt_public_key,
            "v5_record_cap": v5_record_cap,
            "v5_token_ttl": v5_token_ttl,
            "latency_ms": latency_ms,
            "import_polls": 1,
            "import_delay": None,
            "import_final_status": "Complete",
            "import_open_expiry_seconds": 86400.0,
            "import_expiry_seconds": 7 * 86400.0,
            "import_batch_daily_limit": 1000,
            "import_apply_rows": True,
        }
        self.config = dict(self.defaults)
        self.lock = threading.Lock()
        #: start-up record counts (``--records``); reset regenerates these
        self.counts = self._canonical_counts(counts or {})
        self.store = Store(seed, self.counts, id_layout)
        self.auth = Auth(self)
        self.faults = Faults(seed)
        self._zero()
        self.exports = Exports(self)
        self.imports = Imports(self)

    def _zero(self) -> None:
        #: a reset starts a new epoch: a request that outlives it (a client that gave up while the
        #: request waited out a delay) no longer counts in flight, and does not uncount when it ends
        self.epoch = getattr(self, "epoch", -1) + 1
        self.requests = 0
        self.in_flight = 0
        #: the log entries of the API requests in flight (``in_flight_peak`` is kept up to date)
        self.flying: list[dict] = []
        self.max_in_flight = 0
        self.max_attempted_in_flight = 0
        self.daily_used = 0
        self.errors: dict[str, int] = {}
        self.by_route: dict[str, int] = {}
        self.sends: list[dict] = []
        self.request_log: list[dict] = []
        self.seq = 0

    # ------------------------------------------------------------------ control
    def reset(self) -> None:
        self.exports.reset()
        self.imports.reset()
        with self.lock:
            self.config = dict(self.defaults)
            self.store = Store(self.seed, self.counts, self.id_layout)
            self._zero()
        self.auth.reset()
        self.faults.reset()

    def set_config(self, values: dict) -> dict:
        # max_in_flight restarts both peaks; import_batches_used sets the day's import batch count
        counters = ["daily_used", "max_in_flight", "import_batches_used"]
        unknown = set(values) - set(CONFIG_KEYS) - set(counters)
        if unknown:
            raise ValueError(
                f"unknown config keys: {sorted(unknown)}; known: {sorted(CONFIG_KEYS) + counters}"
            )
        with self.lock:
            for k, v in values.items():
                if k == "daily_used":
                    self.daily_used = int(v)
                elif k == "import_batches_used":
                    self.imports.batches_today = int(v)
                elif k == "max_in_flight":  # start a new peak (e.g. 0) without a reset
                    self.max_in_flight = self.max_attempted_in_flight = int(v)
                elif k == "import_final_status" and v not in ("Complete", "Failed", "Cancelled"):
                    raise ValueError("import_final_status is Complete, Failed or Cancelled")
                elif v is None:
                    self.config[k] = None
                else:
                    self.config[k] = CONFIG_KEYS[k](v)
        return self.config

    @staticmethod
    def _canonical_counts(counts: dict) -> dict:
        canon = {}
        for k, v in counts.items():
            name = canonical_object(k)
            if name is None:
                raise ValueError(f"unknown object {k!r}")
            canon[name] = int(v)
        return canon

    def reseed(self, counts: dict) -> dict:
        """Regenerate the data with ``counts`` merged in; ``id_layout`` among them changes the layout."""
        counts = dict(counts)
        layout = counts.pop("id_layout", None) or self.store.id_layout
        merged = dict(self.store.counts)
        merged.update(self._canonical_counts(counts))
        store = Store(self.seed, merged, layout)
        with self.lock:
            self.store = store
        return store.counts

    def state(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "max_attempted_in_flight": self.max_attempted_in_flight,
                "daily_used": self.daily_used,
                "daily_limit": self.config["daily_limit"],
                "errors": dict(self.errors),
                "faults_injected": self.faults.injected,
                "tokens_issued": self.auth.issued,
                "sends": list(self.sends),
                "requests_by_route": dict(self.by_route),
                "exports": len(self.exports.exports),
                "imports": len(self.imports.imports),
                "import_batches_used": self.imports.batches_today,
                "config": {k: v for k, v in self.config.items() if k != "jwt_public_key"},
            }

    # ------------------------------------------------------------------ bookkeeping
    def record_send(self, entry: dict) -> None:
        with self.lock:
            self.sends.append(entry)

    def count_error(self, code: int) -> None:
        with self.lock:
            self.errors[str(code)] = self.errors.get(str(code), 0) + 1

    def log_request(self, method: str, path: str, query: dict, form: dict, headers) -> dict:
        auth = headers.get("Authorization")
        entry = {
            "method": method,
            "path": path,
            "query": redact(query),
            "form": redact(form),
            "has_authorization": auth is not None,
            "auth_scheme": auth.split(" ", 1)[0] if auth else None,
            "has_business_unit_id": headers.get("Pardot-Business-Unit-Id") is not None,
            "business_unit_id": headers.get("Pardot-Business-Unit-Id"),
            "has_api_usage_header": headers.get("X-Return-Api-Usage") is not None,
            "time": time.time(),
            "status": None,
            "fault": None,
        }
        route = f"{method} " + "/".join(
            "{n}" if s.isdigit() else "{email}" if "@" in s or "%40" in s else s for s in path.split("/")
        )
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.request_log.append(entry)
            if len(self.request_log) > MAX_LOG:
                del self.request_log[: len(self.request_log) - MAX_LOG]
            self.by_route[route] = self.by_route.get(route, 0) + 1
        return entry

    def requests_since(self, since: int) -> list[dict]:
        with self.lock:
            return [e for e in self.request_log if e["seq"] > since]

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def stop(self) -> None:
        self.exports.stop()
        self.imports.stop()
