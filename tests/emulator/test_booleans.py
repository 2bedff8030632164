"""Form and query booleans are read the PHP way: only "0" and "" are false."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from emu_api import Api

SEND = "/api/email/version/4/do/send"
TEXT = "Hi %%first_name%%, bye: %%unsubscribe%%"


def _new_list(api: Api, **form) -> dict:
    r = api.post("/api/list/version/4/do/create", data=dict(form, name="Booleans"))
    assert r.status_code == 200, r.text
    return r.json()["list"]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("false", True), ("no", True), ("off", True), ("true", True), ("1", True), ("0", False), ("", False)],
)
def test_list_update_reads_php_truthiness(api, sent, stored):
    lst = _new_list(api, is_public="1", is_crm_visible="1")
    r = api.post(
        f"/api/list/version/4/do/update/id/{lst['id']}", data={"is_public": sent, "is_crm_visible": sent}
    )
    assert r.status_code == 200, r.text
    assert r.json()["list"]["is_public"] is stored
    assert r.json()["list"]["is_crm_visible"] is stored
    read = api.get(f"/api/list/version/4/do/read/id/{lst['id']}").json()["list"]
    assert read["is_public"] is stored


def test_list_create_false_string_is_public(api):
    assert _new_list(api, is_public="false")["is_public"] is True
    assert _new_list(api, is_public="0")["is_public"] is False
    assert _new_list(api)["is_public"] is False  # absent: the default


def test_update_without_the_flag_keeps_it(api):
    lst = _new_list(api, is_public="1")
    r = api.post(f"/api/list/version/4/do/update/id/{lst['id']}", data={"title": "T"})
    assert r.json()["list"]["is_public"] is True


def test_send_flags_are_recorded_as_read(api, emulator):
    lst = str(emulator.records("list")[0])
    base = {"campaign_id": "1001", "list_ids[]": lst, "email_template_id": "101"}
    for value, expected in (("false", True), ("0", False), ("1", True)):
        r = api.post(SEND, data=dict(base, operational_email=value, from_assigned_user=value))
        assert r.status_code == 200, r.text
        flags = emulator.sends()[-1]["flags"]
        assert flags["operational_email"] is expected
        assert flags["from_assigned_user"] is expected
        assert flags["from_account_owner"] is None  # not sent


@pytest.mark.parametrize(("sent", "included"), [("false", True), ("0", False), ("", False), ("1", True)])
def test_include_message(api, sent, included):
    e = api.get("/api/email/version/4/do/read/id/60001", include_message=sent).json()["email"]
    assert ("message" in e) is included


def test_archived_is_validated_as_documented(api):
    """error 145 "Allowed values are true or false": the docs name this parameter's check."""
    count = {
        v: api.get("/api/emailTemplate/version/4/do/listOneToOne", archived=v).json()["emailTemplates"][
            "count"
        ]
        for v in ("false", "0", "true", "1")
    }
    assert count["false"] == count["0"] == 3
    assert count["true"] == count["1"] == 4
    r = api.get("/api/emailTemplate/version/4/do/listOneToOne", archived="maybe")
    assert r.json()["@attributes"]["err_code"] == 145
