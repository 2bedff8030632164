"""The deployment under test: PostgreSQL, Redis, the Pardot emulator and a CeleryExecutor Airflow.

Every process is started here and stopped here, by process id, also when a test fails. The logs
of every process (and the task logs) are written under ``test-artifacts/deploy/``, kept when a
test failed and removed when all passed."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from cluster import CONN_ID, CeleryCluster  # noqa: E402
from emulator_control import EmulatorControl  # noqa: E402
from services import Postgres, Redis, ensure_packages  # noqa: E402
from standalone import ROOT, EmulatorProcess, airflow_major, pardot_connection  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts" / "deploy"
#: Seconds per export phase (Waiting, Processing) in the emulator, which runs one export at a time:
#: long enough that every sensor finds its export unfinished and defers.
EXPORT_DELAY = "6"


@pytest.fixture(scope="module")
def deployment(request, tmp_path_factory):
    if airflow_major() < 3:
        pytest.skip("the deployment test runs Airflow 3's api-server, dag-processor and task SDK")
    pytest.importorskip("airflow.providers.celery", reason="needs the [deploy] extra")
    ensure_packages()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    failed_before = request.session.testsfailed
    started: list = []
    keep_logs = True  # when the deployment fails to start, or a test fails
    try:
        emulator = EmulatorProcess(ARTIFACTS / "emulator", "--export-delay", EXPORT_DELAY).start()
        started.append(emulator)
        postgres = Postgres(ARTIFACTS).start()
        started.append(postgres)
        redis = Redis(ARTIFACTS).start()
        started.append(redis)
        out = tmp_path_factory.mktemp("deploy-output")
        cluster = CeleryCluster(
            tmp_path_factory.mktemp("airflow-home-deploy"),
            ARTIFACTS,
            postgres_dsn=postgres.dsn,
            redis_url=redis.url,
            connections={CONN_ID: pardot_connection(emulator.url)},
            extra_env={
                # The README's recipe: the example DAGs' Pardot tasks go to the `pardot` pool.
                "PARDOT_EXAMPLE_POOL": "pardot",
                "PARDOT_EXAMPLE_POLL_SECONDS": "2",
                "AIRFLOW_VAR_PARDOT_EXPORT_DEST": f"file://{out}/default",
            },
        )
        cluster.output = out
        cluster.emulator_control = EmulatorControl(emulator.url)
        started.append(cluster)
        cluster.start()
        yield cluster
        keep_logs = request.session.testsfailed != failed_before
    finally:
        for service in reversed(started):
            service.stop()
        if not keep_logs:
            shutil.rmtree(ARTIFACTS, ignore_errors=True)
