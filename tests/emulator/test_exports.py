from __future__ import annotations

import csv
import hashlib
import io
import json

import requests

CREATE = "/api/export/version/4/do/create"
VA = {
    "object": "visitorActivity",
    "fields": ["id", "prospect_id", "type_name", "details", "created_at"],
    "procedure": {
        "name": "filter_by_created_at",
        "arguments": {"created_after": "2024-01-01 00:00:00", "created_before": "2024-06-30 00:00:00"},
    },
}


def create(api, body, **params):
    return api.s.post(
        api.url + CREATE,
        params={"format": "json", **params},
        data=json.dumps(body),
        headers=api.headers(**{"Content-Type": "application/json"}),
    )


def read(api, eid):
    return api.get(f"/api/export/version/4/do/read/id/{eid}").json()["export"]


def test_v4_lifecycle_and_download(api, emulator):
    emulator.config(export_delay=0.05)
    r = create(api, VA)
    assert r.status_code == 200
    exp = r.json()["export"]
    assert r.json()["@attributes"] == {"stat": "ok", "version": 1}
    assert exp["state"] == "Waiting"
    assert exp["isExpired"] is False
    assert "resultRefs" not in exp
    emulator.wait_export(exp["id"])
    exp = read(api, exp["id"])
    refs = exp["resultRefs"]
    assert isinstance(refs, list)
    assert len(refs) == 3
    files = emulator.export_files(exp["id"])
    assert [f["url"] for f in files] == refs
    total = 0
    for ref, info in zip(refs, files, strict=False):
        assert (
            ref
            == f"{emulator.url}/api/export/version/4/do/downloadResults/id/{exp['id']}/file/{info['index']}"
        )
        r = api.s.get(ref, headers=api.headers())
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/csv"
        assert hashlib.sha256(r.content).hexdigest() == info["sha256"]
        assert not r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(r.content.decode())))
        assert rows[0] == VA["fields"]
        assert len(rows) - 1 == info["rows"]
        for row in rows[1:]:
            assert "2024-01-01 00:00:00" < row[4] < "2024-06-30 00:00:00"
        total += info["rows"]
    assert total == 2500
    # quoting is exercised somewhere
    first = api.s.get(refs[0], headers=api.headers()).text
    assert '"' in first
    # downloads need auth
    assert requests.get(refs[0]).status_code == 401


def test_result_refs_string_and_absent(api, emulator):
    emulator.config(export_delay=0, export_rows=10)
    e1 = create(api, VA).json()["export"]["id"]
    emulator.wait_export(e1)
    assert isinstance(read(api, e1)["resultRefs"], str)
    future = dict(
        VA, procedure={"name": "filter_by_created_at", "arguments": {"created_after": "2099-01-01"}}
    )
    e2 = create(api, future).json()["export"]["id"]
    emulator.wait_export(e2)
    assert "resultRefs" not in read(api, e2)
    q = api.get("/api/export/version/4/do/query").json()["result"]
    assert q["total_results"] == 2
    assert [e["id"] for e in q["export"]] == [e2, e1]
    assert all("resultRefs" not in e for e in q["export"])
    one = api.get("/api/export/version/4/do/query", sort_order="ascending", limit=1).json()["result"]
    assert isinstance(one["export"], dict)
    assert one["export"]["id"] == e1
    assert "export" not in api.get("/api/export/version/4/do/query", status="Failed").json()["result"]


def test_validation_errors(api, emulator):
    def code(body, **kw):
        r = create(api, body, **kw)
        assert r.status_code == 400, r.text
        return r.json()["@attributes"]["err_code"]

    proc = VA["procedure"]
    assert code(dict(VA, procedure={"name": "filter_by_magic", "arguments": {}})) == 174
    assert (
        code(dict(VA, procedure={"name": proc["name"], "arguments": {**proc["arguments"], "colour": 1}}))
        == 175
    )
    assert (
        code(dict(VA, procedure={"name": proc["name"], "arguments": {"created_before": "2024-01-01"}})) == 176
    )
    assert (
        code(
            dict(
                VA,
                procedure={
                    "name": proc["name"],
                    "arguments": {"created_after": "2024-06-01", "created_before": "2024-01-01"},
                },
            )
        )
        == 177
    )
    assert (
        code(
            dict(
                VA,
                procedure={
                    "name": proc["name"],
                    "arguments": {"created_after": "2022-01-01", "created_before": "2024-01-01"},
                },
            )
        )
        == 177
    )
    assert (
        code(dict(VA, procedure={"name": proc["name"], "arguments": {"created_after": "2019-01-01"}})) == 177
    )
    assert code(dict(VA, procedure={"name": proc["name"], "arguments": {"created_after": "garbage"}})) == 177
    assert code(dict(VA, fields=["id", "nope"])) == 130
    assert code(dict(VA, fields=["id"] * 151)) == 130
    assert (
        code(
            {
                "object": "prospect",
                "fields": ["id", "grade"],
                "procedure": {"name": "filter_by_updated_at", "arguments": {"updated_after": "last_month"}},
            }
        )
        == 130
    )
    assert (
        code(
            {
                "object": "prospect",
                "procedure": {
                    "name": "filter_by_updated_at",
                    "arguments": {"updated_after": "last_month", "deleted": "true"},
                },
            }
        )
        == 177
    )
    assert (
        code(
            {
                "object": "listMembership",
                "procedure": {
                    "name": "filter_by_updated_at",
                    "arguments": {"updated_after": "last_month", "deleted": "x"},
                },
            }
        )
        == 177
    )
    r = api.s.post(
        api.url + CREATE,
        params={"format": "json"},
        data="{not json",
        headers=api.headers(**{"Content-Type": "application/json"}),
    )
    assert r.json()["@attributes"]["err_code"] == 150
    r = api.s.post(
        api.url + CREATE,
        params={"format": "json"},
        data="<x/>",
        headers=api.headers(**{"Content-Type": "text/xml"}),
    )
    assert r.json()["@attributes"]["err_code"] == 151
    # form-encoded bodies are accepted too
    r = api.post(
        CREATE,
        data={
            "object": "visitorActivity",
            "fields": "id,created_at",
            "procedure": json.dumps(VA["procedure"]),
        },
    )
    assert r.status_code == 200
    assert r.json()["export"]["state"] == "Waiting"


def test_expiry_and_cancel(api, emulator):
    emulator.config(export_delay=0, export_rows=5)
    eid = create(api, VA).json()["export"]["id"]
    emulator.wait_export(eid)
    ref = read(api, eid)["resultRefs"]
    emulator.set_export(eid, isExpired=True)
    exp = read(api, eid)
    assert exp["isExpired"] is True
    assert "resultRefs" not in exp
    r = api.s.get(ref, params={"format": "json"}, headers=api.headers())
    assert r.status_code == 400
    assert r.json()["@attributes"]["err_code"] == 178
    cancel = "/api/export/version/4/do/cancel/id/{}"
    assert api.post(cancel.format(eid)).json()["@attributes"]["err_code"] == 178
    emulator.config(export_delay=30)
    e2 = create(api, VA).json()["export"]["id"]
    r = api.post(cancel.format(e2))
    assert r.json()["export"]["state"] == "Canceled"
    # time-based expiry
    emulator.config(export_delay=0, export_expiry_seconds=0.5)
    e3 = create(api, VA).json()["export"]["id"]
    emulator.wait_export(e3)
    import time

    time.sleep(0.6)
    assert read(api, e3)["isExpired"] is True


def test_forced_states(api, emulator):
    emulator.config(export_delay=30)
    eid = create(api, VA).json()["export"]["id"]
    emulator.set_export(eid, state="Processing")
    assert read(api, eid)["state"] == "Processing"
    emulator.set_export(eid, state="Failed")
    assert read(api, eid)["state"] == "Failed"
    emulator.set_export(eid, state="Complete")
    assert len(read(api, eid)["resultRefs"]) == 3
    assert api.get("/api/export/version/4/do/read/id/999999").status_code == 404


def test_v5_exports(api, emulator):
    emulator.config(export_delay=0, export_rows=1500)
    body = dict(VA, includeByteOrderMark=True, maxFileSizeBytes=1 << 20)
    r = api.s.post(api.url + "/api/v5/exports", json=body, headers=api.headers())
    assert r.status_code == 201, r.text
    exp = r.json()
    assert "@attributes" not in exp
    assert exp["status"] == "Waiting"
    assert exp["fields"] == VA["fields"]
    assert exp["createdAt"].endswith("+00:00")
    assert "T" in exp["createdAt"]
    emulator.wait_export(exp["id"])
    exp = api.s.get(f"{api.url}/api/v5/exports/{exp['id']}", headers=api.headers()).json()
    assert exp["status"] == "Complete"
    assert isinstance(exp["resultRefs"], list)
    assert len(exp["resultRefs"]) == 2
    assert exp["resultRefs"][0] == f"{emulator.url}/api/v5/exports/{exp['id']}/results/1"
    data = api.s.get(exp["resultRefs"][0], headers=api.headers()).content
    assert data.startswith(b"\xef\xbb\xbf")
    lst = api.s.get(f"{api.url}/api/v5/exports", headers=api.headers()).json()
    assert lst["nextPageToken"] is None
    assert [e["id"] for e in lst["values"]] == [exp["id"]]
    r = api.s.post(f"{api.url}/api/v5/exports/{exp['id']}/do/cancel", headers=api.headers())
    assert r.status_code == 400
    assert r.json()["code"] == 178
    r = api.s.get(f"{api.url}/api/v5/exports/424242", headers=api.headers())
    assert r.status_code == 404
    assert r.json() == {"code": 109, "message": "The requested record was not found."}
    emulator.config(export_delay=30)
    e2 = api.s.post(api.url + "/api/v5/exports", json=VA, headers=api.headers()).json()["id"]
    r = api.s.post(f"{api.url}/api/v5/exports/{e2}/do/cancel", headers=api.headers())
    assert r.status_code == 200
    assert r.json()["status"] == "Canceled"
    r = api.s.post(api.url + "/api/v5/exports", json=dict(VA, object="nope"), headers=api.headers())
    assert r.status_code == 400
    assert set(r.json()) == {"code", "message"}


def test_one_at_a_time_oldest_first(api, emulator):
    emulator.config(export_delay=0.3, export_rows=10)
    ids = [create(api, VA).json()["export"]["id"] for _ in range(3)]
    emulator.wait_export(ids[0], "Processing", timeout=5)
    states = [read(api, i)["state"] for i in ids]
    assert states == ["Processing", "Waiting", "Waiting"]
    emulator.wait_export(ids[2], "Complete", timeout=10)
