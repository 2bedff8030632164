"""v5 object queries and reads (the v5 object reference pages), compared with the real v5 recordings."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import json
import re
import subprocess
import sys
import urllib.parse

import pytest
from emu_api import RECORDED, Api, load_json
from emulator_control import EmulatorControl

from airflow_provider_pardot.emulator.launch import EmulatorProcess

V5 = "/api/v5/objects"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
CAP_TEXT = "Record count for nextPageToken sequence has been exceeded."


def recorded(name):
    return load_json(f"{RECORDED}/v5-json/{name}")


def v5(api, obj, **params):
    return api.s.get(f"{api.url}{V5}/{obj}", params=params, headers=api.headers(), timeout=60)


def follow(api, url):
    return api.s.get(url, headers=api.headers(), timeout=60)


def pull(api, obj, **params) -> tuple[list[dict], list]:
    """Every page of a query, following nextPageUrl; the records and the responses."""
    r = v5(api, obj, **params)
    pages = [r]
    rows = list(r.json()["values"])
    while r.json()["nextPageUrl"]:
        r = follow(api, r.json()["nextPageUrl"])
        assert r.status_code == 200, r.text
        pages.append(r)
        rows += r.json()["values"]
    return rows, pages


def token_state(token: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(token))


def v4_rows(api, obj: str, key: str, **criteria) -> list[dict]:
    out, last = [], 0
    while True:
        page = api.get(
            f"/api/{obj}/version/4/do/query", id_greater_than=last, sort_by="id", output="bulk", **criteria
        ).json()["result"]
        rows = (page or {}).get(key, [])
        rows = [rows] if isinstance(rows, dict) else rows
        out += rows
        if len(rows) < 200:
            return out
        last = rows[-1]["id"]


# ---------------------------------------------------------------------------- shapes
def test_page_shape_matches_the_recorded_emails_page(api):
    rec = recorded("emails-read-1-first-page.json")
    fields = urllib.parse.parse_qs(urllib.parse.urlsplit(rec["nextPageUrl"]).query)["fields"][0]
    r = v5(api, "emails", fields=fields, limit=2)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert list(body) == list(rec)
    assert [list(v) for v in body["values"]] == [list(v) for v in rec["values"]]  # id first, then a-z
    for got, want in zip(body["values"], rec["values"], strict=True):
        assert ISO.match(got["updatedAt"])
        assert ISO.match(want["updatedAt"])
        assert {k: type(v) for k, v in got.items() if v is not None} == {
            k: type(v) for k, v in want.items() if v is not None
        }
    # nextPageUrl: the same object's path, fields as requested, the token unencoded (as recorded)
    ours, theirs = urllib.parse.urlsplit(body["nextPageUrl"]), urllib.parse.urlsplit(rec["nextPageUrl"])
    assert ours.path == theirs.path
    assert ours.query.split("&")[0] == theirs.query.split("&")[0] == f"fields={fields}"
    assert ours.query.split("&")[1] == f"nextPageToken={body['nextPageToken']}"
    assert set(token_state(body["nextPageToken"])) == set(json.loads(base64.b64decode(rec["nextPageToken"])))


def test_last_page_is_the_recorded_empty_page(api, emulator):
    # a full page carries a token even when nothing follows; the next page is empty, both null
    n = len(emulator.records("email"))
    first = v5(api, "emails", fields="id", limit=n).json()
    assert len(first["values"]) == n
    assert first["nextPageToken"]
    assert follow(api, first["nextPageUrl"]).json() == recorded("emails-read-2-empty-page.json")
    # a short page ends the sequence itself: rows and both null (recorded custom-fields page)
    short = v5(api, "emails", fields="id", limit=n + 1).json()
    assert (len(short["values"]), short["nextPageToken"], short["nextPageUrl"]) == (n, None, None)


def test_custom_fields_come_after_the_standard_ones(api):
    rec = recorded("prospects-read-custom-fields.json")
    fields = ",".join(rec["values"][0])
    body = v5(api, "prospects", fields=fields, limit=3).json()
    assert [list(v) for v in body["values"]] == [list(v) for v in rec["values"]]
    r = v5(api, "prospects", fields="id,shoeSize__c")
    assert r.json() == {
        "code": 51,
        "message": "Invalid parameter: fields. It contains an invalid or unknown field: shoeSize__c",
    }


def test_recorded_errors(api):
    r = v5(api, "lists")
    assert (r.status_code, r.json()) == (400, recorded("error-13-missing-required-parameter.json"))
    r = v5(api, "lists/1", fields="id")
    assert (r.status_code, r.json()) == (404, recorded("error-109-delete-not-found.json"))
    r = api.s.get(
        f"{api.url}{V5}/lists",
        params={"fields": "id"},
        headers=api.headers(**{"Pardot-Business-Unit-Id": None}),
    )
    assert (r.status_code, r.json()) == (400, recorded("error-181-missing-business-unit-header.json"))


# ---------------------------------------------------------------------------- same records as v4
@pytest.mark.parametrize(
    ("v5_name", "v4_name", "key", "twins"),
    [
        (
            "lists",
            "list",
            "list",
            {"name": "name", "isPublic": "is_public", "isSalesforceVisible": "is_crm_visible"},
        ),
        (
            "list-memberships",
            "listMembership",
            "list_membership",
            {"listId": "list_id", "optedOut": "opted_out"},
        ),
        ("lifecycle-histories", "lifecycleHistory", "lifecycleHistory", {"nextStageId": "next_stage_id"}),
        ("prospects", "prospect", "prospect", {"email": "email", "firstName": "first_name"}),
        ("visitor-activities", "visitorActivity", "visitor_activity", {"typeName": "type_name"}),
        ("dynamic-contents", "dynamicContent", "dynamicContent", {"embedUrl": "embedUrl"}),
    ],
)
def test_the_same_records_as_v4(api, v5_name, v4_name, key, twins):
    rows, pages = pull(api, v5_name, fields=",".join(["id", "createdAt", *twins]), limit=1000)
    old = {r["id"]: r for r in v4_rows(api, v4_name, key)}
    assert [r["id"] for r in rows] == sorted(old)  # id ascending by default, every record once
    for r in rows[:50]:
        o = old[r["id"]]
        assert r["createdAt"] == o["created_at"].replace(" ", "T") + "+00:00"
        for new, twin in twins.items():
            assert r[new] == (bool(o[twin]) if isinstance(r[new], bool) else o[twin])
    assert len(pages) == len(rows) // 1000 + 1


def test_relations_and_stages(api):
    body = v5(
        api, "lifecycle-histories", fields="id,nextStageId,nextStage.name,prospect.email", limit=5
    ).json()
    stages = {s["id"]: s["name"] for s in v5(api, "lifecycle-stages", fields="id,name").json()["values"]}
    for row in body["values"]:
        assert row["nextStage"] == {"name": stages[row["nextStageId"]]}
        assert row["prospect"]["email"].endswith("@example.com")
    stage = v5(api, "lifecycle-stages/1", fields="id,isLocked,matchType,createdAt").json()
    assert stage["isLocked"] is True
    assert ISO.match(stage["createdAt"])


def test_objects_without_data(api):
    assert v5(api, "visitors", fields="id,ipAddress").json() == {
        "nextPageToken": None,
        "nextPageUrl": None,
        "values": [],
    }
    assert v5(api, "visitors/5", fields="id").json()["code"] == 109
    r = v5(api, "nothings", fields="id")
    assert (r.status_code, r.json()["code"]) == (404, 198)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        ({"fields": "id,nope"}, 51, "unknown field: nope"),
        ({"fields": "id,campaign.nope"}, 51, "unknown field: campaign.nope"),
        ({"fields": "id", "limit": "0"}, 51, "limit"),
        ({"fields": "id", "limit": "1001"}, 51, "limit"),
        ({"fields": "id", "limit": "ten"}, 51, "limit"),
        ({"fields": "id", "colour": "red"}, 51, "colour. It is not a filter"),
        ({"fields": "id", "createdAtAfter": "yesterday"}, 51, "createdAtAfter"),
        (
            {"fields": "id", "createdAtAfter": "2024-01-01T00:00:00 00:00"},
            51,
            "createdAtAfter",
        ),  # '+' as space
        ({"fields": "id", "idGreaterThan": "x"}, 51, "idGreaterThan"),
        ({"fields": "id", "orderBy": "title"}, 51, "orderBy"),
        ({"fields": "id", "orderBy": "name SIDEWAYS"}, 51, "orderBy"),
        ({"fields": "id", "deleted": "maybe"}, 51, "deleted"),
        ({"fields": "id", "offset": "2001"}, 51, "offset"),
        (
            {
                "fields": "id",
                "id": "1",
                "name": "x",
                "createdAtAfter": "2024-01-01T00:00:00Z",
                "updatedAtBefore": "2030-01-01T00:00:00Z",
            },
            209,
            "max number of 3",
        ),
    ],
)
def test_invalid_queries(api, params, code, fragment):
    r = v5(api, "lists", **params)
    assert r.status_code == 400
    assert r.json()["code"] == code
    assert fragment in r.json()["message"]


def test_three_fields_may_carry_several_filters(api):
    r = v5(
        api,
        "lists",
        fields="id",
        idGreaterThan="30010",
        idLessThanOrEqualTo="30100",
        createdAtAfter="2000-01-01T00:00:00-05:00",
        updatedAtBefore="2100-01-01T00:00:00+02:00",
    )
    assert r.status_code == 200, r.text
    ids = [v["id"] for v in r.json()["values"]]
    assert ids
    assert min(ids) > 30010
    assert max(ids) <= 30100


def test_deleted_only_where_there_is_a_recycle_bin(api):
    r = v5(api, "lifecycle-histories", fields="id", deleted="all")
    assert r.json()["code"] == 51
    assert "recycle bin" in r.json()["message"]


# ---------------------------------------------------------------------------- filters
def test_filters_match_their_documented_meaning(api, emulator):
    ids = emulator.records("list")
    one = ids[10]
    gt = [v["id"] for v in pull(api, "lists", fields="id", idGreaterThan=one, limit=1000)[0]]
    ge = [v["id"] for v in pull(api, "lists", fields="id", idGreaterThanOrEqualTo=one, limit=1000)[0]]
    assert gt == ids[11:]
    assert ge == ids[10:]
    lt = [v["id"] for v in v5(api, "lists", fields="id", idLessThan=one).json()["values"]]
    assert lt == ids[:10]
    assert [v["id"] for v in v5(api, "lists", fields="id", idList=f"{ids[3]},{ids[1]}").json()["values"]] == [
        ids[1],
        ids[3],
    ]
    # date-times: the offset counts; After excludes the bound, AfterOrEqualTo includes it
    row = v5(api, f"lists/{one}", fields="id,createdAt").json()
    local = (
        dt.datetime.fromisoformat(row["createdAt"])
        .astimezone(dt.timezone(dt.timedelta(hours=-4)))
        .isoformat()
    )
    at = [v["id"] for v in pull(api, "lists", fields="id", createdAtAfterOrEqualTo=local, limit=1000)[0]]
    after = [v["id"] for v in pull(api, "lists", fields="id", createdAtAfter=local, limit=1000)[0]]
    assert one in at
    assert one not in after
    v4_after = {
        r["id"] for r in v4_rows(api, "list", "list", created_after=row["createdAt"][:19].replace("T", " "))
    }
    assert set(after) == v4_after
    members = v5(api, "list-memberships", fields="id,listId", listId=ids[0], limit=1000).json()["values"]
    assert members
    assert {m["listId"] for m in members} == {ids[0]}


def test_deleted_modes(api, emulator):
    live = {r["id"] for r in pull(api, "list-memberships", fields="id", limit=1000)[0]}
    binned = pull(api, "list-memberships", fields="id,isDeleted", deleted="true", limit=1000)[0]
    both = {r["id"] for r in pull(api, "list-memberships", fields="id", deleted="all", limit=1000)[0]}
    assert binned
    assert all(r["isDeleted"] for r in binned)
    assert both == live | {r["id"] for r in binned}
    assert not live & {r["id"] for r in binned}
    lst = emulator.records("list")[5]
    emulator.mutate("list", delete=[lst])
    r = v5(api, f"lists/{lst}", fields="id,isDeleted")
    assert r.status_code == 200
    assert r.json() == {"id": lst, "isDeleted": True}
    assert r.headers["Pardot-Warning"] == "201;Record In Recycle Bin"


# ---------------------------------------------------------------------------- paging
def test_paging_exactly_once_while_records_change(api, emulator):
    ids = emulator.records("list")
    r = v5(api, "lists", fields="id", limit=100)
    seen = [v["id"] for v in r.json()["values"]]
    ahead = ids[150]
    emulator.mutate("list", delete=[seen[5], ahead])
    inserted = emulator.mutate("list", insert=7)["inserted"]
    while r.json()["nextPageUrl"]:
        r = follow(api, r.json()["nextPageUrl"])
        seen += [v["id"] for v in r.json()["values"]]
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert set(seen) == (set(ids) - {ahead}) | set(inserted)


def test_paging_in_another_order(api, emulator):
    rows, pages = pull(api, "lists", fields="id,updatedAt", orderBy="updatedAt DESC", limit=40)
    assert len(pages) > 5
    ids = [r["id"] for r in rows]
    assert sorted(ids) == emulator.records("list")
    keys = [(r["updatedAt"], -r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True)  # updatedAt descending, ties by id ascending
    desc = [r["id"] for r in pull(api, "lists", fields="id", orderBy="id DESC", limit=100)[0]]
    assert desc == sorted(emulator.records("list"), reverse=True)


def test_a_token_may_be_used_again_and_stands_alone(api):
    first = v5(api, "lists", fields="id", limit=10).json()
    again = [follow(api, first["nextPageUrl"]).json()["values"] for _ in range(2)]
    assert again[0] == again[1]
    assert again[0][0]["id"] > first["values"][-1]["id"]
    # the token carries the query; fields must come with it, nothing else may
    token = first["nextPageToken"]
    assert v5(api, "lists", nextPageToken=token).json()["code"] == 13
    r = v5(api, "lists", fields="id", nextPageToken=token, limit=5)
    assert (r.status_code, r.json()["code"]) == (400, 51)
    assert v5(api, "lists", fields="id,name", nextPageToken=token).status_code == 200


def test_the_record_cap(api, emulator):
    emulator.config(v5_record_cap=250)
    rows, pages = pull(api, "lists", fields="id", limit=100)
    assert [len(p.json()["values"]) for p in pages] == [100, 100, 50]
    assert CAP_TEXT in pages[-1].headers["Pardot-Warning"]
    assert all("Pardot-Warning" not in p.headers for p in pages[:-1])
    # going on past the last id, as the docs advise, reaches every record once
    rest, _ = pull(api, "lists", fields="id", limit=100, idGreaterThan=rows[-1]["id"])
    assert [r["id"] for r in rows + rest] == emulator.records("list")


def test_token_expiry_and_invalid_tokens(api, emulator):
    emulator.config(v5_token_ttl=0)
    r = follow(api, v5(api, "lists", fields="id", limit=10).json()["nextPageUrl"])
    assert (r.status_code, r.json()) == (400, {"code": 210, "message": "Page token has expired."})
    emulator.config(v5_token_ttl=3600)
    token = v5(api, "lists", fields="id", limit=10).json()["nextPageToken"]
    state = token_state(token)
    assert state["expireTime"] > "2026"
    for bad in ("not-a-token", token[:-8], base64.urlsafe_b64encode(b'{"limit": 5}').decode()):
        r = v5(api, "lists", fields="id", nextPageToken=bad)
        assert (r.status_code, r.json()) == (400, {"code": 211, "message": "Page token is invalid."})


def test_read(api, emulator):
    pid = emulator.records("prospect")[0]
    r = v5(api, f"prospects/{pid}", fields="id,email,campaign.name,isDoNotEmail,createdAt")
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["id", "campaign", "createdAt", "email", "isDoNotEmail"]
    assert isinstance(body["isDoNotEmail"], bool)
    assert v5(api, f"prospects/{pid}").json()["code"] == 13
    assert v5(api, f"prospects/{pid}", fields="id", limit=3).json()["code"] == 51
    assert v5(api, "prospects/abc", fields="id").status_code == 404


# ---------------------------------------------------------------------------- limits
def test_limits_and_auth_in_v5_shape(api, emulator):
    r = api.s.get(
        f"{api.url}{V5}/lists", params={"fields": "id"}, headers=api.headers(**{"X-Return-Api-Usage": "1"})
    )
    assert re.match(r"^\d+/25000$", r.headers["x-api-usage"])
    r = api.s.get(
        f"{api.url}{V5}/lists", params={"fields": "id"}, headers=api.headers(Authorization="Bearer nope")
    )
    assert (r.status_code, r.json()["code"]) == (401, 184)
    emulator.config(daily_limit=10, daily_used=10)
    r = v5(api, "lists", fields="id")
    assert (r.status_code, r.json()) == (429, {"code": 122, "message": "Daily API rate limit met."})
    emulator.config(daily_limit=25000, daily_used=0, concurrency_limit=0)
    r = v5(api, "lists", fields="id")
    assert (r.status_code, r.json()["code"]) == (429, 66)


def test_latency_holds_requests_in_flight(api, emulator):
    emulator.config(latency_ms=400)
    emulator.reset_peak()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        sessions = [type(api)(emulator.url) for _ in range(6)]
        for s in sessions:
            s.token = api.token
        answers = list(pool.map(lambda s: v5(s, "lists", fields="id").status_code, sessions))
    # six at once against five slots: five are held by the latency, the sixth gets 66
    assert sorted(answers) == [200] * 5 + [429]
    assert emulator.peak_in_flight() == 5
    assert emulator.peak_attempted_in_flight() == 6  # what "never more than five" is checked on
    assert emulator.state()["in_flight"] == 0


def test_sorted_pages_see_records_inserted_between_them(api, emulator):
    r = v5(api, "lists", fields="id,updatedAt", orderBy="updatedAt ASC", limit=100)
    seen = [v["id"] for v in r.json()["values"]]
    inserted = emulator.mutate("list", insert=3)["inserted"]  # updated "now": the end of the order
    while r.json()["nextPageUrl"]:
        r = follow(api, r.json()["nextPageUrl"])
        seen += [v["id"] for v in r.json()["values"]]
    assert seen[-3:] == inserted
    assert sorted(seen) == emulator.records("list")


def _share_in_top(ids: list[int], fraction: float) -> float:
    """The share of ``ids`` in the top ``fraction`` of their span."""
    edge = ids[-1] - (ids[-1] - ids[0]) * fraction
    return sum(1 for i in ids if i >= edge) / len(ids)


def test_clustered_id_layout(api, emulator):
    even = emulator.records("list")
    assert _share_in_top(even, 0.03) < 0.1
    answer = emulator.seed(list=5000, id_layout="clustered")
    assert answer["id_layout"] == "clustered"
    ids = emulator.records("list")
    assert len(ids) == 5000
    assert ids == sorted(set(ids))
    assert _share_in_top(ids, 0.03) >= 0.9  # nine in ten in the last 3% of the span
    assert 1 - _share_in_top(ids, 0.5) >= 0.03  # the first tenth spread over the rest (half below the middle)
    rows, _ = pull(api, "lists", fields="id", limit=1000)
    assert [r["id"] for r in rows] == ids
    emulator.seed(prospect=10)  # a new count keeps the layout
    assert _share_in_top(emulator.records("list"), 0.03) >= 0.9
    emulator.reset()
    assert emulator.records("list") == even
    with pytest.raises(Exception, match="400"):
        emulator.seed(id_layout="spiral")


def test_early_id_layout(api, emulator):
    emulator.seed(list=5000, id_layout="early")
    ids = emulator.records("list")
    assert len(ids) == 5000
    assert ids == sorted(set(ids))
    low = ids[0] + (ids[-1] - ids[0]) * 0.03
    assert sum(1 for i in ids if i <= low) >= 0.9 * len(ids)  # nine in ten in the first 3% of the span
    rows, _ = pull(api, "lists", fields="id", limit=1000)
    assert [r["id"] for r in rows] == ids


def test_request_log_counts_in_flight(api, emulator):
    emulator.config(latency_ms=300)
    sessions = [type(api)(emulator.url) for _ in range(3)]
    for s in sessions:
        s.token = api.token
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda s: v5(s, "lists", fields="id").status_code, sessions))
    logged = [r for r in emulator.requests() if r["path"].startswith(V5)][-3:]
    assert sorted(r["in_flight"] for r in logged) == [1, 2, 3]
    assert [r["in_flight_peak"] for r in logged] == [3, 3, 3]  # the first one saw the others come
    v5(api, "lists", fields="id")
    assert [r for r in emulator.requests() if r["path"].startswith(V5)][-1]["in_flight_peak"] == 1


# ---------------------------------------------------------------------------- CLI
def test_cli_flags_for_benchmarks(tmp_path):
    flags = ["--latency-ms", "5", "--v5-record-cap", "300", "--v5-token-ttl", "60"]
    flags += ["--records", "visitorActivity=2500", "--records", "lists=40", "--id-layout", "clustered"]
    with EmulatorProcess(*flags, workdir=tmp_path, timeout=60) as process:
        control = EmulatorControl(process.url)
        cfg = control.config()
        assert (cfg["latency_ms"], cfg["v5_record_cap"], cfg["v5_token_ttl"]) == (5.0, 300, 60.0)
        assert len(control.records("visitorActivity")) == 2500
        control.seed(prospects=10)
        control.reset()  # back to the start-up counts and layout
        lists = control.records("lists")
        assert len(lists) == 40
        assert _share_in_top(lists, 0.05) >= 0.85
        api = Api(control.url)
        api.login()
        rows, pages = pull(api, "visitor-activities", fields="id", limit=100)
        assert len(rows) == 300
        assert CAP_TEXT in pages[-1].headers["Pardot-Warning"]
    bad = subprocess.run(
        [sys.executable, "-m", "airflow_provider_pardot.emulator", "--records", "lists"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "--records takes OBJECT=N" in bad.stderr
