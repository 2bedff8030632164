"""What a DAG file pays for the provider: parsing loads nothing that only a running task needs.

The DAG processor parses files again and again (on Airflow 2.11 in a fresh process per file), so
the HTTP clients, XML parsing, pydantic models, file formats and lineage load on first use, inside
the task. Measured in a fresh interpreter: first Airflow and the bases the provider builds on (what
any DAG file with Airflow's own operators pays anyway), then the provider's public modules and every
example DAG. Two kinds of offender: a heavy or network package that arrives only with the provider,
and any of the provider's internal modules beyond the few small tables the public classes are built
from (those internals cost a fresh DAG processor most of the provider's import time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_pardot"
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

#: The provider's modules a DAG file may load when it is parsed: the public modules (what it imports)
#: and the small ones their classes are built from. Every other internal module (the HTTP client,
#: the API's rules, file formats, lineage) loads inside the method that needs it, when a task runs.
PUBLIC_PARTS = ("hooks", "operators", "sensors", "triggers", "transfers", "links", "get_provider_info")
SMALL_TABLES = {
    "airflow_provider_pardot.exceptions",  # the errors the public modules name
    "airflow_provider_pardot.api.ids",  # DEFAULT_CONN_ID, every task's default
    "airflow_provider_pardot.api.email_params",  # the send parameters: the email operators' template_fields
    "airflow_provider_pardot.api.lists",  # the list fields: the list operators' template_fields
    "airflow_provider_pardot.client.endpoints",  # the paths the hook and the links build
}

# Runs in a fresh interpreter: Airflow's own bases first, then the provider's public modules or the
# example DAGs one by one; prints, for each, the modules its import (or its parse) added.
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
mode, names = sys.argv[1], sys.argv[2:]
added = {}
for name in names:
    before = set(sys.modules)
    importlib.import_module(name) if mode == "modules" else runpy.run_path(name)
    added[name] = sorted(set(sys.modules) - before)
print(json.dumps(added))
"""

MODES = [("modules", public_modules()), ("dags", [str(p) for p in EXAMPLE_DAGS])]


def _added_modules(mode: str, names: list[str], tmp_path: Path) -> dict[str, list[str]]:
    """For each name, in order, the modules its import (``modules``) or its parse (``dags``) added."""
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
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """``parsed(mode, names)``: what each public module or example DAG added (one interpreter a mode)."""
    runs: dict[str, dict[str, list[str]]] = {}

    def run(mode: str, names: list[str]) -> dict[str, list[str]]:
        if mode not in runs:
            runs[mode] = _added_modules(mode, names, tmp_path_factory.mktemp(mode))
        return runs[mode]

    return run


def is_allowed(module: str) -> bool:
    """Whether parsing a DAG file may load the provider's ``module``."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in PUBLIC_PARTS or module in SMALL_TABLES:
        return True
    return len(parts) == 2 and parts[1] in ("api", "client", "files", "lineage")  # a room's empty package


@pytest.mark.parametrize(("mode", "names"), MODES, ids=["public-modules", "example-dags"])
def test_parsing_loads_nothing_heavy(mode, names, parsed):
    added = {m.split(".")[0] for modules in parsed(mode, names).values() for m in modules}
    assert "airflow_provider_pardot" in added  # the provider really was imported
    offenders = sorted(added & HEAVY)
    assert not offenders, f"loaded at parse time, needed only by a running task: {offenders}"


@pytest.mark.parametrize(("mode", "names"), MODES, ids=["public-modules", "example-dags"])
def test_parsing_loads_no_internal_module_beyond_the_small_tables(mode, names, parsed):
    offenders = {
        name: internal
        for name, modules in parsed(mode, names).items()
        if (internal := [m for m in modules if m.startswith(f"{PACKAGE}.") and not is_allowed(m)])
    }
    assert not offenders, (
        "internal modules loaded at parse time (import them inside the method that needs them); "
        f"each name lists those it loaded first: {offenders}"
    )
