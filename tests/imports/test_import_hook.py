"""The hook's Import API methods over HTTP to the emulator."""

from __future__ import annotations

import pytest
from import_helpers import CAMPAIGN, LIST_A, api_log, by_email, members

from airflow_provider_pardot.exceptions import PardotApiError, PardotValidationError

HEADER = b"email,matchEmail,firstName,campaignId,addToList\n"


def _batch(*rows: str) -> bytes:
    return HEADER + "".join(f"{r}\n" for r in rows).encode()


def test_create_batch_submit_read_and_errors(pardot, hook):
    created = hook.create_import(createOnNoMatch=True)
    assert created["status"] == "Open"
    assert isinstance(created["id"], int)
    hook.add_import_batch(
        created["id"],
        _batch(
            f"new1@import.example.com,new1@import.example.com,New,{CAMPAIGN},{LIST_A}",
            f"bad-email,bad-email,Bad,{CAMPAIGN},{LIST_A}",
        ),
    )
    hook.add_import_batch(
        created["id"], _batch(f"prospect1@example.com,prospect1@example.com,Renamed,,{LIST_A}")
    )
    submitted = hook.submit_import(created["id"])
    assert submitted["status"] == "Waiting"
    record = hook.get_import(created["id"])
    assert record["status"] == "Complete"
    assert (record["createdCount"], record["updatedCount"], record["errorCount"]) == (1, 1, 1)
    errors = list(hook.iter_import_errors(created["id"]))
    assert len(errors) == 1
    assert errors[0]["email"] == "bad-email"
    assert errors[0]["errorType"] == "Invalid Email"
    people = by_email(pardot)
    assert people["new1@import.example.com"][0]["first_name"] == "New"
    assert people["prospect1@example.com"][0]["first_name"] == "Renamed"
    assert {people["new1@import.example.com"][0]["id"], people["prospect1@example.com"][0]["id"]} <= members(
        pardot, LIST_A
    )
    # the batch is the multipart part "file"; create, 2 batches, submit, read, errors (+ the file)
    log = api_log(pardot)
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in log][:5] == [
        ("POST", "imports"),
        ("POST", "batches"),
        ("POST", "batches"),
        ("PATCH", str(created["id"])),
        ("GET", str(created["id"])),
    ]


def test_error_file_redirect_sends_the_token_only_to_the_pardot_host(pardot, hook):
    created = hook.create_import(createOnNoMatch=True)
    hook.add_import_batch(created["id"], _batch(f"nope,nope,X,{CAMPAIGN},"))
    hook.submit_import(created["id"])
    hook.get_import(created["id"])
    assert len(list(hook.iter_import_errors(created["id"]))) == 1
    downloads = [r for r in pardot.requests() if r["path"].startswith("/files/imports/")]
    assert len(downloads) == 1  # the one redirect, followed once (on the same host here)


def test_bad_options_and_ids_are_refused_before_any_request(pardot, hook):
    with pytest.raises(PardotValidationError, match="Unknown import option"):
        hook.create_import(create_on_no_match=True)
    with pytest.raises(PardotValidationError, match="true or false"):
        hook.create_import(createOnNoMatch="maybe")
    for call in (hook.get_import, hook.submit_import, lambda i: list(hook.iter_import_errors(i))):
        with pytest.raises(PardotValidationError, match="import_id"):
            call("../exports/1")
    assert api_log(pardot) == []


def test_pardot_errors_are_mapped(pardot, hook):
    with pytest.raises(PardotApiError) as err:
        hook.get_import(99999)
    assert err.value.code == 109
    created = hook.create_import()
    with pytest.raises(PardotApiError) as err:
        hook.submit_import(created["id"])
    assert err.value.code == 156  # no data
    with pytest.raises(PardotApiError) as err:
        hook.add_import_batch(created["id"], b"first_name,matchEmail\nx,y@z.com\n")
    assert err.value.code == 159
    assert "first_name" in str(err.value)


def test_a_batch_file_is_streamed_and_sent_whole_again_by_a_retry(pardot, hook, tmp_path):
    """A batch given as an open file goes out as a stream; an attempt Pardot refused unread (error 66) is sent again from the start."""
    source = tmp_path / "batch.csv"
    source.write_bytes(
        _batch(*(f"s{i}@stream.example,s{i}@stream.example,S,{CAMPAIGN},{LIST_A}" for i in range(500)))
    )
    created = hook.create_import(createOnNoMatch=True)
    pardot.faults(
        {"match": r"/imports/\d+/batches$", "method": "POST", "kind": "error", "code": 66, "times": 1}
    )

    with source.open("rb") as handle:
        hook.add_import_batch(created["id"], handle)

    batches = [r for r in api_log(pardot) if r["path"].endswith("/batches")]
    assert len(batches) == 2  # refused once, then sent again
    held = next(i for i in pardot.imports() if i["id"] == created["id"])
    assert (held["batches"], held["rows"]) == (1, 500)
