"""
Bad input at every public entry point: connection fields, hook methods, operators, sensor and
transfers. ONE table per class of entry point; every row must raise a clear error
(:class:`PardotValidationError`, or ``ValueError``/``TypeError`` from an operator's constructor,
i.e. at DAG-parse time) and no request may leave the machine: the emulator's request log, which
also records token requests, stays empty.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from unittest import mock

import pytest
from _faultkit import export_arguments

from airflow_provider_pardot.exceptions import PardotValidationError
from airflow_provider_pardot.hooks.pardot import PardotHook

GOOD_TEXT = "Hi %%unsubscribe%%"
CONTENT = {
    "campaign_id": 1001,
    "text_content": GOOD_TEXT,
    "name": "n",
    "subject": "s",
    "from_email": "me@example.com",
    "from_name": "Me",
}
LONG_AGO = (datetime.now() - timedelta(days=800)).strftime("%Y-%m-%d %H:%M:%S")
_RESULTS: Counter = Counter()


def _context():
    return {"ti": mock.MagicMock(), "task_instance": mock.MagicMock()}


def _check(emulator, run, expected=(PardotValidationError,), match: str | None = None) -> BaseException:
    with pytest.raises(expected, match=match) as err:
        run()
    message = str(err.value)
    assert message.strip(), "an error without a message is not a clear error"
    assert emulator.requests() == [], "a request left the machine"
    _RESULTS[type(err.value).__name__] += 1
    return err.value


# ---------------------------------------------------------------------------------------------
# Connection fields: (extra overrides / login / password / host, message fragment)
# ---------------------------------------------------------------------------------------------
CONNECTION_CASES = {
    "business_unit_id missing": ({"business_unit_id": None}, "business_unit_id"),
    "business_unit_id short": ({"business_unit_id": "0Uv12"}, "18 characters"),
    "business_unit_id wrong prefix": ({"business_unit_id": "00D000000000001AAA"}, "0Uv"),
    "business_unit_id with space": ({"business_unit_id": "0Uv00000000 0001AAA"}, "0Uv"),
    "auth_type unknown": ({"auth_type": "oauth"}, "auth_type"),
    "password flow without password": ({"auth_type": "password", "password": ""}, "password"),
    "refresh_token flow without token": ({"auth_type": "refresh_token"}, "refresh_token"),
    "jwt_bearer key not PEM": ({"auth_type": "jwt_bearer", "private_key": "secret-key-text"}, "PEM"),
    "access_token flow without token": ({"auth_type": "access_token"}, "access_token"),
    "no credentials at all": (
        {"auth_type": None, "client_id": None, "client_secret": None, "login": None, "password": None},
        "no credentials",
    ),
    "api_version 5": ({"api_version": 5}, "api_version"),
    "api_version text": ({"api_version": "four"}, "api_version"),
    "export_api_version 2": ({"export_api_version": 2}, "export_api_version"),
    "timeout text": ({"timeout": "soon"}, "timeout"),
    "timeout zero": ({"timeout": 0}, "timeout"),
    "timeout negative": ({"timeout": -5}, "timeout"),
    "max_retries negative": ({"max_retries": -1}, "max_retries"),
    "max_retries text": ({"max_retries": "many"}, "max_retries"),
    "retry_backoff negative": ({"retry_backoff": -1}, "retry_backoff"),
    "verify_ssl not a boolean": ({"verify_ssl": "maybe"}, "verify_ssl"),
    "host not http": ({"host": "ftp://pi.pardot.com"}, "host"),
    "host with credentials": ({"host": "https://user:pw@pi.pardot.com"}, "host"),
    "host with query": ({"host": "https://pi.pardot.com/?api_key=x"}, "host"),
    "login_url not http": ({"login_url": "ftp://login.salesforce.com"}, "login_url"),
    "login_url with credentials": ({"login_url": "https://u:p@login.salesforce.com"}, "login_url"),
    "daily_request_budget text": ({"daily_request_budget": "lots"}, "daily_request_budget"),
    "daily_request_budget over 100%": ({"daily_request_budget": "150%"}, "daily_request_budget"),
    "daily_request_budget negative": ({"daily_request_budget": -5}, "daily_request_budget"),
}


@pytest.mark.parametrize("case", list(CONNECTION_CASES))
def test_bad_connection_fields(emulator, make_conn, case):
    overrides, fragment = CONNECTION_CASES[case]
    overrides = dict(overrides)
    conn_kw = {k: overrides.pop(k) for k in ("login", "password", "host") if k in overrides}
    make_conn(**conn_kw, **overrides)
    rid = emulator.records("list")[0]
    err = _check(emulator, lambda: PardotHook().read("list", rid))
    assert fragment.lower() in str(err).lower(), str(err)


# ---------------------------------------------------------------------------------------------
# Hook methods
# ---------------------------------------------------------------------------------------------
def _hook_cases():
    h = PardotHook
    args = export_arguments()
    too_long = {"created_after": LONG_AGO, "created_before": datetime.now().strftime("%Y-%m-%d %H:%M:%S")}
    return {
        "read id None": lambda: h().read("list", None),
        "read id empty": lambda: h().read("list", ""),
        "read id injection": lambda: h().read("list", "12; drop"),
        "read id path traversal": lambda: h().read("list", "../../_emulator/reset"),
        "read id bool": lambda: h().read("list", True),
        "read id negative": lambda: h().read("list", -1),
        "read id float": lambda: h().read("list", "1.5"),
        "read unknown object": lambda: h().read("colour", 1),
        "read object path traversal": lambda: h().read("../_emulator", 1),
        "query unknown criterion": lambda: list(h().query("list", colour="red")),
        "query bad date": lambda: list(h().query("list", created_after="the day after tomorrow-ish")),
        "query bad sort_by": lambda: list(h().query("list", sort_by="colour")),
        "query bad sort_order": lambda: list(h().query("list", sort_by="id", sort_order="sideways")),
        "query bad id_greater_than": lambda: list(h().query("list", id_greater_than="abc")),
        "query negative max_records": lambda: list(h().query("list", max_records=-1)),
        "query unknown object": lambda: list(h().query("colour")),
        "query object path traversal": lambda: list(h().query("../_emulator")),
        "get_email bad id": lambda: h().get_email("abc"),
        "get_email_stats None": lambda: h().get_email_stats(None),
        "get_email_template bad id": lambda: h().get_email_template("x"),
        "list send no list ids": lambda: h().send_list_email(list_ids=[], **CONTENT),
        "list send bad list id": lambda: h().send_list_email(list_ids=["abc"], **CONTENT),
        "list send no campaign": lambda: h().send_list_email(
            list_ids=[1], **{k: v for k, v in CONTENT.items() if k != "campaign_id"}
        ),
        "list send no unsubscribe tag": lambda: h().send_list_email(
            list_ids=[1], **{**CONTENT, "text_content": "no tag"}
        ),
        "list send html without tag": lambda: h().send_list_email(
            list_ids=[1], html_content="<p>x</p>", **CONTENT
        ),
        "list send template and content": lambda: h().send_list_email(
            list_ids=[1], email_template_id=101, **CONTENT
        ),
        "list send content incomplete": lambda: h().send_list_email(
            list_ids=[1], campaign_id=1, text_content=GOOD_TEXT, name="n"
        ),
        "list send no content": lambda: h().send_list_email(list_ids=[1], campaign_id=1),
        "list send bad scheduled_time": lambda: h().send_list_email(
            list_ids=[1], scheduled_time="next tuesday", **CONTENT
        ),
        "list send bad from_email": lambda: h().send_list_email(
            list_ids=[1], **{**CONTENT, "from_email": "me"}
        ),
        "one-to-one both prospect id and email": lambda: h().send_one_to_one_email(
            prospect_id=1, prospect_email="a@example.com", **CONTENT
        ),
        "one-to-one no prospect": lambda: h().send_one_to_one_email(**CONTENT),
        "one-to-one bad prospect email": lambda: h().send_one_to_one_email(
            prospect_email="nobody", **CONTENT
        ),
        "one-to-one bad prospect id": lambda: h().send_one_to_one_email(prospect_id="1/../2", **CONTENT),
        "create_list without name": lambda: h().create_list(),
        "create_list empty name": lambda: h().create_list(name=""),
        "create_list unknown field": lambda: h().create_list(name="x", colour="red"),
        "update_list bad id": lambda: h().update_list("abc", name="x"),
        "delete_list None": lambda: h().delete_list(None),
        "create_export unknown object": lambda: h().create_export("colour", "filter_by_created_at", args),
        "create_export unknown procedure": lambda: h().create_export(
            "visitorActivity", "filter_by_mood", args
        ),
        "create_export missing argument": lambda: h().create_export(
            "visitorActivity", "filter_by_created_at", {}
        ),
        "create_export unknown argument": lambda: h().create_export(
            "visitorActivity", "filter_by_created_at", {**args, "colour": "red"}
        ),
        "create_export before earlier than after": lambda: h().create_export(
            "visitorActivity",
            "filter_by_created_at",
            {"created_after": args["created_before"], "created_before": args["created_after"]},
        ),
        "create_export range over a year": lambda: h().create_export(
            "visitorActivity", "filter_by_created_at", too_long
        ),
        "create_export over a year to now": lambda: h().create_export(
            "visitorActivity", "filter_by_created_at", {"created_after": LONG_AGO}
        ),
        "create_export 151 fields": lambda: h().create_export(
            "visitorActivity", "filter_by_created_at", args, fields=[f"f{i}" for i in range(151)]
        ),
        "create_export deleted maybe": lambda: h().create_export(
            "prospect", "filter_by_created_at", {**args, "deleted": "maybe"}
        ),
        "get_export bad id": lambda: h().get_export("x"),
        "cancel_export empty id": lambda: h().cancel_export(""),
        "iter_result foreign host": lambda: list(h().iter_result("https://evil.example.com/file.csv")),
        "iter_result other port": lambda: list(
            h().iter_result("http://127.0.0.1:1/api/v5/exports/1/results/1")
        ),
        "iter_result not http": lambda: list(h().iter_result("file:///etc/passwd")),
    }


HOOK_CASES = list(_hook_cases())


@pytest.mark.parametrize("case", HOOK_CASES)
def test_bad_hook_input(emulator, make_conn, case):
    make_conn()
    _check(emulator, _hook_cases()[case])


# ---------------------------------------------------------------------------------------------
# Operators, sensor and transfers (constructed and executed as a worker would)
# ---------------------------------------------------------------------------------------------
def _operator_cases(tmp_path):
    from airflow_provider_pardot.operators.email import (
        PardotGetEmailStatsOperator,
        PardotSendListEmailOperator,
        PardotSendOneToOneEmailOperator,
    )
    from airflow_provider_pardot.operators.export import (
        PardotCancelExportOperator,
        PardotCreateExportOperator,
    )
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

    ctx = _context()
    dest = f"file://{tmp_path}/out"
    ctor = (ValueError, TypeError, PardotValidationError)

    def run(cls, **kw):
        return lambda: cls(task_id="t", **kw).execute(ctx)

    return {
        "list send empty list_ids": (run(PardotSendListEmailOperator, list_ids=[], **CONTENT), None),
        "list send list_ids text": (run(PardotSendListEmailOperator, list_ids="abc", **CONTENT), None),
        "list send rendered list_ids garbage": (
            run(PardotSendListEmailOperator, list_ids="[1, 'x']", **CONTENT),
            None,
        ),
        "list send scheduled_time garbage": (
            run(PardotSendListEmailOperator, list_ids=[1], scheduled_time="soonish", **CONTENT),
            None,
        ),
        "list send operational_email perhaps": (
            run(PardotSendListEmailOperator, list_ids=[1], operational_email="perhaps", **CONTENT),
            None,
        ),
        "list send no unsubscribe tag": (
            run(PardotSendListEmailOperator, list_ids=[1], **{**CONTENT, "text_content": "x"}),
            None,
        ),
        "one-to-one both": (
            run(PardotSendOneToOneEmailOperator, prospect_id=1, prospect_email="a@example.com", **CONTENT),
            None,
        ),
        "one-to-one neither": (run(PardotSendOneToOneEmailOperator, **CONTENT), None),
        "one-to-one template and content": (
            run(PardotSendOneToOneEmailOperator, prospect_id=1, email_template_id=5, **CONTENT),
            None,
        ),
        "stats email_id text": (run(PardotGetEmailStatsOperator, email_id="abc"), None),
        "stats email_id zero": (run(PardotGetEmailStatsOperator, email_id=0), None),
        "create list empty name": (run(PardotCreateListOperator, name=""), None),
        "create list is_public maybe": (run(PardotCreateListOperator, name="x", is_public="maybe"), None),
        "update list bad id": (run(PardotUpdateListOperator, list_id="abc", name="x"), None),
        "delete list None": (run(PardotDeleteListOperator, list_id=None), None),
        "create export bad procedure": (
            run(
                PardotCreateExportOperator,
                object_name="visitorActivity",
                procedure="x",
                arguments=export_arguments(),
            ),
            None,
        ),
        "create export options not a dict": (
            run(
                PardotCreateExportOperator,
                object_name="visitorActivity",
                procedure="filter_by_created_at",
                arguments=export_arguments(),
                export_options="fast",
            ),
            None,
        ),
        "create export negative poll_interval": (
            run(
                PardotCreateExportOperator,
                object_name="visitorActivity",
                procedure="filter_by_created_at",
                arguments=export_arguments(),
                poll_interval=-1,
            ),
            ctor,
        ),
        "cancel export bad id": (run(PardotCancelExportOperator, export_id="x"), None),
        "sensor bad export id": (
            lambda: PardotExportSensor(task_id="s", export_id="abc", poke_interval=0).poke(ctx),
            None,
        ),
        "export transfer bad export id": (
            run(PardotExportToObjectStorageOperator, export_id="x", dest=dest),
            None,
        ),
        "export transfer bad format": (
            run(PardotExportToObjectStorageOperator, export_id=1, dest=dest, file_format="xlsx"),
            ctor,
        ),
        "export transfer zero concurrency": (
            run(PardotExportToObjectStorageOperator, export_id=1, dest=dest, max_concurrency=0),
            ctor,
        ),
        "query transfer bad criteria": (
            run(
                PardotQueryToObjectStorageOperator, object_name="list", criteria={"colour": "red"}, dest=dest
            ),
            None,
        ),
        "query transfer unknown object": (
            run(PardotQueryToObjectStorageOperator, object_name="colour", dest=dest),
            None,
        ),
        "query transfer bad format": (
            run(PardotQueryToObjectStorageOperator, object_name="list", dest=dest, file_format="xml"),
            ctor,
        ),
    }


OPERATOR_CASES = list(_operator_cases(__import__("pathlib").Path("/nonexistent")))


@pytest.mark.parametrize("case", OPERATOR_CASES)
def test_bad_operator_input(emulator, make_conn, tmp_path, case):
    make_conn()
    run, expected = _operator_cases(tmp_path)[case]
    _check(emulator, run, expected or (PardotValidationError,))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_zz_bad_input_figures(figures):
    """Summary line of the three tables (runs after them: same module, defined last)."""
    total = len(CONNECTION_CASES) + len(HOOK_CASES) + len(OPERATOR_CASES)
    kinds = ",".join(f"{k}:{v}" for k, v in sorted(_RESULTS.items()))
    figures(
        f"FAULTS bad_input: cases={total} connection={len(CONNECTION_CASES)} hook={len(HOOK_CASES)} "
        f"operators={len(OPERATOR_CASES)} refused={sum(_RESULTS.values())} ({kinds}) requests_sent=0"
    )
    assert sum(_RESULTS.values()) <= total
