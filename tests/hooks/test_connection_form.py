"""The ``pardot`` connection form: "Auth type" is a choice of the five flows in both form APIs
(``conn-fields`` read by Airflow 3.2+, the legacy wtforms widgets read by 2.11 and 3.0/3.1)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_pardot.client.connection import AUTH_TYPES, build_config
from airflow_provider_pardot.get_provider_info import CONN_FIELDS, get_provider_info

FLOWS = ["client_credentials", "password", "refresh_token", "jwt_bearer", "access_token"]


def _airflow_major() -> int:
    from importlib.metadata import version

    return int(version("apache-airflow").split(".")[0])


def test_conn_fields_offer_the_five_flows_and_allow_none():
    (conn_type,) = get_provider_info()["connection-types"]
    schema = conn_type["conn-fields"]["auth_type"]["schema"]
    assert schema["enum"] == FLOWS == list(AUTH_TYPES)  # the flows the connection reader accepts
    assert "null" in schema["type"]
    # A placeholder would read as a choice made in a drop-down that is still empty.
    assert "auth_type" not in conn_type["ui-field-behaviour"]["placeholders"]


@pytest.mark.skipif(_airflow_major() < 3, reason="Airflow 2.11 reads the legacy widgets")
def test_airflow_3_serves_a_select_to_its_connection_form():
    from airflow.providers_manager import ProvidersManager

    widget = ProvidersManager().connection_form_widgets["extra__pardot__auth_type"]
    assert widget.field["schema"]["enum"] == FLOWS
    assert widget.field["schema"]["title"] == "Auth type"
    assert widget.field["value"] is None  # nothing chosen until the user picks a flow


#: Airflow 3.0/3.1 read the legacy widgets; without Flask-AppBuilder (their default install) the API
#: server reads them through stand-ins for wtforms. Airflow 3.3's API server has the same reader: run
#: it as if the provider declared no conn-fields (in a subprocess: it leaves the stand-ins behind).
_LEGACY_WITHOUT_FAB = """
import json
from unittest import mock
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
from airflow.providers_manager import ProvidersManager
with mock.patch.object(ProvidersManager, "_get_connection_type_config", return_value=None):
    _, widgets, _ = HookMetaService._get_hooks_with_mocked_fab()
pardot = {k: v for k, v in widgets.items() if k.startswith("extra__pardot__")}
print(json.dumps(HookMetaService._convert_extra_fields(pardot)["pardot"]))
"""


@pytest.mark.skipif(_airflow_major() < 3, reason="the Airflow 3 API server's reader of the legacy widgets")
def test_the_legacy_widgets_give_airflow_3_0_and_3_1_a_select(tmp_path):
    pytest.importorskip("airflow.api_fastapi.core_api.services.ui.connections")
    done = subprocess.run(
        [sys.executable, "-c", _LEGACY_WITHOUT_FAB],
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fields = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(fields) == set(CONN_FIELDS)
    assert fields["auth_type"]["schema"]["enum"] == FLOWS
    assert fields["client_secret"]["schema"]["format"] == "password"


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_auth_type_is_inferred_from_the_fields(value):
    extra = {"business_unit_id": "0Uv000000000001AAA", "client_id": "id", "client_secret": "secret"}
    config = build_config(
        host=None, login="user@example.com", password="pw", extra={**extra, "auth_type": value}
    )
    assert config.auth_type == "password"


class TestLegacyWidgets:
    """What Airflow 2.11's form (and 3.0/3.1's) draws from ``get_connection_form_widgets``."""

    @pytest.fixture
    def form(self):
        pytest.importorskip("flask_appbuilder")
        from wtforms import Form

        from airflow_provider_pardot.hooks.pardot import PardotHook

        widgets = PardotHook.get_connection_form_widgets()
        assert set(widgets) == set(CONN_FIELDS)
        return type("PardotForm", (Form,), widgets)

    def test_auth_type_is_drawn_as_a_select_of_the_five_flows(self, form):
        html = str(form(data={"auth_type": "jwt_bearer"}).auth_type())
        assert html.startswith("<select ")
        assert html.endswith("</select>")
        assert html.count("<option ") == 6  # "(not set)" and the five flows
        for flow in FLOWS:
            assert f'value="{flow}"' in html
        assert '<option selected value="jwt_bearer">jwt_bearer</option>' in html
        empty = str(form(data={}).auth_type())
        assert '<option selected value="">(not set)</option>' in empty

    @pytest.mark.parametrize(("value", "valid"), [("", True), ("password", True), ("pasword", False)])
    def test_saving_accepts_a_flow_or_nothing(self, form, value, valid):
        from werkzeug.datastructures import MultiDict

        filled = form(formdata=MultiDict({"auth_type": value}))
        filled.validate()
        assert ("auth_type" not in filled.errors) is valid

    @pytest.mark.skipif(_airflow_major() >= 3, reason="3.3 reads conn-fields instead")
    def test_airflow_2_registers_the_form_with_its_select(self):
        # Airflow drops a hook whose widgets use a field class other than its four basic ones.
        from airflow.providers_manager import ProvidersManager

        manager = ProvidersManager()
        assert manager.hooks["pardot"] is not None
        assert "extra__pardot__auth_type" in manager.connection_form_widgets
