"""The provider is registered with Airflow: the CLI lists it, its connection type, hooks, links and triggers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_pardot.get_provider_info import get_provider_info

AIRFLOW = Path(sys.executable).parent / "airflow"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-cli")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def run(*args: str) -> str:
        done = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    return run


def test_provider_info_matches_the_modules():
    import importlib

    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-pardot"
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for entry in info["transfers"]:
        importlib.import_module(entry["python-module"])
    for path in info["extra-links"]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "pardot"
    module, _, name = conn["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), name).conn_type == "pardot"


def test_cli_lists_the_provider(cli):
    assert "airflow-provider-pardot" in cli("providers", "get", "airflow-provider-pardot")
    out = cli("providers", "get", "airflow-provider-pardot", "--full", "-o", "json")
    full = json.loads(out[out.index("[{") :])  # after any log lines
    provider = full[0] if isinstance(full, list) else full
    text = json.dumps(provider)
    assert '"connection-type": "pardot"' in text
    assert "business_unit_id" in text


def test_cli_lists_hook_links_and_triggers(cli):
    assert "airflow_provider_pardot.hooks.pardot.PardotHook" in cli("providers", "hooks")
    links = cli("providers", "links")
    for name in ("PardotExportLink", "PardotEmailLink", "PardotListLink"):
        assert name in links
    assert "airflow_provider_pardot.triggers.export" in cli("providers", "triggers")
