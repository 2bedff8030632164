"""The emulator's optional TLS (``--tls-cert``/``--tls-key``): a self-signed cert for 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest
import requests
from emu_api import Api

from airflow_provider_pardot.emulator.launch import EmulatorProcess
from airflow_provider_pardot.emulator.server import EmulatorServer

if TYPE_CHECKING:
    from pathlib import Path


def make_cert(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for IP 127.0.0.1 (its own trust anchor) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[str, str]:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(cert, tmp_path, monkeypatch):
    # the "unverified client" must see only the default CA bundle, whatever the environment says
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(var, raising=False)
    with EmulatorServer(
        "127.0.0.1", 0, tls_cert=cert[0], tls_key=cert[1], export_delay=0.05, data_dir=str(tmp_path / "data")
    ) as server:
        yield server


def test_https_verified_against_the_cert(tls_server, cert):
    assert tls_server.url == f"https://127.0.0.1:{tls_server.port}"
    r = requests.get(f"{tls_server.url}/_emulator/health", verify=cert[0], timeout=30)
    assert r.status_code == 200
    assert r.json() == {"ok": True}
    # and with the standard library's own client, hostname checked against the IP SAN
    ctx = ssl.create_default_context(cafile=cert[0])
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=30) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_unverified_client_is_refused(tls_server, cert):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_server.url}/_emulator/health", timeout=30)  # default CA bundle
    ctx = ssl.create_default_context()  # the system's CAs
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=30) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    # plain HTTP on the TLS port gets no answer either
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_server.port}/_emulator/health", timeout=30)
    # the refused handshakes cost only their own connections: the server still answers
    assert requests.get(f"{tls_server.url}/_emulator/health", verify=cert[0], timeout=30).ok


def test_result_refs_and_token_urls_are_https(tls_server, cert):
    api = Api(tls_server.url)
    api.s.verify = cert[0]
    token = api.oauth(
        grant_type="password",
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        username="integration@emulator.example",
        password="emulator-password",
    ).json()
    assert token["instance_url"] == tls_server.url
    api.token = token["access_token"]
    r = api.s.post(
        f"{tls_server.url}/api/v5/exports",
        json={
            "object": "visitorActivity",
            "procedure": {
                "name": "filter_by_created_at",
                "arguments": {
                    "created_after": "2024-01-01T00:00:00+00:00",
                    "created_before": "2024-03-01T00:00:00+00:00",
                },
            },
        },
        headers=api.headers(),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        exp = api.s.get(f"{tls_server.url}/api/v5/exports/{eid}", headers=api.headers(), timeout=30).json()
        if exp["status"] == "Complete" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert exp["status"] == "Complete"
    refs = exp["resultRefs"]
    assert refs
    assert all(ref.startswith(f"{tls_server.url}/api/v5/exports/{eid}/results/") for ref in refs)
    v4 = api.get(f"/api/export/version/4/do/read/id/{eid}").json()["export"]["resultRefs"]
    v4 = [v4] if isinstance(v4, str) else v4
    assert all(ref.startswith(f"{tls_server.url}/api/export/version/4/do/downloadResults/") for ref in v4)
    # a download over TLS is whole (the TLS path of _send_file), and a Range request too
    body = api.s.get(refs[0], headers=api.headers(), timeout=30)
    assert body.status_code == 200
    assert int(body.headers["Content-Length"]) == len(body.content) > 0
    files = api.s.get(f"{tls_server.url}/_emulator/exports/{eid}/files", timeout=30).json()
    assert [f["url"] for f in files] == refs
    assert hashlib.sha256(body.content).hexdigest() == files[0]["sha256"]
    part = api.s.get(refs[0], headers=api.headers(Range="bytes=10-99"), timeout=30)
    assert part.status_code == 206
    assert part.content == body.content[10:100]


def test_cli_flags(cert, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REQUESTS_CA_BUNDLE"}
    with EmulatorProcess(workdir=tmp_path, tls=cert, stdout=subprocess.PIPE, text=True, env=env) as emulator:
        assert emulator.proc is not None
        assert emulator.proc.stdout is not None
        banner = emulator.proc.stdout.readline().strip()
        assert banner == f"Pardot API emulator listening on https://127.0.0.1:{emulator.port}"
        r = requests.get(f"{emulator.url}/_emulator/health", verify=cert[0], timeout=30)
        assert r.json() == {"ok": True}


def test_cli_needs_both_flags(cert):
    r = subprocess.run(
        [sys.executable, "-m", "airflow_provider_pardot.emulator", "--port", "0", "--tls-cert", cert[0]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "--tls-cert and --tls-key go together" in r.stderr
