"""
Shared pieces of the fault suite and of ``soak.py``: the figure board, the faulty paging run,
export helpers, and small local HTTP servers (a foreign host that records what reaches it, and
a forwarding proxy in front of the emulator, optionally over TLS with a self-signed certificate).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import os
import random
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from collections.abc import Callable

FIGURES: list[str] = []
_FIG_LOCK = threading.Lock()

QUERY_PATH = r"^/api/list/version/\d+/do/query"


def record_figure(line: str) -> None:
    with _FIG_LOCK:
        FIGURES.append(line)


def api_requests(emulator, since: int = 0) -> list[dict]:
    return [r for r in emulator.requests(since) if r["path"].startswith("/api/")]


# ---------------------------------------------------------------------------------------------
# Paging under faults
# ---------------------------------------------------------------------------------------------
def fault_mix(*, delay_seconds: float) -> list[tuple[dict, float]]:
    """Every kind of failure the hook must survive on a read, with its share of the failures."""
    return [
        ({"kind": "status", "status": 503}, 0.25),
        ({"kind": "status", "status": 502}, 0.10),
        ({"kind": "reset_before"}, 0.20),
        ({"kind": "reset_after"}, 0.20),
        ({"kind": "error", "code": 66}, 0.15),
        ({"kind": "delay", "seconds": delay_seconds}, 0.10),
    ]


class FaultScheduler:
    """
    Decides, before each page, whether its next request(s) fail and how.

    The emulator applies only the first matching rule (a probability miss does not fall through
    to the next rule) and re-seeds its RNG whenever the rules change, so a mix of kinds is made
    here: with probability ``rate`` the next request fails (sometimes the retry too), with a kind
    drawn from ``mix``.
    """

    def __init__(
        self,
        emulator,
        *,
        rate: float,
        mix: list[tuple[dict, float]],
        match: str = QUERY_PATH,
        rng_seed: int = 11,
    ) -> None:
        self.emulator = emulator
        self.rate = rate
        self.mix = mix
        self.match = match
        self.rng = random.Random(rng_seed)
        self.armed = False

    def next_page(self) -> None:
        if self.rng.random() < self.rate:
            rules, weights = zip(*self.mix, strict=False)
            rule = self.rng.choices(rules, weights=weights)[0]
            times = 2 if self.rng.random() < 0.2 else 1
            self.emulator.faults({"match": self.match, "method": "GET", "times": times, **rule})
            self.armed = True
        elif self.armed:
            self.emulator.clear_faults()
            self.armed = False


@dataclass
class PagingResult:
    rows: int
    pages: int
    attempts: int
    faults: int
    by_kind: dict[str, int]
    inserted: int
    updated: int
    token_expiries: int
    tokens_issued: int
    lost: int
    duplicated: int
    out_of_order: int
    seconds: float
    expected: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def figure(self, label: str = "paging") -> str:
        kinds = ",".join(f"{k}:{v}" for k, v in sorted(self.by_kind.items()))
        return (
            f"FAULTS {label}: pages={self.pages} requests={self.attempts} faults={self.faults} ({kinds}) "
            f"records={self.rows} expected={self.expected} inserted={self.inserted} updated={self.updated} "
            f"token_expiries={self.token_expiries} tokens_issued={self.tokens_issued} "
            f"lost={self.lost} duplicated={self.duplicated} out_of_order={self.out_of_order} "
            f"seconds={self.seconds:.1f}"
        )


def paging_run(
    emulator,
    hook,
    *,
    mutate_every_pages: int = 10,
    insert_per_mutation: int = 7,
    update_per_mutation: int = 25,
    expire_tokens_at_pages: tuple[int, ...] = (),
    scheduler: FaultScheduler | None = None,
    rng_seed: int = 7,
) -> PagingResult:
    """
    Page through every ``list`` with ``hook.query`` while the emulator injects faults (the rules
    already set, and/or those ``scheduler`` arms before each page), inserting and updating lists between pages (and expiring tokens at the given pages).
    Compares what came back with the emulator's own ids afterwards.
    """
    rng = random.Random(rng_seed)
    since = emulator.requests()[-1]["seq"] if emulator.requests() else 0
    start_faults = emulator.state()["faults_injected"]
    start_tokens = emulator.state()["tokens_issued"]
    known = sorted(emulator.records("list"))
    inserted = updated = expiries = 0
    seen: list[int] = []
    started = time.monotonic()
    if scheduler is not None:
        scheduler.next_page()
    for n, row in enumerate(hook.query("list"), start=1):
        seen.append(row["id"])
        if n % 200:
            continue
        page = n // 200
        if scheduler is not None:
            scheduler.next_page()
        if page in expire_tokens_at_pages:
            emulator.expire_tokens()
            expiries += 1
        if mutate_every_pages and page % mutate_every_pages == 0:
            # some rows already seen, some still ahead; plus new rows (they get higher ids)
            targets = rng.sample(known, min(update_per_mutation, len(known)))
            emulator.mutate("list", insert=insert_per_mutation, update=targets)
            inserted += insert_per_mutation
            updated += len(targets)
    seconds = time.monotonic() - started
    if scheduler is not None:
        emulator.clear_faults()
    final = set(emulator.records("list"))
    log = [r for r in emulator.requests(since) if r["path"].startswith("/api/list/")]
    by_kind: dict[str, int] = {}
    for entry in log:
        if entry.get("fault"):
            by_kind[entry["fault"]] = by_kind.get(entry["fault"], 0) + 1
    pages = sum(1 for r in log if r.get("status") == 200 and not r.get("fault"))
    state = emulator.state()
    return PagingResult(
        rows=len(seen),
        pages=pages,
        attempts=len(log),
        faults=state["faults_injected"] - start_faults,
        by_kind=by_kind,
        inserted=inserted,
        updated=updated,
        token_expiries=expiries,
        tokens_issued=state["tokens_issued"] - start_tokens,
        lost=len(final - set(seen)),
        duplicated=len(seen) - len(set(seen)),
        out_of_order=sum(1 for a, b in zip(seen, seen[1:], strict=False) if b <= a),
        seconds=seconds,
        expected=len(final),
        extra={"unexpected": len(set(seen) - final)},
    )


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------
def export_arguments(days: int = 30) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    return {
        "created_after": (now - dt.timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S"),
        "created_before": now.strftime("%Y-%m-%d %H:%M:%S"),
    }


def complete_export(emulator, hook, *, rows: int = 5000, file_rows: int = 1000) -> dict:
    """Create a visitorActivity export with ``rows`` rows in files of ``file_rows`` and wait for it."""
    emulator.config(export_rows=rows, export_file_max_rows=file_rows, export_delay=0.05)
    export = hook.create_export("visitorActivity", "filter_by_created_at", export_arguments())
    emulator.wait_export(export["id"], "Complete", timeout=60)
    return export


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Local HTTP servers
# ---------------------------------------------------------------------------------------------
class _Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # a client hanging up is not news
        pass


class ForeignServer:
    """A host that is neither Pardot nor the token server: records every request that reaches it."""

    def __init__(self) -> None:
        self.hits: list[dict] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                owner.hits.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "headers": dict(self.headers),
                    }
                )
                body = b"id,name\n1,stolen\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = _any

        self.httpd = _Quiet(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.netloc = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.netloc}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ForeignServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ForwardingProxy:
    """
    Forwards every request to ``target`` (the emulator), as a front end of Pardot would.

    ``host_header`` replaces the Host header sent on, so the emulator builds its ``resultRefs``
    on that host (a Pardot that hands out URLs on another host). ``redirect_to`` answers
    ``302 Location: <redirect_to><path>`` for paths matching ``redirect_match`` instead.
    ``tls`` serves HTTPS with a fresh self-signed certificate for 127.0.0.1.
    """

    def __init__(
        self,
        target: str,
        *,
        host_header: str | None = None,
        redirect_to: str | None = None,
        redirect_match: str = "/results/",
        tls: bool = False,
        workdir: Path | None = None,
    ) -> None:
        self.target = target.rstrip("/")
        self.seen: list[dict] = []
        owner = self
        session = requests.Session()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                owner.seen.append({"method": self.command, "path": self.path})
                if redirect_to and redirect_match in self.path:
                    self.send_response(302)
                    self.send_header("Location", f"{redirect_to}{self.path}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection", "accept-encoding")
                }
                # as seen by the client (the emulator builds its URLs on the Host header)
                headers["Host"] = host_header or f"127.0.0.1:{owner.port}"
                upstream = session.request(
                    self.command,
                    owner.target + self.path,
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                    timeout=60,
                )
                payload = upstream.content
                self.send_response(upstream.status_code)
                for k, v in upstream.headers.items():
                    if k.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = do_PATCH = do_DELETE = _any

        self.httpd = _Quiet(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        scheme = "http"
        self.ca: str | None = None  # the certificate to trust, with tls
        if tls:
            cert, key = self_signed_cert(workdir or Path("."))
            self.ca = cert
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def self_signed_cert(workdir: Path) -> tuple[str, str]:
    """A fresh self-signed certificate for 127.0.0.1 / localhost; returns (cert path, key path)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    workdir.mkdir(parents=True, exist_ok=True)
    cert_path = workdir / "cert.pem"
    key_path = workdir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


def kill_when(code: str, args: list[str], ready: Callable[[], bool], timeout: float = 60) -> None:
    """
    Run ``code`` in a child Python (a worker) and SIGKILL it as soon as ``ready()`` holds, as a
    worker lost mid-task. Fails when the child ends first (with its output) or is not killed.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.02)
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
