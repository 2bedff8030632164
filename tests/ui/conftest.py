"""Fixtures for the browser test: Debian's chromium (never a Playwright-downloaded browser), the
Pardot emulator, and ``airflow standalone`` serving the example DAGs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from standalone import ROOT, EmulatorProcess, Standalone, airflow_major, pardot_connection

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
UI_CONN_ID = "pardot_emulator"


def _ensure_chromium() -> None:
    """Install Debian's chromium with apt when it is missing (the suite runs as root)."""
    if CHROMIUM.exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    assert CHROMIUM.exists(), "apt-get installed chromium but /usr/bin/chromium is missing"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if airflow_major() < 3:
        pytest.skip("the browser test drives the Airflow 3 UI")
    # Never let Playwright fetch a browser: it only drives the system chromium.
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    sync_api = pytest.importorskip("playwright.sync_api")
    _ensure_chromium()
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def ui_emulator(tmp_path_factory):
    # The emulator's own pace (about 20 s an export); the test holds the export it watches.
    emu = EmulatorProcess(tmp_path_factory.mktemp("ui-emulator")).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def airflow_ui(tmp_path_factory, ui_emulator):
    """``airflow standalone`` on a fresh AIRFLOW_HOME with DAGS_FOLDER = example_dags.

    Its Pardot connection (to the emulator) is ``pardot_emulator``, not the examples' default
    ``pardot_default``: a newcomer's Airflow has none, and the examples must say so at once."""
    if airflow_major() < 3:
        pytest.skip("airflow standalone with the Airflow 3 API server")
    out = tmp_path_factory.mktemp("ui-output")
    sa = Standalone(
        tmp_path_factory.mktemp("airflow-home-ui"),
        connections={UI_CONN_ID: pardot_connection(ui_emulator.url)},
        extra_env={
            "AIRFLOW_VAR_PARDOT_EXPORT_DEST": f"file://{out}/scheduled",
            "PARDOT_EXAMPLE_POLL_SECONDS": "1",
        },
    )
    sa.output = out
    sa.pardot_conn_id = UI_CONN_ID
    try:
        sa.start()
        yield sa
    finally:
        sa.stop()
        if sa.proc is None and (sa.home / "standalone.log").exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(sa.home / "standalone.log", ARTIFACTS / "airflow-standalone.log")
