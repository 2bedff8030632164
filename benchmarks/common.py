"""Shared helpers for the benchmarks: emulator subprocess, connection env, child rusage, medians."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
WORK = BENCH / ".work"
sys.path.insert(0, str(ROOT / "tests"))

from emulator_control import EmulatorControl  # noqa: E402

from airflow_provider_pardot.emulator.launch import EmulatorProcess  # noqa: E402

BUSINESS_UNIT_ID = "0Uv000000000001AAA"
LOGIN = "integration@emulator.example"
PASSWORD = "emulator-password"


def connection(url: str, **extra) -> dict:
    return {
        "conn_type": "pardot",
        "host": url,
        "login": LOGIN,
        "password": PASSWORD,
        "extra": {
            "business_unit_id": BUSINESS_UNIT_ID,
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "login_url": url,
            "auth_type": "password",
            **extra,
        },
    }


#: environment variables through which every client here trusts a CA file: requests (hook,
#: bare loop, PyPardot4, naive), the standard library / httpx, and curl's own default
CA_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


def make_tls_cert(directory: Path = WORK / "tls") -> tuple[str, str]:
    """A fresh self-signed RSA-2048 certificate for 127.0.0.1 and its key (PEM), for ``--tls-cert``.

    RSA 2048 because that is what most public HTTPS endpoints still present; the certificate is its
    own trust anchor, so clients trust it through ``CA_VARS`` (curl through ``--cacert``).
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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


@contextlib.contextmanager
def trusting(ca: str | None):
    """This process (and the children it starts with ``airflow_env``) trusts ``ca``; None: no change."""
    if ca is None:
        yield
        return
    saved = {k: os.environ.get(k) for k in CA_VARS}
    os.environ.update(dict.fromkeys(CA_VARS, ca))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def airflow_env(url: str | None = None, ca: str | None = None, **extra) -> dict[str, str]:
    """Environment for a child that imports airflow: a private AIRFLOW_HOME and the connection.

    ``ca``: a CA file every HTTPS client in the child trusts (``CA_VARS``).
    """
    home = WORK / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if ca is not None:
        env.update(dict.fromkeys(CA_VARS, ca))
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(BENCH), str(ROOT / "tests")])
    if url is not None:
        env["AIRFLOW_CONN_PARDOT_DEFAULT"] = json.dumps(connection(url, **extra))
    return env


def setup_airflow_in_process(url: str | None = None, **extra) -> None:
    os.environ.update(airflow_env(url, **extra))


class Emulator:
    """The emulator as a subprocess (:class:`~airflow_provider_pardot.emulator.launch.EmulatorProcess`).

    ``tls=(cert, key)``: serve HTTPS with that certificate; ``.ca`` is then the file to trust and
    ``.url`` is ``https://``. Without it, plain HTTP and ``.ca`` is None.
    """

    def __init__(self, *args: str, name: str = "emu", tls: tuple[str, str] | None = None):
        self.ca = tls[0] if tls else None
        WORK.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=WORK))
        self.process = EmulatorProcess(*args, workdir=workdir, tls=tls, timeout=60, cwd=str(ROOT)).start()
        self.dir, self.url, self.proc = workdir, self.process.url, self.process.proc
        self.control = EmulatorControl(self.url, timeout=600)
        if self.ca:
            # trust_env off: a REQUESTS_CA_BUNDLE in the environment would override session.verify
            self.control.session.trust_env = False
            self.control.session.verify = self.ca

    def stop(self) -> None:
        import shutil

        self.process.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_measured(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: str | None = None,
    stdout=subprocess.PIPE,
    timeout: float = 900,
) -> dict:
    """Run one child; return wall seconds, its own peak RSS (MiB), CPU seconds and stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd or str(ROOT), stdout=stdout, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (peak RSS, CPU), not the sum over every child so far.
    out = b""
    err = b""
    if stdout == subprocess.PIPE:
        # read until EOF first (the child may write more than a pipe buffer)
        import threading

        chunks: list[bytes] = []
        errs: list[bytes] = []
        t1 = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
        t2 = threading.Thread(target=lambda: errs.append(proc.stderr.read()))
        t1.start()
        t2.start()
    else:
        import threading

        chunks, errs = [b""], []
        t1 = None
        t2 = threading.Thread(target=lambda: errs.append(proc.stderr.read()))
        t2.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if t1 is not None:
        t1.join()
    t2.join()
    out = b"".join(chunks)
    err = b"".join(errs)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... exited {proc.returncode}: {err.decode(errors='replace')[-3000:]}")
    return {
        "wall": wall,
        "rss_mib": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "stdout": out.decode(errors="replace"),
        "stderr": err.decode(errors="replace"),
    }


def median(values):
    return statistics.median(values)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def splice_section(existing: str, section: str, begin: str, end: str) -> str:
    """Put ``section`` in place of the part of ``existing`` between ``begin`` and ``end`` (or at its end)."""
    import re

    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(existing):
        return pattern.sub(lambda _: section, existing)
    return existing.rstrip("\n") + "\n\n" + section + "\n"
