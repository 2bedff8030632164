"""HTTP front end: parsing, faults, limits, authentication and responses; routes.py says what is served."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from . import control, multipart, render, routes
from .auth import BU_RE, parse_pardot_header
from .errors import PardotError, http_status, message
from .params import get
from .state import Emulator

PARDOT_HEADERS = [
    ("Expires", "Thu, 19 Nov 1981 08:52:00 GMT"),
    ("Cache-Control", "no-store, no-cache, must-revalidate"),
    ("Pragma", "no-cache"),
    ("P3p", 'CP="NOI DSP COR CURa ADMa DEVa TAIa OUR BUS IND UNI COM NAV INT", policyref="/w3c/p3p.xml"'),
    ("Vary", "Accept-Encoding,User-Agent"),
]
#: the Salesforce token endpoint's route (its faults and wrong methods answer in OAuth's shape)
TOKEN_ROUTE = next(r for r in routes.ROUTES if r.kind == "oauth")
CHUNK = 256 * 1024
REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
    404: "Not Found",
    400: "Bad Request",
}


class _Abort(Exception):
    """Connection deliberately dropped (fault injection)."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PardotServer"
    timeout = 300
    # TCP_NODELAY: headers and body are separate writes; with Nagle on, the body waits for the
    # client's delayed ACK and every response takes ~40 ms on loopback.
    disable_nagle_algorithm = True
    server: _Server

    # --------------------------------------------------------------- plumbing
    def version_string(self) -> str:
        return "PardotServer"

    def log_message(self, format, *args):
        pass

    def setup(self) -> None:
        super().setup()  # timeout and TCP_NODELAY first: they apply to the handshake too
        if isinstance(self.connection, ssl.SSLSocket):
            # TLS (--tls-cert): the handshake runs here, in this connection's own thread, so a slow
            # or refused handshake never blocks the accept loop. A failure raises to handle_error.
            self.connection.do_handshake()

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    @property
    def emu(self) -> Emulator:
        return self.server.emu

    def _abort(self) -> None:
        """Drop the connection with a TCP reset."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass
        raise _Abort()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _form(self, body: bytes) -> dict:
        if not body:
            return {}
        ctype = self.headers.get("Content-Type", "")
        low = ctype.lower()
        parts = multipart.parse(body, ctype)
        if parts is not None:
            out: dict = {}
            for part in parts:
                out.setdefault(part.name, []).append(multipart.summary(part))
            return out
        if low.startswith("application/x-www-form-urlencoded") or not low:
            try:
                return urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                return {}
        return {}

    @property
    def base_url(self) -> str:
        # an AF_INET(6) socket: the host part of getsockname() is a str, never bytes
        addr = cast("tuple[str, int]", self.server.server_address)
        host = self.headers.get("Host") or f"{addr[0]}:{addr[1]}"
        return f"{self.server.scheme}://{host}"

    # --------------------------------------------------------------- responses
    def send(self, status: int, body: bytes, ctype: str | None, headers: list | None = None) -> None:
        if self._fault and self._fault["kind"] == "reset_after":
            self._abort()
        self.send_response(status)
        if self._api:
            for k, v in PARDOT_HEADERS:
                self.send_header(k, v)
            self.send_header("Set-Cookie", f"pardot={secrets.token_hex(13)}; path=/")
            self.send_header("X-Pardot-Rsp", "25/13/203")
            self.send_header("X-Pardot-Route", self.server.route_id)
            self.send_header("X-Pardot-LB", self.server.lb_id)
            self._usage_header()
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != 204:
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers or []:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        if self._entry is not None:  # before the headers leave: a 204 is complete with them
            self._entry["status"] = status
        self.end_headers()
        if self.command != "HEAD" and status != 204:
            self._write_body(body)

    def _usage_header(self) -> None:
        flag = (self.headers.get("X-Return-Api-Usage") or "").strip().lower()
        if flag in ("1", "true", "yes"):
            self.send_header("x-api-usage", f"{self.emu.daily_used}/{self.emu.config['daily_limit']}")

    def _write_body(self, body) -> None:
        """Bytes or an open file (already positioned) with a length, honouring truncate/throttle."""
        f = self._fault or {}
        kind = f.get("kind")
        if isinstance(body, (bytes, bytearray)):
            if kind == "truncate":
                self.wfile.write(body[: int(f.get("after_bytes", 0))])
                self._close_clean()
            elif kind == "throttle":
                self._throttled(iter([body]), float(f.get("bytes_per_second", 1024)))
            else:
                self.wfile.write(body)
            return

    def _close_clean(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Abort()

    def _throttled(self, chunks, bps: float) -> None:
        step = max(int(bps / 20), 1)
        for chunk in chunks:
            for i in range(0, len(chunk), step):
                self.wfile.write(chunk[i : i + step])
                time.sleep(step / bps)

    def send_file(self, path: str, ctype: str) -> None:
        size = os.path.getsize(path)
        start, end = 0, size - 1
        status = 200
        extra = []
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and "," not in rng:
            a, _, b = rng[6:].partition("-")
            try:
                if a:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
                else:
                    start = max(size - int(b), 0)
                if start > end or start >= size:
                    raise ValueError
                status = 206
                extra.append(("Content-Range", f"bytes {start}-{end}/{size}"))
            except ValueError:
                self.send(416, b"", "text/plain", [("Content-Range", f"bytes */{size}")])
                return
        length = end - start + 1
        if self._fault and self._fault["kind"] == "reset_after":
            self._abort()
        self.send_response(status)
        for k, v in PARDOT_HEADERS[:3]:
            self.send_header(k, v)
        self._usage_header()
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in extra:
            self.send_header(k, v)
        if self._entry is not None:
            self._entry["status"] = status
        self.end_headers()
        if self.command == "HEAD":
            return
        f = self._fault or {}
        with open(path, "rb") as fh:
            fh.seek(start)
            if f.get("kind") == "truncate":
                limit = min(int(f.get("after_bytes", 0)), length)
                sent = 0
                while sent < limit:
                    chunk = fh.read(min(CHUNK, limit - sent))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
                self._close_clean()
            elif f.get("kind") == "throttle":

                def chunks():
                    left = length
                    while left > 0:
                        c = fh.read(min(CHUNK, left))
                        if not c:
                            return
                        left -= len(c)
                        yield c

                self._throttled(chunks(), float(f.get("bytes_per_second", 65536)))
            elif isinstance(self.connection, ssl.SSLSocket):
                # TLS: no zero-copy; socket.sendfile() would fall back to 8 KiB send() calls
                buf = bytearray(CHUNK)
                view = memoryview(buf)
                left = length
                while left > 0:
                    n = fh.readinto(view[: min(CHUNK, left)])
                    if not n:
                        break
                    self.connection.sendall(view[:n])
                    left -= n
            else:
                # zero-copy from disk, in chunks; never the whole file in memory
                self.connection.sendfile(fh, start, length)

    def send_json(self, status: int, obj, headers: list | None = None) -> None:
        self.send(status, render.plain_dumps(obj), "application/json", headers)

    def fail(self, err: PardotError) -> None:
        code = err.code
        self.emu.count_error(code)
        status = err.status or http_status(code, self.emu.config)
        msg = err.message
        if self._path.startswith("/api/v5"):
            self.send(status, render.v5_error(code, msg), "application/json")
        elif self._is_json:
            self.send(status, render.err_json(code, msg), "application/json")
        else:
            self.send(status, render.err_xml(code, msg), "text/xml")

    def ok(self, payload: dict, status: int = 200) -> None:
        if self._is_json:
            self.send(status, render.ok_json(payload), "application/json")
        else:
            self.send(status, render.ok_xml(payload), "text/xml")

    # --------------------------------------------------------------- dispatch
    def _dispatch(self) -> None:
        """Control API aside: fault injection, the request log, then the route (routes.py)."""
        self._fault = None
        self._api = False
        self._entry = None
        self._is_json = False
        split = urllib.parse.urlsplit(self.path)
        path = self._path = split.path
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        try:
            if path.startswith("/_emulator"):
                return self._control(path, query, self._read_body())
            fault = self.emu.faults.pick(self.command, path)
            if fault and fault["kind"] == "reset_before":
                self._entry = self.emu.log_request(self.command, path, query, {}, self.headers)
                self._entry["fault"] = "reset_before"
                self._abort()
            body = self._read_body()
            form = self._form(body)
            self._entry = self.emu.log_request(self.command, path, query, form, self.headers)
            self._fault = fault
            if fault:
                self._entry["fault"] = fault["kind"]
            params = {k: list(v) for k, v in query.items()}
            for k, v in form.items():
                params.setdefault(k, []).extend(v)
            self._is_json = (get(params, "format") or "").lower() == "json"
            self._api = path.startswith("/api/")
            if fault and fault["kind"] in ("status", "error"):
                return self._answer_fault(fault, path)
            if self._api:
                return self._api_request(path, query, params, body)
            self._serve(path, query, params, body)
        except _Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if self._entry is not None and self._entry["status"] is not None:
                self.emu.log(f"{self.command} {path} -> {self._entry['status']}")

    def _answer_fault(self, fault: dict, path: str) -> None:
        if fault["kind"] == "status":
            st = int(fault.get("status", 503))
            return self.send(
                st,
                render.html_error(st, REASONS.get(st, "Error")),
                "text/html",
                [(k, str(v)) for k, v in (fault.get("headers") or {}).items()],
            )
        code = int(fault.get("code", 183))
        if routes.resolve(self.command, path).route is TOKEN_ROUTE:
            return self.send_json(
                int(fault.get("status", 400)), {"error": "invalid_grant", "error_description": message(code)}
            )
        self.fail(PardotError(code, status=fault.get("status")))

    def _serve(self, path: str, query: dict, params: dict, body: bytes) -> None:
        """The token endpoint and the app pages (not /api: no limits, no Pardot errors)."""
        found = routes.resolve(self.command, path)
        if found.route is TOKEN_ROUTE and not found.method_ok:
            return self.send_json(
                400, {"error": "invalid_request", "error_description": "must use HTTP POST"}
            )
        if found.route is None or not found.method_ok or found.route.kind == "control":
            return self.send(404, b"Not Found", "text/plain")
        if self._fault and self._fault["kind"] == "delay":
            time.sleep(float(self._fault.get("seconds", 1)))
        found.route.handler(self, routes.Call(found.vars, query, params, body))

    def basic_auth(self) -> tuple[str, str] | None:
        """``(client_id, client_secret)`` from an ``Authorization: Basic`` header, else None."""
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        cid, _, secret = raw.partition(":")
        return urllib.parse.unquote(cid), urllib.parse.unquote(secret)

    # --------------------------------------------------------------- /api
    def _api_request(self, path: str, query: dict, params: dict, body: bytes) -> None:
        """Limits first (daily 122, in flight 66), then ``latency_ms``, then the route.

        The request counts in flight (and the peak, ``max_in_flight``) until it is answered;
        ``max_attempted_in_flight`` also counts the requests refused with 66."""
        emu = self.emu
        with emu.lock:
            emu.requests += 1
            over_daily = emu.daily_used >= emu.config["daily_limit"]
            epoch = emu.epoch
            if not over_daily:
                emu.daily_used += 1
                emu.in_flight += 1
                # the peak of requests arriving together, the ones refused with 66 included
                emu.max_attempted_in_flight = max(emu.max_attempted_in_flight, emu.in_flight)
                too_many = emu.in_flight > emu.config["concurrency_limit"]
                if too_many:
                    emu.in_flight -= 1
                else:
                    emu.max_in_flight = max(emu.max_in_flight, emu.in_flight)
                    self._note_in_flight(emu)
        if over_daily:
            return self.fail(PardotError(122))
        if too_many:
            return self.fail(PardotError(66))
        try:
            latency_ms = float(emu.config["latency_ms"] or 0)
            if latency_ms > 0:  # --latency-ms: Pardot's own latency, while the request is in flight
                time.sleep(latency_ms / 1000)
            if self._fault and self._fault["kind"] == "delay":
                time.sleep(float(self._fault.get("seconds", 1)))
            try:
                self._call_api(path, query, params, body)
            except PardotError as e:
                self.fail(e)
        finally:
            with emu.lock:
                if epoch == emu.epoch:  # else a reset forgot it already
                    emu.in_flight -= 1
                if self._entry is not None and self._entry in emu.flying:
                    emu.flying.remove(self._entry)

    def _note_in_flight(self, emu) -> None:
        """Log how many requests were in flight as this one began, and the most while each was (lock held)."""
        entry = self._entry
        if entry is None:
            return
        entry["in_flight"] = entry["in_flight_peak"] = emu.in_flight
        emu.flying.append(entry)
        for other in emu.flying:
            other["in_flight_peak"] = max(other["in_flight_peak"], emu.in_flight)

    def _call_api(self, path: str, query: dict, params: dict, body: bytes) -> None:
        found = routes.resolve(self.command, path)  # raises 94, 88, 198 (v3/v4 paths)
        for k, v in found.pairs.items():
            params[k] = [v]
        if found.auth:
            self._authenticate(query, params)
        if found.error is not None:
            raise found.error
        assert found.route is not None
        found.route.handler(self, routes.Call(found.vars, query, params, body))

    def _authenticate(self, query: dict, params: dict) -> None:
        emu = self.emu
        if self.command == "GET" and any(k in query for k in ("access_token", "api_key", "user_key")):
            raise PardotError(49)
        auth = self.headers.get("Authorization", "") or ""
        legacy = auth.lower().startswith("pardot") or (not auth and get(params, "api_key") is not None)
        if legacy:
            if not emu.config["legacy_auth"]:
                raise PardotError(199)
            creds = parse_pardot_header(auth) if auth else {}
            api_key = creds.get("api_key") or get(params, "api_key")
            user_key = creds.get("user_key") or get(params, "user_key")
            if not emu.auth.api_key_valid(api_key, user_key):
                raise PardotError(1)
            return
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token or not emu.auth.token_valid(token):
            raise PardotError(184)
        bu = self.headers.get("Pardot-Business-Unit-Id")
        if bu is None or bu.strip() == "":
            raise PardotError(181, "Pardot-Business-Unit-Id header not found on request.")
        if not BU_RE.match(bu.strip()):
            raise PardotError(182, "Pardot-Business-Unit-Id")
        if emu.config["strict_auth"] and bu.strip() != emu.identities["business_unit_id"]:
            raise PardotError(201)

    # --------------------------------------------------------------- control API
    def _control(self, path: str, query: dict, body: bytes) -> None:
        found = routes.resolve(self.command, path)
        if found.route is None or not found.method_ok or found.route.kind != "control":
            return self.send_json(404, {"error": f"unknown control endpoint {self.command} {path}"})
        try:
            found.route.handler(self, routes.Call(found.vars, query, query, body))
        except control.Missing as e:
            self.send_json(404, {"error": str(e)})
        except (ValueError, TypeError, KeyError) as e:
            self.send_json(400, {"error": str(e)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    #: "https" when EmulatorServer wrapped the listening socket with TLS
    scheme = "http"
    # set by EmulatorServer right after construction
    emu: Emulator
    route_id: str
    lb_id: str

    def handle_error(self, request, client_address):  # quiet on client disconnects
        import sys

        exc = sys.exc_info()[1]
        # ssl.SSLError: a client that refused the certificate, or spoke plain HTTP to a TLS port
        if isinstance(exc, (ConnectionError, BrokenPipeError, socket.timeout, ssl.SSLError, _Abort)):
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """``EmulatorServer(host="127.0.0.1", port=0, **options).start()`` -> port; ``.url``; ``.stop()``.

    Options: seed, strict_auth, legacy_auth, daily_limit, export_delay, data_dir, quiet,
    jwt_public_key, tls_cert, tls_key, v5_record_cap, v5_token_ttl, latency_ms, counts (record
    counts by object, e.g. ``{"visitorActivity": 100_000}``) and id_layout (``even``, ``clustered`` or ``early``). With ``tls_cert`` and ``tls_key`` (PEM files) the
    listening socket is wrapped in TLS and every URL (``url``, ``resultRefs``, ``instance_url``) is
    ``https://``; without them it is plain HTTP.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 42,
        strict_auth: bool = False,
        legacy_auth: bool = False,
        daily_limit: int = 25000,
        export_delay: float = 1.0,
        data_dir: str | None = None,
        quiet: bool = True,
        jwt_public_key: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        v5_record_cap: int = 100_000,
        v5_token_ttl: float = 4 * 3600.0,
        latency_ms: float = 0.0,
        counts: dict | None = None,
        id_layout: str = "even",
    ):
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        tls: ssl.SSLContext | None = None
        if tls_cert is not None:
            tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls.load_cert_chain(tls_cert, tls_key)  # fail here, before the data dir is made
        self._own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="pardot-emulator-")
        os.makedirs(self.data_dir, exist_ok=True)
        self.emu = Emulator(
            seed=seed,
            strict_auth=strict_auth,
            legacy_auth=legacy_auth,
            daily_limit=daily_limit,
            export_delay=export_delay,
            data_dir=self.data_dir,
            quiet=quiet,
            jwt_public_key=jwt_public_key,
            v5_record_cap=v5_record_cap,
            v5_token_ttl=v5_token_ttl,
            latency_ms=latency_ms,
            counts=counts,
            id_layout=id_layout,
        )
        self.httpd = _Server((host, port), Handler)
        if tls is not None:
            # accept() returns TLS sockets; Handler.setup does each handshake in its own thread
            self.httpd.socket = tls.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
            self.httpd.scheme = "https"
        self.httpd.emu = self.emu
        self.httpd.route_id = secrets.token_hex(16)
        self.httpd.lb_id = secrets.token_hex(16)
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"{self.httpd.scheme}://{host}:{self.port}"

    def start(self) -> int:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="pardot-emulator",
            daemon=True,
        )
        self._thread.start()
        return self.port

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever(poll_interval=0.2)
        finally:
            self.close()

    def stop(self) -> None:
        self.httpd.shutdown()
        if self._thread:
            self._thread.join(timeout=5)
        self.close()

    def close(self) -> None:
        self.emu.stop()
        self.httpd.server_close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
