"""Run DAGs in a real Airflow (``airflow dags test``) on a fresh SQLite metadata database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
_TEMPLATE_DB: Path | None = None


@dataclass
class DagRun:
    returncode: int
    output: str

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and "state=failed" not in self.output.replace(" ", "")


class AirflowHome:
    """A throwaway AIRFLOW_HOME with a migrated SQLite DB and a dags folder."""

    def __init__(self, root: Path, dags_folder: Path) -> None:
        self.root = root
        self.dags_folder = dags_folder
        self._migrated = False

    def env(
        self, connections: dict[str, dict] | None = None, extra_env: dict[str, str] | None = None
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.root),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.root}/airflow.db",
                "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor" if _airflow_major() == 2 else "LocalExecutor",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "PATH": f"{AIRFLOW_BIN.parent}:{os.environ.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        for conn_id, conn in (connections or {}).items():
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        env.update(extra_env or {})
        return env

    def migrate(self) -> None:
        """A migrated SQLite DB: migrated once per test session, then copied (a migration takes ~1 min)."""
        global _TEMPLATE_DB
        if self._migrated:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        db = self.root / "airflow.db"
        if _TEMPLATE_DB is None or not _TEMPLATE_DB.exists():
            done = subprocess.run(
                [str(AIRFLOW_BIN), "db", "migrate"],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f"airflow db migrate failed:\n{done.stdout}\n{done.stderr}")
            template_dir = Path(tempfile.mkdtemp(prefix="airflow-db-template-"))
            _TEMPLATE_DB = template_dir / "airflow.db"
            shutil.copyfile(db, _TEMPLATE_DB)
        else:
            shutil.copyfile(_TEMPLATE_DB, db)
        self._migrated = True

    def dags_test(
        self,
        dag_id: str,
        *,
        connections: dict[str, dict] | None = None,
        extra_env: dict[str, str] | None = None,
        conf: dict | None = None,
        timeout: float = 600,
        logical_date: str | None = None,
    ) -> DagRun:
        """``airflow dags test <dag_id> [<logical_date>]``: runs every task (and deferred triggers) inline."""
        self.migrate()
        cmd = [str(AIRFLOW_BIN), "dags", "test", dag_id]
        if logical_date:
            cmd.append(logical_date)
        if conf:
            cmd += ["--conf", json.dumps(conf)]
        done = subprocess.run(
            cmd,
            env=self.env(connections, extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return DagRun(done.returncode, done.stdout + done.stderr)

    def sync_dags_on_airflow_2(self) -> None:
        """Airflow 2.11 records a Dataset (or DatasetAlias) event only for one in the database, which
        the DAG processor puts there; ``dags test`` alone does not. ``dags reserialize`` does."""
        if _airflow_major() < 3:
            synced = self.cli("dags", "reserialize")
            assert synced.returncode == 0, synced.output[-3000:]

    def cli(self, *args: str, connections: dict[str, dict] | None = None, timeout: float = 300) -> DagRun:
        self.migrate()
        done = subprocess.run(
            [str(AIRFLOW_BIN), *args],
            env=self.env(connections),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return DagRun(done.returncode, done.stdout + done.stderr)


def _airflow_major() -> int:
    from importlib.metadata import version

    return int(version("apache-airflow").split(".")[0])
