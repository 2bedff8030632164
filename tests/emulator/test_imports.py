"""The v5 Import API over HTTP: routes, statuses over polls, limits and errors, rows applied, faults."""

from __future__ import annotations

import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

BASE = "/api/v5/imports"
FIELDS = "status,createdCount,updatedCount,errorCount,errorsRef,batchesRef,isExpired"
UPSERT = {"operation": "Upsert", "object": "Prospect"}


# ---------------------------------------------------------------------------- helpers
def create(api, body=None, **params):
    return api.s.post(
        api.url + BASE,
        params=params,
        data=json.dumps(UPSERT if body is None else body),
        headers=api.headers(),
    )


def new_import(api, **options) -> int:
    r = create(api, {**UPSERT, **options})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def batch(api, iid, text: str | bytes, name: str = "file"):
    files = {name: ("batch.csv", text, "text/csv")}
    return api.s.post(f"{api.url}{BASE}/{iid}/batches", files=files, headers=api.headers())


def submit(api, iid, body=None):
    return api.s.patch(f"{api.url}{BASE}/{iid}", json=body or {"status": "Ready"}, headers=api.headers())


def read(api, iid, fields: str = FIELDS):
    return api.s.get(f"{api.url}{BASE}/{iid}", params={"fields": fields}, headers=api.headers())


def status(api, iid) -> str:
    return read(api, iid).json()["status"]


def finish(api, iid) -> dict:
    for _ in range(20):
        rec = read(api, iid).json()
        if rec["status"] not in ("Waiting", "Processing"):
            return rec
    raise AssertionError(f"import {iid} did not finish: {rec}")


def run(api, text: str, **options) -> tuple[int, dict]:
    """Create, one batch, submit, poll to the end: (id, the final record)."""
    iid = new_import(api, **options)
    assert batch(api, iid, text).status_code == 204
    assert submit(api, iid).status_code == 200
    return iid, finish(api, iid)


def err(r) -> tuple[int, int]:
    return r.status_code, r.json()["code"]


def control(emulator, iid, **body):
    return emulator.set_import(iid, **body) if body else emulator.get_import(iid)


def prospects(api, **filters) -> list[dict]:
    params = {"fields": "id,email,firstName,lastName,company,isDeleted,hobby__c", **filters}
    r = api.s.get(f"{api.url}/api/v5/objects/prospects", params=params, headers=api.headers())
    assert r.status_code == 200, r.text
    return r.json()["values"]


def members(api, list_id: int) -> set[int]:
    r = api.s.get(
        f"{api.url}/api/v5/objects/list-memberships",
        params={"fields": "prospectId", "listId": list_id, "limit": 1000},
        headers=api.headers(),
    )
    return {m["prospectId"] for m in r.json()["values"]}


def static_lists(emulator, n: int) -> list[int]:
    rows = emulator.session.get(f"{emulator.url}/_emulator/records/list", params={"rows": 1}).json()["rows"]
    return [r["id"] for r in rows if not r["is_dynamic"]][:n]


def errors_csv(api, iid) -> list[dict]:
    r = api.s.get(f"{api.url}{BASE}/{iid}/errors", headers=api.headers(), allow_redirects=False)
    assert r.status_code == 302, r.text
    f = requests.get(r.headers["Location"], timeout=30)  # the stored file: no token needed
    assert f.status_code == 200
    assert f.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(f.text)))


# ---------------------------------------------------------------------------- routes and statuses
def test_create_batch_submit_and_statuses_over_polls(api, emulator):
    r = create(api)
    assert r.status_code == 201
    rec = r.json()
    iid = rec["id"]
    assert r.headers["Location"] == f"{api.url}{BASE}/{iid}"
    assert (rec["status"], rec["operation"], rec["object"]) == ("Open", "Upsert", "Prospect")
    assert rec["batchesRef"] == f"{api.url}{BASE}/{iid}/batches"
    assert rec["createdCount"] is None
    assert rec["errorsRef"] is None
    assert batch(api, iid, "matchEmail,firstName\nprospect1@example.com,Zed\n").status_code == 204
    assert status(api, iid) == "Open"
    r = submit(api, iid)
    assert (r.status_code, r.json()["status"], r.json()["batchesRef"]) == (200, "Waiting", None)
    assert [status(api, iid) for _ in range(4)] == ["Waiting", "Processing", "Complete", "Complete"]
    rec = read(api, iid).json()
    assert (rec["createdCount"], rec["updatedCount"], rec["errorCount"], rec["errorsRef"]) == (0, 1, 0, None)
    assert list(rec) == ["id", *sorted(FIELDS.split(","))]


def test_pace_is_set_by_the_control_api(api, emulator):
    emulator.config(import_polls=2)
    iid = new_import(api)
    batch(api, iid, "matchEmail,firstName\nprospect1@example.com,Zed\n")
    submit(api, iid)
    assert [status(api, iid) for _ in range(5)] == [
        "Waiting",
        "Waiting",
        "Processing",
        "Processing",
        "Complete",
    ]
    emulator.config(import_polls=0)
    iid, rec = run(api, "matchEmail,firstName\nprospect1@example.com,Zed\n")
    assert rec["status"] == "Complete"
    # time-based pace: no read needed
    emulator.config(import_polls=1000, import_delay=0.05)
    iid = new_import(api)
    batch(api, iid, "matchEmail,firstName\nprospect2@example.com,Zed\n")
    submit(api, iid)
    deadline = time.monotonic() + 10  # the pace is time-based: wait for it, not a number of reads
    while control(emulator, iid)["status"] != "Complete" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert control(emulator, iid)["status"] == "Complete"


def test_single_request_mode_multipart_and_part_names(api, emulator):
    body = {**UPSERT, "status": "Ready", "createOnNoMatch": True}
    text = "email,campaignId\nsolo@example.com,1001\n"
    r = api.s.post(
        api.url + BASE,
        files={"INPUT": (None, json.dumps(body), "application/json"), "File": ("a.csv", text, "text/csv")},
        headers=api.headers(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "Waiting"
    assert finish(api, r.json()["id"])["createdCount"] == 1
    # multipart create with a file but no Ready: Open, with its first batch
    r = api.s.post(
        api.url + BASE,
        files={"input": (None, json.dumps(UPSERT)), "file": ("a.csv", "matchId,company\n20001,X\n")},
        headers=api.headers(),
    )
    assert r.json()["status"] == "Open"
    assert control(emulator, r.json()["id"])["batches"] == 1
    r = create(api, {**UPSERT, "status": "Ready"})
    assert err(r) == (400, 162)


def test_query(api, emulator):
    ids = [new_import(api) for _ in range(3)]
    batch(api, ids[0], "matchId,company\n20001,X\n")
    submit(api, ids[0])
    r = api.s.get(api.url + BASE, params={"fields": "id,status"}, headers=api.headers())
    body = r.json()
    assert [v["id"] for v in body["values"]] == ids
    assert body["nextPageToken"] is None
    r = api.s.get(api.url + BASE, params={"fields": "status", "status": "Open"}, headers=api.headers())
    assert [v["id"] for v in r.json()["values"]] == ids[1:]
    r = api.s.get(api.url + BASE, params={"fields": "status", "limit": 2}, headers=api.headers())
    assert [v["id"] for v in r.json()["values"]] == ids[:2]
    nxt = requests.get(r.json()["nextPageUrl"], headers=api.headers(), timeout=30).json()
    assert [v["id"] for v in nxt["values"]] == ids[2:]
    after = {"fields": "status", "updatedAtAfterOrEqualTo": "2999-01-01T00:00:00+00:00"}
    assert api.s.get(api.url + BASE, params=after, headers=api.headers()).json()["values"] == []
    assert err(api.s.get(api.url + BASE, headers=api.headers())) == (400, 13)
    assert err(api.s.get(api.url + BASE, params={"fields": "id", "x": 1}, headers=api.headers())) == (400, 51)
    bad = {"fields": "id", "nextPageToken": "nope"}
    assert err(api.s.get(api.url + BASE, params=bad, headers=api.headers())) == (400, 211)


def test_read_errors(api, emulator):
    iid = new_import(api)
    assert err(api.s.get(f"{api.url}{BASE}/{iid}", headers=api.headers())) == (400, 13)
    assert err(read(api, iid, "id,nope")) == (400, 51)
    assert err(read(api, 999)) == (404, 109)
    assert err(batch(api, 999, "email\na@b.c\n")) == (404, 109)
    assert err(submit(api, 999)) == (404, 109)
    r = api.s.delete(f"{api.url}{BASE}/{iid}", headers=api.headers())
    assert err(r) == (405, 60)


# ---------------------------------------------------------------------------- create and batch errors
@pytest.mark.parametrize(
    ("body", "ctype", "code"),
    [
        (b"", "application/json", 152),
        (b"{nope", "application/json", 150),
        (b"[]", "application/json", 150),
        (b"operation=Upsert", "application/x-www-form-urlencoded", 151),
        (json.dumps({"object": "Prospect"}).encode(), "application/json", 153),
        (json.dumps({**UPSERT, "object": "List"}).encode(), "application/json", 154),
        (json.dumps({**UPSERT, "status": "Waiting"}).encode(), "application/json", 154),
        (json.dumps({**UPSERT, "color": "red"}).encode(), "application/json", 154),
        (json.dumps({**UPSERT, "createOnNoMatch": "yes"}).encode(), "application/json", 154),
        (json.dumps({**UPSERT, "fields": {"nope": {"overwrite": True}}}).encode(), "application/json", 130),
        (json.dumps({**UPSERT, "fields": [{"overwrite": True}]}).encode(), "application/json", 153),
    ],
)
def test_create_errors(api, emulator, body, ctype, code):
    r = api.s.post(api.url + BASE, data=body, headers=api.headers(**{"Content-Type": ctype}))
    assert err(r) == (400, code)


BIG = "matchEmail,company\n" + "prospect1@example.com,Acme\n" * 420_000  # > 10 MB


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("", 159, "empty"),
        ("matchEmail,firstName\n", 159, "empty"),
        ("matchEmail,firstName\na@b.c\n", 159, "columns"),
        (b"matchEmail,company\na@b.c,\xff\n", 159, "UTF-8"),
        ("matchEmail,firstName,FIRSTNAME\na@b.c,x,y\n", 159, "same field multiple times"),
        ("matchEmail,first_name,nope\na@b.c,x,y\n", 159, "invalid default fields: first_name, nope"),
        ("matchEmail,matchId,company\na@b.c,1,x\n", 159, "Only one of"),
        ("matchEmail,id\na@b.c,1\n", 130, "id"),
        ("matchEmail,optedOut\na@b.c,true\n", 130, "optedOut"),
    ],
)
def test_batch_file_errors(api, emulator, text, code, words):
    r = batch(api, new_import(api), text)
    assert err(r) == (400, code)
    assert words in r.json()["message"]


def test_batch_limits_and_states(api, emulator):
    iid = new_import(api)
    assert err(batch(api, iid, BIG)) == (413, 204)
    r = api.s.post(f"{api.url}{BASE}/{iid}/batches", json={"x": 1}, headers=api.headers())
    assert err(r) == (400, 151)
    r = api.s.post(f"{api.url}{BASE}/{iid}/batches", files={"other": (None, "x")}, headers=api.headers())
    assert err(r) == (400, 162)
    two = {"file": ("a.csv", "matchId\n1\n"), "more": ("b.csv", "matchId\n2\n")}
    assert err(api.s.post(f"{api.url}{BASE}/{iid}/batches", files=two, headers=api.headers())) == (400, 163)
    for _ in range(10):
        assert batch(api, iid, "matchId,company\n20001,X\n").status_code == 204
    r = batch(api, iid, "matchId,company\n20001,X\n")
    assert err(r) == (429, 160)
    assert "Currently set to 10" in r.json()["message"]
    submit(api, iid)
    r = batch(api, iid, "matchId,company\n20001,X\n")
    assert err(r) == (400, 161)
    assert r.json()["message"].endswith("Current status is Waiting")


def test_header_rules_across_batches(api, emulator):
    iid = new_import(api, fields={"company": {"nullOverwrite": True}})
    assert err(batch(api, iid, "matchId,firstName\n20001,X\n")) == (400, 227)
    assert batch(api, iid, "matchId,company\n20001,X\n").status_code == 204
    r = batch(api, iid, "matchId,company,firstName\n20001,X,Y\n")
    assert err(r) == (400, 130)
    assert "didn't match initial file" in r.json()["message"]
    iid = new_import(api, createOnNoMatch=True)
    r = batch(api, iid, "matchEmail,email\na@b.c,a@b.c\n")
    assert err(r) == (400, 13)
    assert "'campaignId' column" in r.json()["message"]
    r = batch(api, new_import(api), "firstName\nX\n")  # no match column: every row creates
    assert err(r) == (400, 13)


def test_submit_errors_and_expiry(api, emulator):
    iid = new_import(api)
    assert err(submit(api, iid)) == (400, 156)
    assert err(submit(api, iid, {"status": "Ready", "createOnNoMatch": True})) == (400, 51)
    assert err(submit(api, iid, {"status": "Open"})) == (400, 154)
    batch(api, iid, "matchId,company\n20001,X\n")
    assert submit(api, iid).status_code == 200
    assert err(submit(api, iid)) == (400, 155)
    old = new_import(api)
    batch(api, old, "matchId,company\n20001,X\n")
    control(emulator, old, isExpired=True)
    assert read(api, old).json()["isExpired"] is True
    assert read(api, old).json()["batchesRef"] is None
    assert err(batch(api, old, "matchId,company\n20001,X\n")) == (400, 2)
    assert err(submit(api, old)) == (400, 2)
    emulator.config(import_open_expiry_seconds=0)
    assert read(api, new_import(api)).json()["isExpired"] is True


def test_daily_batch_limit(api, emulator):
    emulator.config(import_batch_daily_limit=2, import_batches_used=1)
    iid = new_import(api)
    assert batch(api, iid, "matchId,company\n20001,X\n").status_code == 204
    assert err(batch(api, iid, "matchId,company\n20001,X\n")) == (400, 164)
    assert err(create(api)) == (400, 164)
    assert emulator.state()["import_batches_used"] == 2


# ---------------------------------------------------------------------------- rows applied
def test_upserts_by_each_match_column(api, emulator):
    one, two, four = emulator.records("prospect")[:3]  # prospect1@, prospect2@, another
    before = {p["id"]: p for p in prospects(api, idList=f"{one},{two}")}
    text = (
        "matchEmail,firstName,company,hobby__c\n"
        "prospect1@example.com,Zoe,,knitting\n"  # blank company: kept
        "PROSPECT2@example.com,Yan,NewCo,\n"
    )
    iid, rec = run(api, text)
    assert (rec["createdCount"], rec["updatedCount"], rec["errorCount"]) == (0, 2, 0)
    after = {p["id"]: p for p in prospects(api, idList=f"{one},{two}")}
    assert after[one]["firstName"] == "Zoe"
    assert after[one]["company"] == before[one]["company"]
    assert after[one]["hobby__c"] == "knitting"
    assert (after[two]["firstName"], after[two]["company"]) == ("Yan", "NewCo")
    run(api, f"matchId,salesforceId\n{four},00Q000000000001AAA\n")
    iid, rec = run(api, "matchSalesforceId,lastName\n00Q000000000001AAA,Sfid\n")
    assert rec["updatedCount"] == 1
    assert prospects(api, idList=str(four))[0]["lastName"] == "Sfid"
    # the v4 API reads the same record
    v4 = api.get(f"/api/prospect/version/4/do/read/id/{four}").json()["prospect"]
    assert (v4["last_name"], v4["salesforce_fid"]) == ("Sfid", "00Q000000000001AAA")


def test_field_options_overwrite_and_null_overwrite(api, emulator):
    run(api, "matchId,company\n20001,Before\n")
    run(
        api,
        "matchId,firstName,company\n20001,Nope,\n",
        fields={"firstName": {"overwrite": False}, "company": {"nullOverwrite": True}},
    )
    p = prospects(api, idList="20001")[0]
    assert p["company"] is None
    assert p["firstName"] != "Nope"  # it had a first name: overwrite false keeps it


def test_creates_and_rejections(api, emulator):
    gone = emulator.records("prospect")[6]
    emulator.mutate("prospect", delete=[gone])
    text = (
        "matchEmail,email,firstName,campaignId\n"
        "fresh@example.com,fresh@example.com,New,1001\n"
        "nobody@example.com,bad-email,X,1001\n"
        "other@example.com,other@example.com,X,999\n"
        "prospect5@example.com,prospect5@example.com,Again,\n"
        ",blank-match@example.com,Blank,1001\n"
    )
    iid, rec = run(api, text, createOnNoMatch=True)
    assert (rec["createdCount"], rec["updatedCount"], rec["errorCount"]) == (2, 1, 2)
    assert rec["errorsRef"] == f"{api.url}{BASE}/{iid}/errors"
    assert [p["firstName"] for p in prospects(api, email="fresh@example.com")] == ["New"]
    assert len(prospects(api, email="blank-match@example.com")) == 1
    rows = errors_csv(api, iid)
    assert [(r["matchEmail"], r["errorType"]) for r in rows] == [
        ("nobody@example.com", "Invalid Email"),
        ("other@example.com", "Field Validation Failure"),
    ]
    assert list(rows[0]) == ["matchEmail", "email", "firstName", "campaignId", "errorType", "errorMessage"]
    # without createOnNoMatch an unknown email is rejected; a deleted prospect needs restoreDeleted
    text = f"matchId,firstName\n{gone},Back\n"
    iid, rec = run(api, "matchEmail,firstName\nnobody@example.com,X\n")
    assert errors_csv(api, iid)[0]["errorType"] == "No Match"
    iid, rec = run(api, text)
    assert errors_csv(api, iid)[0]["errorType"] == "Archived Prospects"
    iid, rec = run(api, text, restoreDeleted=True)
    assert rec["updatedCount"] == 1
    assert prospects(api, idList=str(gone))[0]["firstName"] == "Back"


def test_list_memberships(api, emulator):
    add, drop = static_lists(emulator, 2)
    one, two, three = emulator.records("prospect")[:3]
    run(api, f"matchId,addToList\n{one},{drop}\n")
    assert one in members(api, drop)
    text = f"matchId,addToList,removeFromList\n{one},{add},{drop}\n{two},{add},\n{three},{add};{drop},\n"
    iid, rec = run(api, text)
    assert (rec["updatedCount"], rec["errorCount"]) == (2, 1)
    assert {one, two} <= members(api, add)
    assert one not in members(api, drop)
    assert errors_csv(api, iid)[0]["errorType"] == "Invalid List"
    v4 = api.get("/api/listMembership/version/4/do/query", list_id=add, limit=200).json()["result"]
    assert {one, two} <= {m["prospect_id"] for m in v4["list_membership"]}
    dynamic = next(
        r["id"]
        for r in emulator.session.get(f"{emulator.url}/_emulator/records/list", params={"rows": 1}).json()[
            "rows"
        ]
        if r["is_dynamic"]
    )
    iid, rec = run(api, f"matchId,addToList\n20001,{dynamic}\n")
    assert rec["errorCount"] == 1


def test_imported_rows_are_exported(api, emulator):
    emulator.config(export_delay=0)
    add = static_lists(emulator, 1)[0]
    text = f"matchEmail,email,firstName,campaignId,addToList\nexp@example.com,exp@example.com,Ex,1001,{add}\n"
    run(api, text, createOnNoMatch=True)
    new_id = prospects(api, email="exp@example.com")[0]["id"]
    for obj, fields, column in (
        ("prospect", ["id", "email"], "updated"),
        ("listMembership", ["listId", "prospectId"], "created"),
    ):
        body = {
            "object": obj,
            "fields": fields,
            "procedure": {"name": f"filter_by_{column}_at", "arguments": {f"{column}_after": "today"}},
        }
        exp = api.s.post(f"{api.url}/api/v5/exports", json=body, headers=api.headers()).json()
        emulator.wait_export(exp["id"])
        files = emulator.export_files(exp["id"])
        text = "".join(requests.get(f["url"], headers=api.headers(), timeout=30).text for f in files)
        wanted = f"{new_id},exp@example.com" if obj == "prospect" else f"{add},{new_id}"
        assert wanted in text.splitlines()


def test_final_status_and_dry_runs(api, emulator):
    emulator.config(import_final_status="Failed")
    iid, rec = run(api, "matchId,firstName\n20001,Never\n")
    assert (rec["status"], rec["createdCount"]) == ("Failed", None)
    assert prospects(api, idList="20001")[0]["firstName"] != "Never"
    assert err(api.s.get(f"{api.url}{BASE}/{iid}/errors", headers=api.headers())) == (400, 109)
    emulator.config(import_final_status="Complete", import_apply_rows=False)
    iid, rec = run(api, "matchId,firstName\n20001,Never\n")
    assert (rec["status"], rec["updatedCount"]) == ("Complete", 1)
    assert prospects(api, idList="20001")[0]["firstName"] != "Never"
    iid = new_import(api)
    assert control(emulator, iid, status="Cancelled")["status"] == "Cancelled"
    assert status(api, iid) == "Cancelled"


def test_errors_download(api, emulator):
    iid = new_import(api)
    batch(api, iid, "matchId,firstName\nx,Bad\n")
    r = api.s.get(f"{api.url}{BASE}/{iid}/errors", headers=api.headers())
    assert err(r) == (400, 109)
    assert r.json()["message"].endswith("Import is not finished processing")
    submit(api, iid)
    finish(api, iid)
    rows = errors_csv(api, iid)
    assert rows == [
        {
            "matchId": "x",
            "firstName": "Bad",
            "errorType": "Invalid Prospect ID",
            "errorMessage": rows[0]["errorMessage"],
        }
    ]
    r = api.s.get(f"{api.url}{BASE}/{iid}/errors", headers=api.headers(), allow_redirects=False)
    assert requests.get(r.headers["Location"] + "x", timeout=30).status_code == 404
    control(emulator, iid, isExpired=True)
    assert err(api.s.get(f"{api.url}{BASE}/{iid}/errors", headers=api.headers())) == (400, 2)
    assert requests.get(r.headers["Location"], timeout=30).status_code == 404


# ---------------------------------------------------------------------------- faults and limits
def test_dropped_batch_and_submit_are_applied(api, emulator):
    iid = new_import(api)
    emulator.faults({"match": r"/imports/\d+/batches$", "method": "POST", "kind": "reset_after", "times": 1})
    with pytest.raises(requests.ConnectionError):
        batch(api, iid, "matchId,firstName\n20001,Once\n")
    assert (control(emulator, iid)["batches"], control(emulator, iid)["rows"]) == (1, 1)
    emulator.faults({"match": r"/imports/\d+/batches$", "kind": "reset_before", "times": 1})
    with pytest.raises(requests.ConnectionError):
        batch(api, iid, "matchId,firstName\n20001,Once\n")
    assert control(emulator, iid)["batches"] == 1
    emulator.faults({"match": r"/imports/\d+$", "method": "PATCH", "kind": "reset_after", "times": 1})
    with pytest.raises(requests.ConnectionError):
        submit(api, iid)
    assert status(api, iid) == "Waiting"
    assert err(submit(api, iid)) == (400, 155)
    assert [(i["id"], i["batches"]) for i in emulator.imports()] == [(iid, 1)]


def test_status_read_faults_are_not_polls(api, emulator):
    iid = new_import(api)
    batch(api, iid, "matchId,firstName\n20001,X\n")
    submit(api, iid)
    emulator.faults(
        {"match": r"/imports/\d+$", "method": "GET", "kind": "status", "status": 503, "times": 1},
        {"match": r"/imports/\d+$", "method": "GET", "kind": "error", "code": 66, "times": 1},
    )
    assert read(api, iid).status_code == 503
    assert err(read(api, iid)) == (429, 66)
    assert [status(api, iid) for _ in range(3)] == ["Waiting", "Processing", "Complete"]
    emulator.config(daily_used=emulator.state()["daily_limit"])
    assert err(read(api, iid)) == (429, 122)


def test_concurrency_limit_applies(api, emulator):
    iid = new_import(api)
    emulator.config(latency_ms=300, max_in_flight=0)
    with ThreadPoolExecutor(8) as pool:
        url, params = f"{api.url}{BASE}/{iid}", {"fields": "status"}
        codes = list(
            pool.map(
                lambda _: requests.get(url, params=params, headers=api.headers(), timeout=30).status_code,
                range(8),
            )
        )
    assert codes.count(429) >= 1
    assert codes.count(200) >= 1
    state = emulator.state()
    assert state["max_in_flight"] == 5
    assert state["max_attempted_in_flight"] > 5


def test_forced_complete_without_batches(api, emulator):
    iid = new_import(api)
    assert control(emulator, iid, status="Complete")["createdCount"] == 0
    assert errors_csv(api, iid) == []


def test_an_email_change_moves_the_match(api, emulator):
    one = emulator.records("prospect")[0]
    iid, rec = run(api, f"matchId,email\n{one},renamed@example.com\n")
    iid, rec = run(api, "matchEmail,firstName\nprospect1@example.com,Old\nrenamed@example.com,New\n")
    assert (rec["updatedCount"], rec["errorCount"]) == (1, 1)
    assert prospects(api, idList=str(one))[0]["firstName"] == "New"


def test_input_part_sent_as_a_file(api, emulator):
    files = {
        "input": ("input.json", json.dumps({**UPSERT, "status": "Ready"}), "application/json"),
        "file": ("a.csv", "matchId,company\n20001,Filed\n", "text/csv"),
    }
    r = api.s.post(api.url + BASE, files=files, headers=api.headers())
    assert r.status_code == 201, r.text
    assert finish(api, r.json()["id"])["updatedCount"] == 1


def test_the_request_log_keeps_a_batch_size_not_its_content(api, emulator):
    iid, text = new_import(api), "matchId,company\n20001,Secret Co\n"
    batch(api, iid, text)
    entry = next(e for e in emulator.requests() if e["path"].endswith("/batches"))
    assert entry["form"] == {"file": [f"<file 'batch.csv', {len(text)} bytes>"]}
    assert entry["status"] == 204
