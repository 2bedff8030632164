"""PostgreSQL and Redis from Debian packages, each a foreground process of its own on a free port,
with its data in a throwaway directory; installed with ``apt-get`` when missing (the suite runs as
root in CI). PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from processes import Service, free_port

PACKAGES = ("postgresql", "redis-server")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps it off PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name)
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def ensure_packages() -> None:
    """Install PostgreSQL and Redis from Debian's archive when they are missing."""
    if postgres_bin() and shutil.which("redis-server"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(
            "PostgreSQL and Redis are missing and cannot be installed here (needs root and apt-get): "
            f"apt-get install {' '.join(PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    if not (postgres_bin() and shutil.which("redis-server")):
        raise RuntimeError(f"apt-get installed {PACKAGES} but their programs are missing")


class LocalServer(Service):
    """A server on a free port of 127.0.0.1, with its data in a directory removed when it stops."""

    def __init__(self, logs: Path) -> None:
        super().__init__(logs)
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"pardot-deploy-{self.name}-"))

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Postgres(LocalServer):
    """A PostgreSQL cluster in a temporary directory, database ``airflow`` owned by user ``airflow``."""

    name = "postgres"

    def __init__(self, logs: Path) -> None:
        super().__init__(logs)
        self.dsn = f"postgresql+psycopg2://airflow@127.0.0.1:{self.port}/airflow"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *cmd: str) -> None:
        # In a directory the postgres user may enter (a clone under /root is not one).
        done = subprocess.run(cmd, user=self.user, cwd=self.root, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> Postgres:
        bindir = postgres_bin()
        assert bindir is not None
        if self.user:
            shutil.chown(self.root, self.user, self.user)
        data = self.root / "data"
        self._run(str(bindir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        self.spawn(
            [str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", str(self.root),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=300"],
            user=self.user,
            cwd=self.root,
        )  # fmt: skip
        self.wait_until(self._ready, timeout=60)
        self._run(str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "airflow",
                  "-d", "postgres", "-c", "CREATE DATABASE airflow")  # fmt: skip
        return self

    def _ready(self) -> bool:
        bindir = postgres_bin()
        done = subprocess.run(
            [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return done.returncode == 0


class Redis(LocalServer):
    """``redis-server`` on a free port, no persistence."""

    name = "redis"

    def __init__(self, logs: Path) -> None:
        super().__init__(logs)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.spawn(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"]
        )  # fmt: skip
        self.wait_until(self._ready, timeout=30)
        return self

    def _ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def wait(predicate, timeout: float, what: str, interval: float = 0.5):
    """Poll ``predicate`` until it returns a truthy value; raise ``TimeoutError`` naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} (after {timeout:.0f} s)")
        time.sleep(interval)
