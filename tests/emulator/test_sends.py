from __future__ import annotations

SEND = "/api/email/version/4/do/send"
TEXT = "Hi %%first_name%%, bye: %%unsubscribe%%"


def err(r):
    return r.json()["@attributes"].get("err_code")


def test_list_send_recorded(api, emulator):
    lists = emulator.records("list")[:2]
    data = [
        ("campaign_id", "1001"),
        ("email_template_id", "101"),
        ("tags[]", "a"),
        ("tags[]", "b"),
        ("suppression_list_ids[]", str(lists[1])),
        ("scheduled_time", "2030-10-31T17:00:00-04:00"),
        ("from_assigned_user", "true"),
    ] + [("list_ids[]", str(i)) for i in lists]
    r = api.post(SEND, data=data)
    assert r.status_code == 200, r.text
    email = r.json()["email"]
    assert {"id", "name", "subject", "created_at"} <= set(email)
    sends = emulator.state()["sends"]
    assert len(sends) == 1
    s = sends[0]
    assert s["kind"] == "list"
    assert s["list_ids"] == lists
    assert s["tags"] == ["a", "b"]
    assert s["id"] == email["id"]
    assert s["suppression_list_ids"] == [lists[1]]
    assert s["params"]["scheduled_time"] == "2030-10-31T17:00:00-04:00"
    # the new list email has stats (all zero)
    assert api.get(f"/api/email/version/4/do/stats/id/{email['id']}").json()["stats"]["sent"] == 0


def test_one_to_one_sends(api, emulator):
    pid = emulator.records("prospect")[0]
    content = {"campaign_id": "1001", "text_content": TEXT, "name": "n", "subject": "s"}
    r = api.post(f"{SEND}/prospect_id/{pid}", data=dict(content, from_email="me@x.com", from_name="Me"))
    assert r.status_code == 200
    assert r.json()["email"]["isOneToOne"] is True
    r = api.post(f"{SEND}/prospect_email/prospect2%40example.com", data=dict(content, from_user_id="5"))
    assert r.status_code == 200
    r = api.post(SEND, data=dict(content, from_user_id="5", prospect_email="prospect3@example.com"))
    assert r.status_code == 200
    kinds = [(s["kind"], s["prospect_email"]) for s in emulator.state()["sends"]]
    assert kinds == [
        ("prospect_id", "prospect1@example.com"),
        ("prospect_email", "prospect2@example.com"),
        ("prospect_email", "prospect3@example.com"),
    ]


def test_send_validation(api, emulator):
    lst = str(emulator.records("list")[0])
    pid = emulator.records("prospect")[0]
    base = {"campaign_id": "1001", "list_ids[]": lst}
    full = dict(base, text_content=TEXT, name="n", subject="s", from_email="a@b.c", from_name="A")
    cases = [
        ({"list_ids[]": lst, "email_template_id": "101"}, 13),  # campaign_id missing
        (dict(base), 13),  # no content at all
        (dict(full, text_content="no unsubscribe tag"), 64),
        (dict(full, html_content="<p>no tag</p>"), 64),
        (dict(base, text_content=TEXT, name="n", subject="s"), 13),  # no sender
        (dict(full, **{"list_ids[]": "1"}), 55),
        (dict(base, email_template_id="999999"), 68),
        (dict(base, email_template_id="abc"), 86),
        (dict(base, email_template_id="101", text_content=TEXT), 51),
        (dict(full, scheduled_time="next tuesday"), 7),
        (dict(full, campaign_id="x"), 38),
    ]
    for data, code in cases:
        r = api.post(SEND, data=data)
        assert r.status_code == 400, (data, r.text)
        assert err(r) == code, (data, r.text)
    assert err(api.post(f"{SEND}/prospect_id/1", data=dict(full))) == 3
    assert err(api.post(f"{SEND}/prospect_email/nobody%40x.com", data=dict(full))) == 4
    assert (
        err(api.post(f"{SEND}/prospect_id/{pid}", data=dict(full, prospect_email="prospect9@example.com")))
        == 44
    )
    assert err(api.get(SEND, **full)) == 60
    assert emulator.state()["sends"] == []
    r = api.post(SEND, data=full, format="xml")
    assert r.headers["Content-Type"] == "text/xml"
    assert "<email>" in r.text
