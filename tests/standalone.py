"""Helpers shared by the end-to-end and browser tests: the Pardot emulator as a process, the
``pardot`` connection, and ``airflow standalone`` (scheduler, dag-processor, triggerer and
api-server) on a fresh AIRFLOW_HOME, driven through its REST API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
from identities import pardot_connection  # noqa: F401  (re-exported for the UI and e2e tests)

from airflow_provider_pardot.emulator.launch import EmulatorProcess as LaunchedEmulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"
VENV_BIN = Path(sys.executable).parent
AIRFLOW_BIN = VENV_BIN / "airflow"


def airflow_major() -> int:
    from importlib.metadata import version

    return int(version("apache-airflow").split(".")[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process started here in its own session, and every process of its group."""
    pgid = proc.pid  # started with start_new_session=True: it leads its own group
    if proc.poll() is None or _group_alive(pgid):
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()
        if proc.returncode is not None and not _group_alive(pgid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


class EmulatorProcess(LaunchedEmulator):
    """The emulator on a free port, in its own process group, its output in ``emulator.log``."""

    def __init__(self, workdir: Path, *args: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "emulator.log", "wb")  # noqa: SIM115 - closed in stop()
        super().__init__(
            *args, workdir=workdir, stdout=self.log, stderr=subprocess.STDOUT, new_session=True
        )

    def state(self) -> dict:
        r = requests.get(f"{self.url}/_emulator/state", timeout=10)
        r.raise_for_status()
        return r.json()

    def stop(self) -> None:
        super().stop()
        self.log.close()


class Standalone:
    """``airflow standalone`` (Airflow 3) on a fresh AIRFLOW_HOME, with a REST API client.

    It runs ``db migrate``, then the scheduler (LocalExecutor), dag-processor, triggerer and
    api-server. It creates no pool: a test that needs one calls :meth:`ensure_pool`.
    """

    def __init__(
        self,
        home: Path,
        *,
        dags_folder: Path = EXAMPLE_DAGS,
        connections: dict[str, dict] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.home = home
        self.dags_folder = dags_folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = connections or {}
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()
        self._token: str | None = None

    # ---------------------------------------------------------------- process
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__BASE_URL": self.url,
                # New DAGs start unpaused only when asked (the tests unpause through the API).
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                # Pick up the example DAGs at once, and schedule quickly.
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                # The triggerer's log server defaults to 8794 on all interfaces: avoid clashes.
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for conn_id, conn in self.connections.items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        env.update(self.extra_env)
        return env

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(AIRFLOW_BIN), *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def start(self, timeout: float = 300) -> Standalone:
        """Start it (standalone runs ``db migrate`` itself) and wait for its API."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = self.home / "standalone.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(AIRFLOW_BIN), "standalone"],
            env=self.env(),
            cwd=self.home,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        health = f"{self.url}/api/v2/monitor/health"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited:\n{self.tail()}")
            try:
                if requests.get(health, timeout=5).ok and self.password():
                    break
            except (requests.RequestException, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"airflow standalone did not come up in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(1)
        return self

    def ensure_pool(self, name: str, slots: int) -> None:
        description = "Pardot API: 5 concurrent requests per business unit"
        try:
            self.api(
                "PATCH", f"/pools/{name}", json={"name": name, "slots": slots, "description": description}
            )
        except RuntimeError:
            self.api("POST", "/pools", json={"name": name, "slots": slots, "description": description})

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc, timeout=30)
            self._log.close()
            self.proc = None

    def tail(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ---------------------------------------------------------------- auth
    def password(self) -> str:
        """The admin password SimpleAuthManager generated."""
        data = json.loads((self.home / "simple_auth_manager_passwords.json.generated").read_text())
        return data["admin"]

    def token(self) -> str:
        if self._token is None:
            r = requests.post(
                f"{self.url}/auth/token",
                json={"username": "admin", "password": self.password()},
                timeout=30,
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    # ---------------------------------------------------------------- REST API
    def api(self, method: str, path: str, **kw: Any) -> Any:
        url = f"{self.url}/api/v2{path}"
        headers = {"Authorization": f"Bearer {self.token()}"}
        r = self.session.request(method, url, headers=headers, timeout=60, **kw)
        if not r.ok:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict:
        """Wait until the dag-processor has parsed ``dag_id``; fail early on an import error."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.api("GET", f"/dags/{dag_id}")
            except RuntimeError:
                errors = self.api("GET", "/importErrors").get("import_errors", [])
                if errors:
                    raise AssertionError(f"import errors: {errors}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAG {dag_id} not parsed in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(2)

    def trigger(self, dag_id: str, conf: dict | None = None, logical_date: str | None = None) -> str:
        """Unpause ``dag_id`` and trigger a run; returns the run id."""
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        body: dict[str, Any] = {"conf": conf or {}, "logical_date": logical_date}
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['state']} after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
