"""The list operators over real HTTP against the Pardot emulator (no mocked hook)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from airflow_run import AirflowHome
from identities import FAST_RETRIES, pardot_connection

from airflow_provider_pardot.exceptions import PardotAmbiguousSendError, PardotApiError, PardotValidationError
from airflow_provider_pardot.operators.lists import (
    PardotCreateListOperator,
    PardotDeleteListOperator,
    PardotUpdateListOperator,
)

DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"
CREATE_PATH = "/api/list/version/4/do/create"


def connection(emulator) -> dict:
    return pardot_connection(emulator.url, **FAST_RETRIES, timeout=5)


@pytest.fixture
def conn(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PARDOT_DEFAULT", json.dumps(connection(emulator)))
    return "pardot_default"


class FakeTI:
    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


def run(op, **context):
    ti = FakeTI()
    context = {"ti": ti, **context}
    op.render_template_fields(context)
    return op.execute(context), ti


def api_requests(emulator, since: int = 0) -> list[dict]:
    return [r for r in emulator.requests(since) if r["path"].startswith("/api/")]


def last_seq(emulator) -> int:
    log = emulator.requests()
    return log[-1]["seq"] if log else 0


class TestCreateList:
    def test_create_with_every_field(self, emulator, conn):
        op = PardotCreateListOperator(
            task_id="create",
            name="Spring {{ ds }}",
            is_public="{{ params.public }}",
            title="Spring news",
            description="For {{ params.who }}",
            is_crm_visible=False,
        )
        record, ti = run(op, ds="2030-03-01", params={"public": True, "who": "everyone"})
        json.dumps(record)
        assert isinstance(record["id"], int)
        assert record["name"] == "Spring 2030-03-01"
        assert record["is_public"] is True
        assert record["title"] == "Spring news"
        assert record["description"] == "For everyone"
        assert record["is_crm_visible"] is False
        (req,) = api_requests(emulator)
        assert (req["method"], req["path"]) == ("POST", CREATE_PATH)
        assert req["form"] == {
            "name": ["Spring 2030-03-01"],
            "is_public": ["1"],
            "title": ["Spring news"],
            "description": ["For everyone"],
            "is_crm_visible": ["0"],
        }
        assert record["id"] in emulator.records("list")
        assert ti.xcom["pardot_list"] == {"host": emulator.url, "list_id": record["id"]}
        assert ti.xcom["list_id"] == record["id"]

    def test_create_with_name_only(self, emulator, conn):
        record, _ = run(PardotCreateListOperator(task_id="create", name="Just a name"))
        assert record["name"] == "Just a name"
        (req,) = api_requests(emulator)
        assert req["form"] == {"name": ["Just a name"]}

    def test_logs_api_usage_at_the_end(self, emulator, conn, caplog, capsys):
        op = PardotCreateListOperator(task_id="create", name="Usage")
        with caplog.at_level("INFO"):
            run(op)
        captured = capsys.readouterr()
        assert "Pardot API: 1 requests by this task" in caplog.text + captured.out + captured.err

    def test_ambiguous_create_is_not_repeated(self, emulator, conn):
        before = len(emulator.records("list"))
        emulator.faults({"kind": "reset_after", "match": f"^{CREATE_PATH}", "method": "POST", "times": 1})
        op = PardotCreateListOperator(task_id="create", name="Maybe", retries=3)
        with pytest.raises(PardotAmbiguousSendError, match="may have been created") as err:
            run(op)
        assert isinstance(err.value, AirflowFailException)  # no Airflow retry, so never a second list
        assert len(emulator.records("list")) == before + 1
        assert len([r for r in api_requests(emulator) if r["path"] == CREATE_PATH]) == 1


class TestUpdateList:
    def test_update_sends_only_the_given_fields(self, emulator, conn):
        list_id = emulator.records("list")[5]
        op = PardotUpdateListOperator(
            task_id="update", list_id="{{ params.list_id }}", title="New title", is_crm_visible="true"
        )
        record, ti = run(op, params={"list_id": list_id})
        assert record["id"] == list_id
        assert record["title"] == "New title"
        assert record["is_crm_visible"] is True
        (req,) = api_requests(emulator)
        assert (req["method"], req["path"]) == ("POST", f"/api/list/version/4/do/update/id/{list_id}")
        assert req["form"] == {"title": ["New title"], "is_crm_visible": ["1"]}
        assert ti.xcom["pardot_list"] == {"host": emulator.url, "list_id": list_id}

    def test_update_every_field(self, emulator, conn):
        list_id = emulator.records("list")[6]
        record, _ = run(
            PardotUpdateListOperator(
                task_id="update",
                list_id=list_id,
                name="Renamed",
                is_public=False,
                title="T",
                description="D",
                is_crm_visible=False,
            )
        )
        assert {k: record[k] for k in ("name", "is_public", "title", "description", "is_crm_visible")} == {
            "name": "Renamed",
            "is_public": False,
            "title": "T",
            "description": "D",
            "is_crm_visible": False,
        }

    def test_unknown_list(self, emulator, conn):
        with pytest.raises(PardotApiError) as err:
            run(PardotUpdateListOperator(task_id="update", list_id=999999, name="x"))
        assert err.value.code == 55


class TestDeleteList:
    def test_delete(self, emulator, conn):
        list_id = emulator.records("list")[7]
        result, _ = run(PardotDeleteListOperator(task_id="delete", list_id=str(list_id)))
        assert result is None
        (req,) = api_requests(emulator)
        assert (req["method"], req["path"], req["status"]) == (
            "POST",
            f"/api/list/version/4/do/delete/id/{list_id}",
            204,
        )
        assert list_id not in emulator.records("list")

    def test_missing_list_fails_unless_missing_ok(self, emulator, conn):
        with pytest.raises(PardotApiError) as err:
            run(PardotDeleteListOperator(task_id="delete", list_id=999999))
        assert err.value.code == 55
        result, _ = run(PardotDeleteListOperator(task_id="delete", list_id=999999, missing_ok=True))
        assert result is None


class TestValidationBeforeAnyRequest:
    @pytest.mark.parametrize(
        ("factory", "match"),
        [
            (lambda: PardotCreateListOperator(task_id="t", name=""), "needs a non-empty name"),
            (
                lambda: PardotCreateListOperator(task_id="t", name="{{ params.missing or '' }}"),
                "non-empty name",
            ),
            (
                lambda: PardotCreateListOperator(task_id="t", name="x", is_public="maybe"),
                "is_public must be true or false",
            ),
            (
                lambda: PardotCreateListOperator(task_id="t", name="x", is_crm_visible=3),
                "is_crm_visible must be true or false",
            ),
            (lambda: PardotUpdateListOperator(task_id="t", list_id=30001), "Nothing to update"),
            (lambda: PardotUpdateListOperator(task_id="t", list_id=30001, name="  "), "name cannot be empty"),
            (
                lambda: PardotUpdateListOperator(task_id="t", list_id="abc", name="x"),
                "list_id must be a Pardot id",
            ),
            (lambda: PardotUpdateListOperator(task_id="t", list_id=-4, name="x"), "list_id"),
            (lambda: PardotDeleteListOperator(task_id="t", list_id=None), "list_id"),
            (lambda: PardotDeleteListOperator(task_id="t", list_id=True), "list_id"),
            (lambda: PardotDeleteListOperator(task_id="t", list_id="{{ params.missing }}"), "list_id"),
        ],
    )
    def test_bad_input(self, emulator, conn, factory, match):
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            run(factory(), params={})
        assert emulator.requests(before) == []

    def test_unknown_field_refused_at_parse_time(self):
        with pytest.raises((TypeError, AirflowException), match="is_dynamic|Invalid arguments"):
            PardotCreateListOperator(task_id="t", name="x", is_dynamic=True)


class TestOperatorShape:
    def test_template_fields(self):
        assert PardotCreateListOperator.template_fields == (
            "name",
            "is_public",
            "title",
            "description",
            "is_crm_visible",
            "pardot_conn_id",
        )
        assert PardotUpdateListOperator.template_fields == (
            "list_id",
            "name",
            "is_public",
            "title",
            "description",
            "is_crm_visible",
            "pardot_conn_id",
        )
        assert PardotDeleteListOperator.template_fields == ("list_id", "pardot_conn_id")

    def test_no_io_at_construction(self, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_PARDOT_DEFAULT", raising=False)
        op = PardotCreateListOperator(task_id="t", name="x", pardot_conn_id="does_not_exist")
        assert "hook" not in op.__dict__


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    return AirflowHome(tmp_path_factory.mktemp("airflow-lists"), DAGS_FOLDER)


@pytest.mark.e2e
class TestRealAirflowRun:
    def test_lists_dag(self, emulator, airflow_home):
        before = set(emulator.records("list"))
        result = airflow_home.dags_test(
            "pardot_lists_operators", connections={"pardot_default": connection(emulator)}, timeout=600
        )
        assert result.succeeded, result.output[-6000:]
        assert "checked list xcoms and links" in result.output
        paths = [(r["method"], r["path"].rsplit("/", 1)[0]) for r in api_requests(emulator)]
        assert paths == [
            ("POST", "/api/list/version/4/do"),
            ("POST", "/api/list/version/4/do/update/id"),
            ("POST", "/api/list/version/4/do/delete/id"),
        ]
        # created, updated, then deleted: the account is back to where it was
        assert set(emulator.records("list")) == before
        assert "Pardot API: 1 requests by this task" in result.output
