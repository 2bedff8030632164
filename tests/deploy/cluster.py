"""Airflow 3 as users deploy it: CeleryExecutor over PostgreSQL and Redis, with the scheduler, the
DAG processor, the triggerer, the API server and two Celery workers each its own ``airflow ...``
process. They share one configuration through ``AIRFLOW__...`` environment variables (as the
containers of a deployment share one image and one set of variables) and read the Pardot connection
from an ``AIRFLOW_CONN_...`` variable."""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
from pathlib import Path

import requests
from processes import Service, free_port

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from standalone import AIRFLOW_BIN, Standalone

WORKERS = ("worker-1", "worker-2")
WORKER_CONCURRENCY = 4
POOL, POOL_SLOTS = "pardot", 5
#: The connection the runs use (through the DAGs' ``pardot_conn_id`` param); there is no
#: ``pardot_default`` in this deployment.
CONN_ID = "pardot_deploy"
#: A task whose worker stops heartbeating is failed (and retried) after this many seconds.
HEARTBEAT_TIMEOUT = 30

# $AIRFLOW_HOME/config is on every Airflow process's sys.path. The cluster policy shortens the
# example DAGs' retry delay (5 minutes) for the test; the hostname callable names each worker in
# the task instances it runs (both workers share this machine's hostname).
LOCAL_SETTINGS = '''\
"""Cluster policy and worker names for the deployment test."""
import os
from datetime import timedelta


def task_policy(task):
    if task.retries:
        task.retry_delay = timedelta(seconds=5)


def worker_name():
    return os.environ.get("PARDOT_DEPLOY_WORKER") or os.uname().nodename
'''


class AirflowProcess(Service):
    def __init__(self, logs: Path, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        super().__init__(logs)
        self.args = args
        self.env = env

    def start(self) -> AirflowProcess:
        self.spawn([str(AIRFLOW_BIN), *self.args], env=self.env)
        return self


class CeleryCluster(Standalone):
    """The processes of a CeleryExecutor deployment, with :class:`Standalone`'s REST API client."""

    def __init__(self, home: Path, logs: Path, *, postgres_dsn: str, redis_url: str, **kw) -> None:
        super().__init__(home, **kw)
        self.logs = logs
        self.postgres_dsn = postgres_dsn
        self.redis_url = redis_url
        self.processes: dict[str, AirflowProcess] = {}
        # One set of secrets for every process, as a deployment's shared configuration.
        self.secrets = {
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        }

    def env(self) -> dict[str, str]:
        env = super().env()
        result_backend = "db+" + self.postgres_dsn
        env.update(self.secrets)
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.postgres_dsn,
                "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__CORE__PARALLELISM": "32",
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "task-logs"),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_local_settings.worker_name",
                "PYTHONPATH": str(self.home / "config"),
            }
        )
        return env

    def _process(self, name: str, *args: str, **extra_env: str) -> AirflowProcess:
        proc = AirflowProcess(self.logs, name, list(args), {**self.env(), **extra_env})
        self.processes[name] = proc
        return proc.start()

    def start(self, timeout: float = 300) -> CeleryCluster:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "config").mkdir(exist_ok=True)
        (self.home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
        self._cli_checked("db", "migrate", timeout=600)
        # The README's production recipe: one pool of five slots per business unit.
        self._cli_checked("pools", "set", POOL, str(POOL_SLOTS), "Pardot API: 5 concurrent requests")
        self._process("api-server", "api-server")
        self._process("scheduler", "scheduler")
        self._process("dag-processor", "dag-processor")
        self._process("triggerer", "triggerer")
        for name in WORKERS:
            self._process(
                name,
                *(
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{name}@%h",
                    "--pid",
                    str(self.home / f"{name}.pid"),
                ),
                PARDOT_DEPLOY_WORKER=name,
                AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            )
        deadline = time.monotonic() + timeout
        while not (self._healthy() and all(" ready." in self.processes[n].tail(200) for n in WORKERS)):
            dead = [name for name, proc in self.processes.items() if not proc.alive()]
            if dead or time.monotonic() > deadline:
                what = f"{', '.join(dead)} exited" if dead else f"not ready in {timeout:.0f} s"
                raise RuntimeError(f"the deployment failed to start: {what}\n{self.tail()}")
            time.sleep(1)
        return self

    def _cli_checked(self, *args: str, timeout: float = 300) -> None:
        done = self.cli(*args, timeout=timeout)
        (self.logs / f"airflow-{args[0]}-{args[1]}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )

    def _healthy(self) -> bool:
        """The API answers, its admin password exists, and it reports every component healthy."""
        try:
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            self.password()
        except (requests.RequestException, OSError, ValueError):
            return False
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(p) or {}).get("status") == "healthy" for p in parts)

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop(timeout=30)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(f"---- {name}\n{proc.tail(lines)}" for name, proc in self.processes.items())

    def hosts_of(self, dag_id: str, run_id: str, task_id: str) -> list[tuple[int, str, str | None]]:
        """``(try_number, state, hostname)`` of every try of a task instance."""
        tries = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries")
        return sorted((t["try_number"], t["state"], t["hostname"]) for t in tries["task_instances"])

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.api("GET", path, params={"full_content": "true"})["content"]
        return content if isinstance(content, str) else "\n".join(json.dumps(c) for c in content)
