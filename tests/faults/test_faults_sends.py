"""
Email sends never go out twice, and the daily limit (error 122) stops a task at once.

A send whose connection drops after Pardot recorded it (``reset_after``), that times out while
Pardot works on it (``delay`` past the connection's timeout), or that meets a 5xx, is not
repeated: one request reaches the send path, at most one email exists, and the error says the
email may have been sent. Error 66 (refused before doing anything) is retried and still makes
exactly one email.
"""

from __future__ import annotations

import time

import pytest
from _faultkit import api_requests
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_pardot.exceptions import (
    PardotAmbiguousSendError,
    PardotRateLimitError,
)
from airflow_provider_pardot.hooks.pardot import PardotHook

TIMEOUT = 0.5
TEXT = "Hello %%first_name%%. %%unsubscribe%%"
SEND_PATH = r"/api/email/version/\d+/do/send"
CONTENT = {
    "campaign_id": 1001,
    "text_content": TEXT,
    "name": "Fault test",
    "subject": "Hi",
    "from_email": "sender@example.com",
    "from_name": "Sender",
}


def _send_requests(emulator) -> list[dict]:
    return [r for r in api_requests(emulator) if "/do/send" in r["path"]]


def _sends_settle(emulator, seconds: float = 5.0) -> list[dict]:
    """The server's sends once every request in flight has finished (a delayed send lands late)."""
    deadline = time.monotonic() + seconds
    while True:
        state = emulator.state()
        if state["in_flight"] == 0 or time.monotonic() > deadline:
            return state["sends"]
        time.sleep(0.05)


def _targets(emulator):
    lists = emulator.records("list")[:2]
    prospect = emulator.records("prospect")[0]
    return {
        "list": {"list_ids": lists, **CONTENT},
        "prospect_id": {"prospect_id": prospect, **CONTENT},
        "prospect_email": {"prospect_email": "prospect2@example.com", **CONTENT},
    }


FAULTS = {
    "reset_after": {"kind": "reset_after"},
    "delay": {"kind": "delay", "seconds": TIMEOUT + 1.0},
    "5xx": {"kind": "status", "status": 503},
}
TARGETS = ("list", "prospect_id", "prospect_email")


def _operator(target: str, params: dict):
    from airflow_provider_pardot.operators.email import (
        PardotSendListEmailOperator,
        PardotSendOneToOneEmailOperator,
    )

    if target == "list":
        return PardotSendListEmailOperator(task_id=f"send_{target}", **params)
    return PardotSendOneToOneEmailOperator(task_id=f"send_{target}", **params)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("via", ["hook", "operator"])
def test_ambiguous_send_is_never_repeated(emulator, make_conn, figures, via, target, fault):
    make_conn(timeout=TIMEOUT, max_retries=5)
    params = _targets(emulator)[target]
    emulator.faults({"match": SEND_PATH, "method": "POST", **FAULTS[fault]})
    started = time.monotonic()
    if via == "hook":
        hook = PardotHook()
        send = hook.send_list_email if target == "list" else hook.send_one_to_one_email
        with pytest.raises(PardotAmbiguousSendError) as err:
            send(**params)
        assert "may have reached Pardot" in str(err.value)
        assert "NOT retried" in str(err.value)
    else:
        op = _operator(target, params)
        assert op.retries == 0
        with pytest.raises(PardotAmbiguousSendError) as err:
            op.execute(context={})
        assert isinstance(err.value, AirflowFailException)  # no Airflow retry either
        assert "may have been sent" in str(err.value)
    seconds = time.monotonic() - started
    sends = _sends_settle(emulator)
    attempts = _send_requests(emulator)
    figures(
        f"FAULTS send[{via},{target},{fault}]: send_requests={len(attempts)} sends_on_server={len(sends)} "
        f"error={type(err.value).__name__} seconds={seconds:.1f}"
    )
    assert len(attempts) == 1
    expected = 0 if fault == "5xx" else 1  # a 5xx from the fault injector comes before processing
    assert len(sends) == expected


@pytest.mark.parametrize("target", TARGETS)
def test_send_refused_with_66_is_retried_and_sent_once(emulator, make_conn, figures, target):
    make_conn(timeout=5, max_retries=5)
    emulator.faults({"match": SEND_PATH, "method": "POST", "kind": "error", "code": 66, "times": 2})
    email_id = _operator(target, _targets(emulator)[target]).execute(context=_context())
    sends = emulator.sends()
    attempts = _send_requests(emulator)
    figures(f"FAULTS send[66,{target}]: send_requests={len(attempts)} sends_on_server={len(sends)}")
    assert len(attempts) == 3
    assert [s["id"] for s in sends] == [email_id]


def _context():
    from unittest import mock

    return {"ti": mock.MagicMock(), "task_instance": mock.MagicMock()}


# ---------------------------------------------------------------------------------------------
# Daily limit (error 122): at once, one request, a message about the daily limit
# ---------------------------------------------------------------------------------------------
def _daily_limit_cases(emulator, tmp_path):
    from _faultkit import export_arguments

    from airflow_provider_pardot.operators.email import PardotGetEmailStatsOperator
    from airflow_provider_pardot.operators.export import PardotCreateExportOperator
    from airflow_provider_pardot.operators.lists import PardotCreateListOperator
    from airflow_provider_pardot.sensors.export import PardotExportSensor
    from airflow_provider_pardot.transfers.pardot_to_object_storage import (
        PardotExportToObjectStorageOperator,
        PardotQueryToObjectStorageOperator,
    )

    lists = emulator.records("list")
    return {
        "hook.query": lambda: list(PardotHook().query("list")),
        "hook.read": lambda: PardotHook().read("list", lists[0]),
        "PardotSendListEmailOperator": lambda: _operator("list", _targets(emulator)["list"]).execute(
            _context()
        ),
        "PardotGetEmailStatsOperator": lambda: PardotGetEmailStatsOperator(task_id="s", email_id=1).execute(
            _context()
        ),
        "PardotCreateListOperator": lambda: PardotCreateListOperator(task_id="c", name="x").execute(
            _context()
        ),
        "PardotCreateExportOperator": lambda: PardotCreateExportOperator(
            task_id="e",
            object_name="visitorActivity",
            procedure="filter_by_created_at",
            arguments=export_arguments(),
        ).execute(_context()),
        "PardotExportSensor": lambda: PardotExportSensor(task_id="w", export_id=1, poke_interval=0).poke(
            _context()
        ),
        "PardotExportToObjectStorageOperator": lambda: PardotExportToObjectStorageOperator(
            task_id="t", export_id=1, dest=f"file://{tmp_path}/export"
        ).execute(_context()),
        "PardotQueryToObjectStorageOperator": lambda: PardotQueryToObjectStorageOperator(
            task_id="q", object_name="list", dest=f"file://{tmp_path}/query"
        ).execute(_context()),
    }


CASES_122 = (
    "hook.query",
    "hook.read",
    "PardotSendListEmailOperator",
    "PardotGetEmailStatsOperator",
    "PardotCreateListOperator",
    "PardotCreateExportOperator",
    "PardotExportSensor",
    "PardotExportToObjectStorageOperator",
    "PardotQueryToObjectStorageOperator",
)


@pytest.mark.parametrize("case", CASES_122)
def test_daily_limit_fails_at_once_with_one_request(emulator, make_conn, figures, tmp_path, case):
    make_conn(max_retries=5, retry_backoff=0.5)
    run = _daily_limit_cases(emulator, tmp_path)[case]
    emulator.config(daily_limit=100, daily_used=100)
    started = time.monotonic()
    with pytest.raises(PardotRateLimitError) as err:
        run()
    seconds = time.monotonic() - started
    reqs = api_requests(emulator)
    figures(
        f"FAULTS daily_limit[{case}]: api_requests={len(reqs)} seconds={seconds:.2f} code={err.value.code}"
    )
    assert err.value.code == 122
    assert "daily API limit" in str(err.value)
    assert len(reqs) == 1
    assert seconds < 2.0  # no backoff, no retry storm
    assert not list(tmp_path.rglob("part-*"))
