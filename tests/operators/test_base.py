"""
The base every Pardot operator shares (``operators/base.py``) and the one id validator, over real
HTTP against the Pardot emulator.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    DAG,
    AirflowFailException,
    AirflowNotFoundException,
    TaskDeferred,
)

from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID, require_id
from airflow_provider_pardot.exceptions import (
    PardotApiError,
    PardotConnectionNotFoundError,
    PardotExportError,
    PardotValidationError,
)
from airflow_provider_pardot.hooks.pardot import PardotAsyncHook, PardotHook
from airflow_provider_pardot.operators.base import PardotBaseOperator, PardotHookMixin, reports_usage
from airflow_provider_pardot.operators.email import (
    PardotGetEmailStatsOperator,
    PardotSendListEmailOperator,
    PardotSendOneToOneEmailOperator,
)
from airflow_provider_pardot.operators.export import PardotCancelExportOperator, PardotCreateExportOperator
from airflow_provider_pardot.operators.lists import (
    PardotCreateListOperator,
    PardotDeleteListOperator,
    PardotUpdateListOperator,
)
from airflow_provider_pardot.sensors.export import PardotExportSensor
from airflow_provider_pardot.transfers.pardot_to_object_storage import (
    PardotExportToObjectStorageOperator,
    PardotQueryToObjectStorageOperator,
)
from airflow_provider_pardot.triggers.export import PardotExportTrigger

#: Every Pardot task class, with the fewest arguments it can be built with.
TASKS: dict[type, dict[str, Any]] = {
    PardotSendListEmailOperator: {"list_ids": [1], "campaign_id": 1, "email_template_id": 1},
    PardotSendOneToOneEmailOperator: {"prospect_id": 1, "campaign_id": 1, "email_template_id": 1},
    PardotGetEmailStatsOperator: {"email_id": 1},
    PardotCreateListOperator: {"name": "x"},
    PardotUpdateListOperator: {"list_id": 1, "name": "x"},
    PardotDeleteListOperator: {"list_id": 1},
    PardotCreateExportOperator: {
        "object_name": "prospect",
        "procedure": "filter_by_created_at",
        "arguments": {},
    },
    PardotCancelExportOperator: {"export_id": 1},
    PardotExportSensor: {"export_id": 1},
    PardotExportToObjectStorageOperator: {"export_id": 1, "dest": "file:///tmp/x"},
    PardotQueryToObjectStorageOperator: {"object_name": "list", "dest": "file:///tmp/x"},
}
ids = [cls.__name__ for cls in TASKS]
USAGE_LINE = re.compile(r"Pardot API: (\d+) requests? by this task")


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


def context() -> dict[str, Any]:
    ti = FakeTI()
    return {"ti": ti, "task_instance": ti}


def usage_lines(caplog, capsys) -> list[int]:
    """The request counts of the "Pardot API: N requests by this task" lines the task logged."""
    captured = capsys.readouterr()
    printed = USAGE_LINE.findall(captured.out + captured.err)
    return [int(n) for n in (printed or USAGE_LINE.findall(caplog.text))]


class TestConnectionId:
    @pytest.mark.parametrize("cls", TASKS, ids=ids)
    def test_default_is_the_hooks(self, cls):
        task = cls(task_id="t", **TASKS[cls])
        assert task.pardot_conn_id == DEFAULT_CONN_ID
        assert isinstance(task, PardotHookMixin)
        assert isinstance(task.template_fields, tuple)
        assert "pardot_conn_id" in task.template_fields

    def test_one_default_everywhere(self):
        assert DEFAULT_CONN_ID == PardotHook.default_conn_name == PardotAsyncHook.default_conn_name
        assert PardotExportTrigger(export_id=1).pardot_conn_id == DEFAULT_CONN_ID

    @pytest.mark.parametrize("cls", TASKS, ids=ids)
    def test_taken_from_default_args(self, cls):
        with DAG(
            dag_id="default_args_conn",
            schedule=None,
            start_date=dt.datetime(2026, 1, 1),
            default_args={"pardot_conn_id": "pardot_eu"},
        ):
            task = cls(task_id="t", **TASKS[cls])
        assert task.pardot_conn_id == "pardot_eu"

    @pytest.mark.parametrize("cls", TASKS, ids=ids)
    def test_hook_is_built_on_first_use_and_kept(self, cls):
        task = cls(task_id="t", pardot_conn_id="no_such_connection", **TASKS[cls])
        assert "hook" not in task.__dict__  # nothing built, nothing read, when the DAG is parsed
        hook = task.hook
        assert isinstance(hook, PardotHook)
        assert hook.pardot_conn_id == "no_such_connection"
        assert task.hook is hook


class TestMissingConnection:
    """A task whose connection id names no connection fails at once, saying what to add or set."""

    @pytest.mark.parametrize("cls", TASKS, ids=ids)
    def test_every_task_fails_without_retries_naming_the_connection(self, cls, tmp_path):
        arguments = {**TASKS[cls]}
        if cls is PardotCreateExportOperator:
            arguments["arguments"] = {"created_after": "2026-01-01 00:00:00"}
        if "dest" in arguments:
            arguments["dest"] = f"file://{tmp_path}/out/"
        task = cls(task_id="t", pardot_conn_id="pardot_missing", **arguments)
        with pytest.raises(PardotConnectionNotFoundError) as raised:
            task.execute(context())
        err = raised.value
        # No retry: Airflow fails an AirflowFailException at once; and still Airflow's not-found error.
        assert isinstance(err, AirflowFailException)
        assert isinstance(err, AirflowNotFoundException)
        message = str(err)
        assert "The Pardot connection 'pardot_missing' does not exist" in message
        assert "airflow connections add pardot_missing --conn-type pardot" in message
        assert "DAG param pardot_conn_id" in message
        assert not (tmp_path / "out").exists()

    def test_the_async_hook_of_a_trigger_says_the_same(self):
        import asyncio

        with pytest.raises(PardotConnectionNotFoundError, match="'pardot_missing' does not exist"):
            asyncio.run(PardotAsyncHook(pardot_conn_id="pardot_missing").get_config())

    def test_an_existing_connection_is_read_as_before(self, pardot_conn):
        assert PardotHook(pardot_conn_id=pardot_conn).config.business_unit_id.startswith("0Uv")


class _ReadList(PardotBaseOperator):
    """A user's own operator on the base: reads a list."""

    template_fields = ("list_id", "pardot_conn_id")

    def __init__(self, *, list_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.list_id = list_id

    @reports_usage
    def execute(self, context: Any) -> dict[str, Any]:
        return self.hook.read("list", self.list_id)


class TestUsageLine:
    def test_logged_once_when_the_task_succeeds(self, emulator, pardot_conn, caplog, capsys):
        list_id = emulator.records("list")[0]
        with caplog.at_level("INFO"):
            assert _ReadList(task_id="read", list_id=list_id).execute(context())["id"] == list_id
        assert usage_lines(caplog, capsys) == [1]

    @pytest.mark.parametrize(
        "make",
        [
            lambda: _ReadList(task_id="read", list_id=999999),
            lambda: PardotGetEmailStatsOperator(task_id="stats", email_id=999999),
            lambda: PardotDeleteListOperator(task_id="delete", list_id=999999),
            lambda: PardotUpdateListOperator(task_id="update", list_id=999999, name="x"),
        ],
        ids=["own-operator", "email-stats", "delete-list", "update-list"],
    )
    def test_logged_also_when_the_task_fails(self, emulator, pardot_conn, caplog, capsys, make):
        with caplog.at_level("INFO"), pytest.raises(PardotApiError):
            make().execute(context())
        assert usage_lines(caplog, capsys) == [1]

    def test_logged_when_a_sensor_fails(self, emulator, pardot_conn, hook, caplog, capsys):
        export = hook.create_export("prospect", "filter_by_created_at", {"created_after": "2026-01-01"})
        emulator.set_export(export["id"], state="Failed")
        capsys.readouterr()
        sensor = PardotExportSensor(task_id="wait", export_id=export["id"], mode="poke", poke_interval=0.1)
        with caplog.at_level("INFO"), pytest.raises(PardotExportError, match="Failed"):
            sensor.execute(context())
        assert usage_lines(caplog, capsys) == [1]

    def test_logged_when_the_task_defers(self, emulator, pardot_conn, hook, caplog, capsys):
        emulator.config(export_delay=30)
        export = hook.create_export("prospect", "filter_by_created_at", {"created_after": "2026-01-01"})
        capsys.readouterr()
        sensor = PardotExportSensor(task_id="wait", export_id=export["id"], deferrable=True)
        with caplog.at_level("INFO"), pytest.raises(TaskDeferred):
            sensor.execute(context())
        assert usage_lines(caplog, capsys) == [1]

    def test_zero_requests_when_bad_input_stops_the_task(self, emulator, pardot_conn, caplog, capsys):
        op = PardotDeleteListOperator(task_id="delete", list_id="abc")
        with caplog.at_level("INFO"), pytest.raises(PardotValidationError):
            op.execute(context())  # the hook refuses the id: the operator passes it through
        assert usage_lines(caplog, capsys) == [0]
        assert [r for r in emulator.requests() if r["path"].startswith("/api/")] == []


class TestRequireId:
    @pytest.mark.parametrize(("value", "expected"), [(5, 5), ("30001", 30001), (" 42 ", 42), ("007", 7)])
    def test_accepts_positive_integers_and_their_text(self, value, expected):
        assert require_id("list_id", value) == expected

    @pytest.mark.parametrize(
        "value",
        [None, True, False, "", "  ", "abc", "-4", -4, "0", 0, "1.5", 1.5, "+5", "1e3", "٣", "{{ x }}"],
    )
    def test_refuses_anything_else_naming_the_argument(self, value):
        with pytest.raises(
            PardotValidationError, match=r"^list_id must be a Pardot id \(a positive integer\)"
        ):
            require_id("list_id", value)

    def test_the_hook_refuses_before_any_request(self, emulator, hook):
        with pytest.raises(PardotValidationError, match="export_id must be a Pardot id"):
            hook.get_export("0")
        with pytest.raises(PardotValidationError, match="list_id must be a Pardot id"):
            hook.delete_list("12; DROP")
        assert [r for r in emulator.requests() if r["path"].startswith("/api/")] == []
