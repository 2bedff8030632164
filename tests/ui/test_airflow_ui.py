"""The provider in a real Airflow UI (``airflow standalone`` + headless chromium via Playwright).

One test, in the order a user meets the provider: log in; the connection form for type ``pardot``
shows the provider's fields, "Auth type" a choice of the five flows; an example unpaused on this
fresh Airflow, which has no ``pardot_default``, fails at once (first try, no retry) with a log that
says which connection to add or which param to set; trigger ``example_pardot_export`` from the UI
with the param ``pardot_conn_id`` naming the emulator's connection; its sensor defers until the
export is complete; watch the run succeed in the grid; follow the export task's "Pardot Export"
extra link to the (emulated) Pardot page. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "example_pardot_export"
#: max_active_runs=1: a run waiting out retries would hold back the user's own run.
FAIL_FAST_DAG = "example_pardot_v5_incremental"
FLOWS = ["client_credentials", "password", "refresh_token", "jwt_bearer", "access_token"]
MISSING = "The Pardot connection 'pardot_default' does not exist"


def _login(page, airflow_ui, artifacts) -> None:
    page.goto(f"{airflow_ui.url}/")
    try:
        page.wait_for_url("**/auth/login**", timeout=60_000)
    except PlaywrightError:  # the UI's redirect chain aborted one navigation: ask for the login page itself
        page.goto(f"{airflow_ui.url}/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow_ui.password())
    page.screenshot(path=artifacts / "ui-01-login.png")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=60_000)


def _check_connection_form(page, airflow_ui, artifacts) -> None:
    page.goto(f"{airflow_ui.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    page.fill("input[name=connection_id]", "pardot_ui_check")
    combo = page.get_by_role("combobox").last
    combo.click()
    combo.fill("Pardot")
    page.get_by_role("option", name="Pardot", exact=True).click()
    dialog = page.get_by_role("dialog").filter(has_text="Add Connection")
    # Standard fields, relabelled by the provider.
    for label in ("Pardot API URL", "Salesforce username", "Salesforce password"):
        assert dialog.get_by_text(label, exact=True).is_visible(), label
    dialog.get_by_text("Extra Fields", exact=True).click()
    business_unit = dialog.get_by_text("Business Unit ID", exact=True)
    business_unit.wait_for(state="visible", timeout=15_000)
    for label in ("Auth type", "Salesforce login URL"):
        assert dialog.get_by_text(label, exact=True).is_visible(), label
    page.screenshot(path=artifacts / "ui-02-connection-form.png", full_page=True)
    # "Auth type" is a drop-down of the five flows, empty until one is picked (then inferred).
    hidden = dialog.locator("input[name=element_auth_type]")
    assert hidden.input_value() == ""
    dialog.locator("#element_auth_type").get_by_role("combobox").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    assert options.all_inner_texts() == FLOWS
    page.screenshot(path=artifacts / "ui-02-auth-type.png", full_page=True)
    page.get_by_role("option", name="jwt_bearer", exact=True).click()
    assert hidden.input_value() == "jwt_bearer"
    page.keyboard.press("Escape")


def _first_run(airflow_ui, dag_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = airflow_ui.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        if runs:
            return runs[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"unpausing {dag_id} started no run:\n{airflow_ui.tail()}")
        time.sleep(1)


def _check_unpaused_without_connection_fails_fast(page, airflow_ui, artifacts) -> None:
    """Unpausing starts a scheduled run at once; without ``pardot_default`` it fails in its first
    try and says what to do (in the API's task log and on the task's log page)."""
    airflow_ui.wait_for_dag(FAIL_FAST_DAG)
    airflow_ui.api("PATCH", f"/dags/{FAIL_FAST_DAG}", json={"is_paused": False})
    run = _first_run(airflow_ui, FAIL_FAST_DAG)
    assert run["run_type"] == "scheduled", run
    run = airflow_ui.wait_for_run(FAIL_FAST_DAG, run["dag_run_id"], timeout=180)
    run_id = run["dag_run_id"]
    tries = {
        t["task_id"]: (t["state"], t["try_number"]) for t in airflow_ui.task_instances(FAIL_FAST_DAG, run_id)
    }
    assert run["state"] == "failed", (tries, airflow_ui.tail())
    assert tries == {"lifecycle_histories": ("failed", 1), "list_memberships": ("failed", 1)}
    quoted = urllib.parse.quote(run_id)
    for task_id in tries:
        log = airflow_ui.api(
            "GET", f"/dags/{FAIL_FAST_DAG}/dagRuns/{quoted}/taskInstances/{task_id}/logs/1?full_content=true"
        )
        text = json.dumps(log)
        assert MISSING in text, text[-3000:]
        assert "airflow connections add pardot_default --conn-type pardot" in text
        assert "DAG param pardot_conn_id" in text
    # What the user reads: the failed task's log page.
    page.goto(f"{airflow_ui.url}/dags/{FAIL_FAST_DAG}/runs/{quoted}/tasks/list_memberships")
    page.get_by_text(MISSING).first.wait_for()
    page.screenshot(path=artifacts / "ui-03-missing-connection.png", full_page=True)


def _fill_param(dialog, name: str, value: str) -> None:
    field = dialog.get_by_label(name, exact=True)
    if not field.count():
        field = dialog.locator(f"input[name={name}], input#element_{name}")
    field.first.fill(value)


def _trigger_from_ui(page, airflow_ui, artifacts, params: dict[str, str]) -> str:
    """Trigger a run with the DAG's Trigger form (a logical date now, ``params`` set)."""
    before = {r["dag_run_id"] for r in airflow_ui.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]}
    page.goto(f"{airflow_ui.url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Trigger Dag - {DAG_ID}")
    dialog.wait_for(state="visible")
    dialog.get_by_text("dest", exact=True).wait_for()
    for name, value in params.items():
        _fill_param(dialog, name, value)
    page.screenshot(path=artifacts / "ui-04-trigger-form.png")
    dialog.get_by_role("button", name="Trigger").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = airflow_ui.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        new = [r for r in runs if r["dag_run_id"] not in before and r["run_type"] == "manual"]
        if new:
            return new[0]["dag_run_id"]
        time.sleep(1)
    raise AssertionError("the Trigger form created no run")


def _wait_for_state(airflow_ui, run_id: str, task_id: str, state: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = {t["task_id"]: t["state"] for t in airflow_ui.task_instances(DAG_ID, run_id)}
        if states.get(task_id) == state:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{task_id} never {state}: {states}\n{airflow_ui.tail()}")
        time.sleep(1)


def test_provider_in_the_airflow_ui(browser, airflow_ui, ui_emulator, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _login(page, airflow_ui, artifacts)
        _check_connection_form(page, airflow_ui, artifacts)
        _check_unpaused_without_connection_fails_fast(page, airflow_ui, artifacts)

        # The dag-processor has parsed the examples without errors; unpause through the API.
        airflow_ui.wait_for_dag(DAG_ID)
        assert airflow_ui.api("GET", "/importErrors")["import_errors"] == []
        # A fresh Airflow has no pool but default_pool, and the example runs as it is: a task in
        # a pool that does not exist would sit in "Scheduled" forever.
        pools = {p["name"] for p in airflow_ui.api("GET", "/pools")["pools"]}
        assert pools == {"default_pool"}, pools
        tasks = airflow_ui.api("GET", f"/dags/{DAG_ID}/tasks")["tasks"]
        assert {t["task_id"]: t["pool"] for t in tasks} == dict.fromkeys(
            ("create_export", "wait_for_export", "export_to_storage"), "default_pool"
        )
        airflow_ui.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})

        # Exports stay Waiting until released below, so the sensor is seen deferred.
        requests.post(
            f"{ui_emulator.url}/_emulator/config", json={"export_delay": 3600}, timeout=10
        ).raise_for_status()
        # Its own folder, so it never races the scheduled run unpausing starts (same day; that
        # run fails at once, having no pardot_default).
        dest = f"file://{airflow_ui.output}/ui-run"
        params = {"dest": dest, "pardot_conn_id": airflow_ui.pardot_conn_id}
        run_id = _trigger_from_ui(page, airflow_ui, artifacts, params)
        _wait_for_state(airflow_ui, run_id, "wait_for_export", "deferred")
        quoted = urllib.parse.quote(run_id)
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/runs/{quoted}")
        page.get_by_role("link", name="wait_for_export", exact=True).first.wait_for()
        page.get_by_text("Deferred", exact=True).first.wait_for()  # the sensor's state badge
        page.screenshot(path=artifacts / "ui-05-sensor-deferred.png", full_page=True)
        xcom = airflow_ui.api(
            "GET", f"/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/create_export/xcomEntries/return_value"
        )
        released = requests.post(
            f"{ui_emulator.url}/_emulator/exports/{int(xcom['value'])}",
            json={"state": "Complete"},
            timeout=60,
        )
        released.raise_for_status()
        run = airflow_ui.wait_for_run(DAG_ID, run_id, timeout=300)
        states = {t["task_id"]: t["state"] for t in airflow_ui.task_instances(DAG_ID, run_id)}
        assert run["state"] == "success", (states, airflow_ui.tail())
        assert states == dict.fromkeys(("create_export", "wait_for_export", "export_to_storage"), "success")
        assert run["conf"]["dest"] == dest
        assert run["conf"]["pardot_conn_id"] == airflow_ui.pardot_conn_id

        # The grid shows the run and its tasks as successful.
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/runs/{quoted}")
        for task_id in states:
            page.get_by_role("link", name=task_id, exact=True).first.wait_for()
        page.get_by_text("Success").first.wait_for()
        page.screenshot(path=artifacts / "ui-06-grid.png", full_page=True)

        # The files landed where the Trigger form said.
        start = (dt.datetime.fromisoformat(run["data_interval_start"].replace("Z", "+00:00"))).date()
        folder = airflow_ui.output / "ui-run" / "visitor_activity" / f"date={start}"
        manifest = json.loads((folder / "_manifest.json").read_text())
        assert manifest["total_rows"] == 2500
        export_id = manifest["export_id"]

        # The export task's extra link, in the task instance's Details tab.
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/runs/{quoted}/tasks/create_export/details")
        link = page.get_by_role("link", name="Pardot Export")
        link.wait_for()
        href = link.get_attribute("href")
        assert href == f"{ui_emulator.url}/export/read/id/{export_id}"
        page.screenshot(path=artifacts / "ui-07-extra-link.png", full_page=True)
        with context.expect_page() as new_tab:
            link.click()
        pardot_page = new_tab.value
        pardot_page.wait_for_load_state()
        assert pardot_page.url == href
        assert str(export_id) in pardot_page.title()
        assert "export" in pardot_page.content().lower()
        pardot_page.screenshot(path=artifacts / "ui-08-pardot-export-page.png")

        state = ui_emulator.state()
        assert state["max_in_flight"] <= 5
    except Exception:
        page.screenshot(path=artifacts / "ui-failure.png", full_page=True)
        raise
    finally:
        context.close()
