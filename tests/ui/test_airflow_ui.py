"""The provider in a real Airflow UI (``airflow standalone`` + headless chromium via Playwright).

One test, in the order a user meets the provider: log in; the connection form for type ``pardot``
shows the provider's fields; trigger ``example_pardot_export`` from the UI; watch it succeed in
the grid; follow the export task's "Pardot Export" extra link to the (emulated) Pardot page.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse

import pytest

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "example_pardot_export"


def _login(page, airflow_ui, artifacts) -> None:
    page.goto(f"{airflow_ui.url}/")
    page.wait_for_url("**/auth/login**", timeout=60_000)
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
    page.keyboard.press("Escape")


def _trigger_from_ui(page, airflow_ui, artifacts, dest: str) -> str:
    """Trigger a run with the DAG's Trigger form (a logical date now, the ``dest`` param set)."""
    before = {r["dag_run_id"] for r in airflow_ui.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]}
    page.goto(f"{airflow_ui.url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Trigger Dag - {DAG_ID}")
    dialog.wait_for(state="visible")
    dialog.get_by_text("dest", exact=True).wait_for()
    dest_input = dialog.get_by_label("dest", exact=True)
    if not dest_input.count():
        dest_input = dialog.locator("input[name=dest], input#element_dest")
    dest_input.first.fill(dest)
    page.screenshot(path=artifacts / "ui-03-trigger-form.png")
    dialog.get_by_role("button", name="Trigger").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = airflow_ui.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        new = [r for r in runs if r["dag_run_id"] not in before and r["run_type"] == "manual"]
        if new:
            return new[0]["dag_run_id"]
        time.sleep(1)
    raise AssertionError("the Trigger form created no run")


def test_provider_in_the_airflow_ui(browser, airflow_ui, ui_emulator, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _login(page, airflow_ui, artifacts)
        _check_connection_form(page, airflow_ui, artifacts)

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

        # Its own folder, so it never races the scheduled run unpausing starts (same day).
        dest = f"file://{airflow_ui.output}/ui-run"
        run_id = _trigger_from_ui(page, airflow_ui, artifacts, dest)
        run = airflow_ui.wait_for_run(DAG_ID, run_id, timeout=300)
        states = {t["task_id"]: t["state"] for t in airflow_ui.task_instances(DAG_ID, run_id)}
        assert run["state"] == "success", (states, airflow_ui.tail())
        assert states == dict.fromkeys(("create_export", "wait_for_export", "export_to_storage"), "success")
        assert run["conf"]["dest"] == dest

        # The grid shows the run and its tasks as successful.
        quoted = urllib.parse.quote(run_id)
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/runs/{quoted}")
        for task_id in states:
            page.get_by_role("link", name=task_id, exact=True).first.wait_for()
        page.get_by_text("Success").first.wait_for()
        page.screenshot(path=artifacts / "ui-04-grid.png", full_page=True)

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
        page.screenshot(path=artifacts / "ui-05-extra-link.png", full_page=True)
        with context.expect_page() as new_tab:
            link.click()
        pardot_page = new_tab.value
        pardot_page.wait_for_load_state()
        assert pardot_page.url == href
        assert str(export_id) in pardot_page.title()
        assert "export" in pardot_page.content().lower()
        pardot_page.screenshot(path=artifacts / "ui-06-pardot-export-page.png")

        state = ui_emulator.state()
        assert state["max_in_flight"] <= 5
    except Exception:
        page.screenshot(path=artifacts / "ui-failure.png", full_page=True)
        raise
    finally:
        context.close()
