"""What a DAG file pays for the provider: parsing loads nothing that only a running task needs.

The DAG processor parses files again and again (on Airflow 2.11 in a fresh process per file), so
the HTTP clients, XML parsing, pydantic models, file formats and lineage load on first use, inside
the task. Measured in a fresh interpreter: first Airflow and the bases the provider builds on (what
any DAG file with Airflow's own operators pays anyway), then the provider's public modules and every
example DAG; a heavy or network package that arrives only with the provider is an offender.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = sorted((ROOT / "example_dags").glob("example_*.py"))



def public_modules() -> list[str]:
    """Every module a DAG file may import: the ones the provider registers, and its links."""
    from airflow_provider_pardot.get_provider_info import get_provider_info

    info = get_provider_info()
    kinds = ("hooks", "operators", "sensors", "triggers")
    found = [m for kind in kinds for entry in info[kind] for m in entry["python-modules"]]
    found += [entry["python-module"] for entry in info["transfers"]]
    return found + sorted({link.rsplit(".", 1)[0] for link in info["extra-links"]})


#: Packages only a running task needs: HTTP clients and their dependencies, XML, pydantic, file
#: formats, cloud storage, lineage, crypto for JWT.
HEAVY = {
    "requests", "urllib3", "charset_normalizer", "idna", "certifi", "httpx", "httpcore", "h11",
    "anyio", "http", "pydantic", "pydantic_core", "xml", "pyexpat", "_elementtree", "stringprep",
    "pandas", "numpy", "pyarrow", "boto3", "botocore", "s3fs", "aiobotocore", "openlineage", "jwt",
}

# Runs in a fresh interpreter: Airflow's own bases first, then the provider; prints the packages
# the provider added.
_PROBE = r"""
import importlib, json, runpy, sys
import airflow
try:
    from airflow.sdk import DAG, Asset, BaseHook, BaseOperator, BaseOperatorLink, BaseSensorOperator, task
except ImportError:  # Airflow 2
    from airflow import DAG, Dataset as Asset
    from airflow.decorators import task
    from airflow.hooks.base import BaseHook
    from airflow.models import BaseOperator, BaseOperatorLink
    from airflow.sensors.base import BaseSensorOperator
from airflow.providers.common.compat.sdk import BaseOperator as _CompatBase  # noqa: F401
from airflow.triggers.base import BaseTrigger  # noqa: F401
before = set(sys.modules)
mode, names = sys.argv[1], sys.argv[2:]
for name in names:
    importlib.import_module(name) if mode == "modules" else runpy.run_path(name)
added = sorted(set(sys.modules) - before)
print(json.dumps(sorted({m.split(".")[0] for m in added})))
"""


def _added_packages(mode: str, names: list[str], tmp_path: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("mode", "names"),
    [("modules", public_modules()), ("dags", [str(p) for p in EXAMPLE_DAGS])],
    ids=["public-modules", "example-dags"],
)
def test_parsing_loads_nothing_heavy(mode, names, tmp_path):
    added = _added_packages(mode, names, tmp_path)
    assert "airflow_provider_pardot" in added  # the provider really was imported
    offenders = sorted(added & HEAVY)
    assert not offenders, f"loaded at parse time, needed only by a running task: {offenders}"
