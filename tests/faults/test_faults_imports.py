"""
Imports under faults: every row reaches exactly one submitted import, and no import is left half-submitted.

- a batch upload whose answer is lost (applied, or dropped before it was read, or a 5xx): the
  import is abandoned unsubmitted (it imports nothing) and its rows go to a fresh import;
- a submit whose answer is lost (or a 5xx): settled by reading the import, submitted once;
- 5xx and error 66 on status reads: waited out;
- error 122 (daily limit): the task stops at once; the open import imports nothing;
- a worker killed (SIGKILL) in the middle of the uploads, then the task run again.

After each, the emulator's prospects and list memberships show each row applied once.
"""

from __future__ import annotations

import csv
import time

import pytest
from _faultkit import api_requests, kill_when

from airflow_provider_pardot.api import imports as import_rules
from airflow_provider_pardot.exceptions import PardotRateLimitError
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator

CAMPAIGN = 1001
LIST_ID = 30002  # a static list of the seeded emulator
BATCHES = r"/imports/\d+/batches$"
ONE_IMPORT = r"/imports/\d+$"
ROWS = 120
#: with this, ROWS rows make several batches
SMALL_BATCH = 1_500


def _source(tmp_path, rows: int = ROWS, domain: str = "faults.example.com"):
    path = tmp_path / "audience.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "campaignId"])
        writer.writerows([f"p{i}@{domain}", CAMPAIGN] for i in range(rows))
    return path


def _op(source, **kw) -> ObjectStorageToPardotOperator:
    return ObjectStorageToPardotOperator(
        task_id="import",
        source=str(source),
        columns={"email": ["email", "matchEmail"]},
        create_on_no_match=True,
        add_to_lists=[LIST_ID],
        poll_interval=0.01,
        **kw,
    )


def _context():
    from unittest import mock

    return {"ti": mock.MagicMock()}


def _applied_once(emulator, domain: str = "faults.example.com", rows: int = ROWS) -> dict:
    """Each row of the source is one prospect, in the list; every import is whole or untouched."""
    people = [
        p for p in emulator._get("records/prospect", rows=1)["rows"] if str(p["email"]).endswith(domain)
    ]
    emails = [p["email"] for p in people]
    memberships = emulator._get("records/listMembership", rows=1)["rows"]
    in_list = {m["prospect_id"] for m in memberships if m["list_id"] == LIST_ID}
    imports = emulator.imports()
    submitted = [i for i in imports if i["status"] != "Open"]
    abandoned = [i for i in imports if i["status"] == "Open"]
    assert len(emails) == rows, "each row made a prospect"
    assert len(set(emails)) == rows, "and only one"
    assert {p["id"] for p in people} <= in_list
    assert all(i["status"] == "Complete" and i["applied"] for i in submitted)
    assert all(not i["applied"] for i in abandoned), "an abandoned import imports nothing"
    assert sum(i["rows"] for i in submitted) == rows, "each row in exactly one submitted import"
    assert sum(i["createdCount"] for i in submitted) == rows
    return {
        "submitted": len(submitted),
        "abandoned": len(abandoned),
        "batches": sum(i["batches"] for i in imports),
    }


def _drained(emulator, seconds: float = 30.0) -> None:
    """Wait until the emulator has answered every request in flight."""
    deadline = time.monotonic() + seconds
    while emulator.state()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(import_rules, "MAX_BATCH_BYTES", SMALL_BATCH)


BATCH_FAULTS = {
    "answer lost after it was stored": {"kind": "reset_after"},
    "dropped before it was read": {"kind": "reset_before"},
    "5xx": {"kind": "status", "status": 503},
}


@pytest.mark.parametrize("fault", list(BATCH_FAULTS))
def test_batch_upload_fault_abandons_the_import_and_sends_the_rows_again(
    emulator, make_conn, tmp_path, small_batches, figures, fault
):
    make_conn(max_retries=3)
    emulator.config(import_polls=0)
    # the second batch upload fails once
    emulator.faults({"match": BATCHES, "method": "POST", "skip": 1, "times": 1, **BATCH_FAULTS[fault]})
    result = _op(_source(tmp_path)).execute(_context())
    figure = _applied_once(emulator)
    figures(
        f"FAULTS import batch[{fault}]: rows={result['rows']} created={result['created']} "
        f"imports_submitted={figure['submitted']} abandoned={figure['abandoned']} batches_sent={figure['batches']}"
    )
    assert figure["abandoned"] == 1
    assert result["created"] == ROWS


SUBMIT_FAULTS = {
    "answer lost after it was applied": {"kind": "reset_after"},
    "5xx before it was read": {"kind": "status", "status": 503},
}


@pytest.mark.parametrize("fault", list(SUBMIT_FAULTS))
def test_submit_fault_is_settled_by_reading(emulator, make_conn, tmp_path, figures, fault):
    make_conn(max_retries=3)
    emulator.config(import_polls=0)
    emulator.faults({"match": ONE_IMPORT, "method": "PATCH", "times": 1, **SUBMIT_FAULTS[fault]})
    result = _op(_source(tmp_path)).execute(_context())
    figure = _applied_once(emulator)
    patches = [r for r in api_requests(emulator) if r["method"] == "PATCH"]
    figures(
        f"FAULTS import submit[{fault}]: submits_sent={len(patches)} imports_submitted={figure['submitted']} "
        f"created={result['created']}"
    )
    assert figure == {**figure, "submitted": 1, "abandoned": 0}
    assert len(patches) == (1 if fault.startswith("answer lost") else 2)


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "status", "status": 503, "times": 3},
        {"kind": "error", "code": 66, "times": 3},
    ],
    ids=["5xx", "66"],
)
def test_status_reads_failing_are_waited_out(emulator, make_conn, tmp_path, figures, rule):
    make_conn(max_retries=5)
    emulator.config(import_polls=1)
    emulator.faults({"match": ONE_IMPORT, "method": "GET", **rule})
    result = _op(_source(tmp_path)).execute(_context())
    figure = _applied_once(emulator)
    reads = [r for r in api_requests(emulator) if r["method"] == "GET" and "/imports/" in r["path"]]
    figures(
        f"FAULTS import status[{rule.get('code') or rule.get('status')}]: reads={len(reads)} created={result['created']}"
    )
    assert figure["submitted"] == 1


def test_daily_limit_stops_at_once_and_the_open_import_imports_nothing(
    emulator, make_conn, tmp_path, figures
):
    make_conn(max_retries=5)
    emulator.faults({"match": ONE_IMPORT, "method": "PATCH", "kind": "error", "code": 122})
    started = time.monotonic()
    with pytest.raises(PardotRateLimitError, match="daily API limit"):
        _op(_source(tmp_path)).execute(_context())
    imports = emulator.imports()
    patches = [r for r in api_requests(emulator) if r["method"] == "PATCH"]
    figures(
        f"FAULTS import 122: submits_sent={len(patches)} imports={len(imports)} seconds={time.monotonic() - started:.1f}"
    )
    assert len(patches) == 1  # not retried
    assert [i["status"] for i in imports] == ["Open"]
    assert not imports[0]["applied"]
    emulator.clear_faults()
    emulator.config(import_polls=0)
    _op(_source(tmp_path)).execute(_context())  # the next day's run imports every row, once
    _applied_once(emulator)


KILLED_IMPORT = """
import sys
from unittest import mock
from airflow_provider_pardot.api import imports as import_rules
from airflow_provider_pardot.transfers.object_storage_to_pardot import ObjectStorageToPardotOperator
import_rules.MAX_BATCH_BYTES = int(sys.argv[2])
op = ObjectStorageToPardotOperator(
    task_id="import", source=sys.argv[1], columns={"email": ["email", "matchEmail"]},
    create_on_no_match=True, add_to_lists=[int(sys.argv[3])], poll_interval=0.01,
)
op.execute({"ti": mock.MagicMock()})
"""


def test_worker_killed_mid_upload_then_retried(emulator, make_conn, tmp_path, figures):
    make_conn(max_retries=2)
    emulator.config(import_polls=0)
    source = _source(tmp_path)
    # the third batch upload hangs: the worker is killed while it waits
    emulator.faults(
        {"match": BATCHES, "method": "POST", "skip": 2, "times": 1, "kind": "delay", "seconds": 10}
    )
    kill_when(
        KILLED_IMPORT,
        [str(source), str(SMALL_BATCH), str(LIST_ID)],
        lambda: emulator.state()["in_flight"] and any(i["batches"] >= 2 for i in emulator.imports()),
    )
    killed = emulator.imports()
    assert [i["status"] for i in killed] == ["Open"], "the killed try submitted nothing"
    emulator.clear_faults()

    result = _op(source).execute(_context())  # Airflow's retry of the task

    figure = _applied_once(emulator)
    _drained(emulator)  # the killed worker's delayed upload must not answer into the next test
    figures(
        f"FAULTS import sigkill: killed_try_batches={killed[0]['batches']} rerun_created={result['created']} "
        f"imports_submitted={figure['submitted']} abandoned={figure['abandoned']}"
    )
    assert figure["abandoned"] == 1


def test_error_file_on_another_host_is_fetched_without_the_token(emulator, make_conn, tmp_path, figures):
    """Pardot answers the errors download with a redirect to the stored file: followed once, and the
    access token (and business unit) go only to the Pardot host."""
    from _faultkit import ForeignServer, ForwardingProxy

    from airflow_provider_pardot.hooks.pardot import PardotHook

    emulator.config(import_polls=0)
    with (
        ForeignServer() as foreign,
        ForwardingProxy(emulator.url, redirect_to=foreign.url, redirect_match="/errors") as pardot,
    ):
        make_conn(host=pardot.url)
        hook = PardotHook()
        import_id = hook.create_import(createOnNoMatch=True)["id"]
        hook.add_import_batch(import_id, b"email,matchEmail,campaignId\nbad,bad,1001\n")
        hook.submit_import(import_id)
        assert hook.get_import(import_id)["errorCount"] == 1
        rows = list(hook.iter_import_errors(import_id))
    figures(
        f"SECURITY import_errors_redirect: foreign_requests={len(foreign.hits)} "
        f"with_token={sum(1 for h in foreign.hits if h['authorization'])}"
    )
    assert rows == [{"id": "1", "name": "stolen"}]  # what the foreign host served
    (hit,) = foreign.hits
    assert hit["authorization"] is None
    assert not {k.lower() for k in hit["headers"]} & {"pardot-business-unit-id", "x-return-api-usage"}
