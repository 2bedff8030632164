from __future__ import annotations

import xml.etree.ElementTree as ET

from emu_api import RECORDED, load_json

Q = "/api/list/version/4/do/query"


def recorded(name):
    return load_json(f"{RECORDED}/v4-json/{name}")


def test_zero_one_many_shapes(api):
    zero = api.get(Q, name="no such list").json()
    assert zero == recorded("list-query-0rows.json")["body"]
    one = api.get(Q, limit=1).json()
    assert one["result"]["total_results"] == 250
    assert isinstance(one["result"]["list"], dict)
    assert set(one["result"]["list"]) == set(recorded("list-query-1row.json")["body"]["result"]["list"])
    many = api.get(Q, limit=3).json()
    assert isinstance(many["result"]["list"], list)
    assert len(many["result"]["list"]) == 3
    # last page holding exactly one row is an object although total_results > 1
    last = api.get(Q, offset=249).json()["result"]
    assert last["total_results"] == 250
    assert isinstance(last["list"], dict)
    lm = api.get("/api/listMembership/version/4/do/query", limit=2, output="mobile").json()
    rec = recorded("listMembership-query-2rows.json")["body"]["result"]["list_membership"][0]
    assert set(lm["result"]["list_membership"][0]) == set(rec)


def test_recorded_headers(api):
    r = api.get(Q, limit=1)
    rec = recorded("list-query-1row.json")["headers"]
    for h in (
        "Server",
        "Content-Type",
        "Cache-Control",
        "Pragma",
        "Expires",
        "P3p",
        "Vary",
        "X-Pardot-Route",
        "X-Pardot-LB",
        "X-Pardot-Rsp",
        "Set-Cookie",
    ):
        assert h in r.headers
    assert r.headers["Server"] == rec["Server"] == "PardotServer"
    assert r.headers["Content-Type"] == "application/json"
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_xml_matches_json(api):
    js = api.get(Q, limit=2).json()["result"]
    root = ET.fromstring(api.get(Q, limit=2, format="xml").content)
    assert root.tag == "rsp"
    assert root.attrib == {"stat": "ok", "version": "1.0"}
    rows = root.findall("./result/list")
    assert root.findtext("./result/total_results") == str(js["total_results"])
    assert [int(r.findtext("id")) for r in rows] == [x["id"] for x in js["list"]]
    err = ET.fromstring(api.get(Q, sort_by="bogus", format="xml").content)
    assert err.attrib["stat"] == "fail"
    assert err.find("err").attrib["code"] == "19"


def test_paging_and_clamp(api, emulator):
    assert len(api.get(Q, limit=500).json()["result"]["list"]) == 200
    seen, last = [], 0
    while True:
        page = api.get(Q, id_greater_than=last, sort_by="id", sort_order="ascending", limit=200).json()[
            "result"
        ]
        rows = page.get("list", [])
        rows = [rows] if isinstance(rows, dict) else rows
        seen += [r["id"] for r in rows]
        if len(rows) < 200:
            break
        last = rows[-1]["id"]
    assert seen == emulator.records("list")
    mobile = api.get("/api/listMembership/version/4/do/query", output="mobile").json()["result"]
    assert len(mobile["list_membership"]) == mobile["total_results"] > 200
    bulk = api.get(Q, output="bulk", limit=5).json()["result"]
    assert "total_results" not in bulk
    assert len(bulk["list"]) == 5


def test_bulk_pages_hold_the_same_rows_as_full_pages(api, emulator):
    emulator.mutate("list", insert=5)
    for params in (
        {"sort_by": "id", "sort_order": "ascending", "limit": 7, "offset": 3},
        {"sort_by": "id", "sort_order": "descending", "limit": 7},
        {"sort_order": "descending", "limit": 4},
        {"created_after": "today"},
    ):
        full = api.get(Q, **params).json()["result"]
        bulk = api.get(Q, output="bulk", **params).json()["result"]
        assert "total_results" not in bulk
        assert bulk["list"] == full["list"], params
    assert api.get(Q, output="bulk", name="no such list").json()["result"] is None


def test_sorting_and_criteria(api, emulator):
    rows = api.get(Q, sort_by="created_at", limit=10).json()["result"]["list"]
    assert [r["created_at"] for r in rows] == sorted((r["created_at"] for r in rows), reverse=True)
    rows = api.get(Q, sort_by="name", sort_order="descending", limit=10).json()["result"]["list"]
    assert [r["name"] for r in rows] == sorted((r["name"] for r in rows), reverse=True)
    assert api.get(Q, created_after="today").json()["result"]["total_results"] == 0
    new = emulator.mutate("list", insert=3)["inserted"]
    res = api.get(Q, created_after="today").json()["result"]
    assert res["total_results"] == 3
    assert [r["id"] for r in res["list"]] == new
    assert (
        api.get(Q, created_after="2000-01-01T00:00:00+02:00", limit=1).json()["result"]["total_results"]
        == 253
    )
    lh = api.get("/api/lifecycleHistory/version/4/do/query", sort_by="created_at", limit=5).json()["result"]
    assert [r["created_at"] for r in lh["lifecycleHistory"]] == sorted(
        r["created_at"] for r in lh["lifecycleHistory"]
    )
    dc = api.get("/api/dynamicContent/version/4/do/query", limit=2).json()["result"]["dynamicContent"]
    assert {"embedCode", "embedUrl", "baseContent", "basedOn", "variation"} <= set(dc[0])


def test_query_errors(api):
    cases = {
        "sort_by": ("bogus", 19),
        "sort_order": ("up", 20),
        "offset": ("-1", 21),
        "limit": ("abc", 23),
        "created_after": ("not a date", 7),
        "id_greater_than": ("x", 16),
    }
    for param, (value, code) in cases.items():
        r = api.get(Q, **{param: value})
        assert r.status_code == 400, param
        assert r.json()["@attributes"] == {"stat": "fail", "version": 1, "err_code": code}, param
    r = api.get("/api/listMembership/version/4/do/query", deleted="maybe")
    assert r.json()["@attributes"]["err_code"] == 27


def test_list_membership_deleted(api, emulator):
    lm = "/api/listMembership/version/4/do/query"
    live = api.get(lm, limit=1).json()["result"]["total_results"]
    dead = api.get(lm, deleted="true", limit=1).json()["result"]["total_results"]
    both = api.get(lm, deleted="all", limit=1).json()["result"]["total_results"]
    assert dead > 0
    assert live + dead == both == 1000


def test_list_crud(api, emulator):
    r = api.post("/api/list/version/4/do/create", name="(test) High Value")
    assert r.status_code == 200
    lst = r.json()["list"]
    assert set(lst) == set(recorded("list-create.json")["body"]["list"])
    assert api.post("/api/list/version/4/do/create").json()["@attributes"]["err_code"] == 13
    r = api.post(f"/api/list/version/4/do/update/id/{lst['id']}", data={"title": "T", "is_public": "true"})
    assert r.json()["list"]["title"] == "T"
    assert r.json()["list"]["is_public"] is True
    r = api.get(f"/api/list/version/4/do/delete/id/{lst['id']}")
    assert r.json()["@attributes"]["err_code"] == 60
    r = api.post(f"/api/list/version/4/do/delete/id/{lst['id']}")
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert api.get(f"/api/list/version/4/do/read/id/{lst['id']}").json()["@attributes"]["err_code"] == 55
    assert api.post("/api/list/version/4/do/delete/id/1").json()["@attributes"]["err_code"] == 55


def test_reads(api, emulator):
    r = api.get("/api/prospect/version/4/do/read/email/grouparoo%40demo.com")
    rec = recorded("error-4-prospect-read-by-email-http400.json")
    assert r.status_code == rec["status"]
    assert r.json() == rec["body"]
    p = api.get("/api/prospect/version/4/do/read/email/prospect1%40example.com").json()["prospect"]
    assert p["email"] == "prospect1@example.com"
    assert api.get(f"/api/prospect/version/4/do/read/id/{p['id']}").json()["prospect"]["id"] == p["id"]
    assert api.get("/api/prospect/version/4/do/read/id/1").json()["@attributes"]["err_code"] == 3
    mobile = api.get("/api/prospect/version/4/do/query", output="mobile", limit=2).json()["result"][
        "prospect"
    ]
    assert set(mobile[0]) == {"id", "first_name", "last_name", "email", "company"}
    va = api.get("/api/visitorActivity/version/4/do/query", limit=2).json()["result"]["visitor_activity"]
    assert (
        api.get(f"/api/visitorActivity/version/4/do/read/id/{va[0]['id']}").json()["visitor_activity"]["id"]
        == va[0]["id"]
    )
    stages = api.get("/api/lifecycleStage/version/4/do/query").json()["result"]["lifecycleStage"]
    assert len(stages) == 5
    assert set(stages[0]) == {"id", "name", "position", "is_locked"}


def test_email_read_stats_and_templates(api):
    e = api.get("/api/email/version/4/do/read/id/60001").json()["email"]
    assert set(e["message"]) == {"text", "html"}
    e = api.get("/api/email/version/4/do/read/id/60001", include_message="0").json()["email"]
    assert "message" not in e
    assert e["id"] == 60001
    s = api.get("/api/email/version/4/do/stats/id/60001").json()["stats"]
    assert s["delivered"] == s["sent"] - s["soft_bounced"] - s["hard_bounced"]
    assert s["delivery_rate"] == f"{100 * s['delivered'] / s['sent']:.2f}%"
    assert s["opens_rate"].endswith("%")
    x = ET.fromstring(api.get("/api/email/version/4/do/stats/id/60001", format="xml").content)
    assert x.findtext("stats/delivery_rate") == s["delivery_rate"]
    t = api.get("/api/emailTemplate/version/4/do/listOneToOne").json()["emailTemplates"]
    assert t["error"] == 0
    assert t["count"] == len(t["templates"]) == 3
    ids = api.get("/api/emailTemplate/version/4/do/listOneToOne", archived="true").json()["emailTemplates"]
    archived = [x for x in ids["templates"] if x["isArchived"]]
    assert len(archived) == 1
    aid = archived[0]["id"]
    assert api.get(f"/api/emailTemplate/version/4/do/read/id/{aid}").json()["@attributes"]["err_code"] == 68
    tpl = api.get(f"/api/emailTemplate/version/4/do/read/id/{aid}", archived="true").json()["emailTemplate"]
    assert tpl["error"] == 0
    assert tpl["id"] == aid
    assert "%%unsubscribe%%" in tpl["textMessage"]


def test_routing_errors_and_client_styles(api, emulator):
    assert api.get("/api/nothing/version/4/do/query").json()["@attributes"]["err_code"] == 198
    assert api.get("/api/list/version/4/do/explode").json()["@attributes"]["err_code"] == 2
    assert api.get("/api/list/version/x/do/query").json()["@attributes"]["err_code"] == 94
    assert api.get("/api/list/version/5/do/query").json()["@attributes"]["err_code"] == 88
    assert api.get("/api/list/version/3/do/query", limit=1).json()["result"]["total_results"] == 250
    # Crim's Java client: /api/<object>/do/<op>/version/<v>, id as a form field, XML
    r = api.s.post(f"{emulator.url}/api/list/do/read/version/4", data={"id": "30001"}, headers=api.headers())
    assert ET.fromstring(r.content).findtext("list/id") == "30001"
    emulator.config(errors_http_200=True)
    r = api.get(Q, sort_by="bogus")
    assert r.status_code == 200
    assert r.json()["@attributes"]["stat"] == "fail"


def test_seed_and_records(api, emulator):
    emulator.seed(lists=20000)
    assert api.get(Q, limit=1).json()["result"]["total_results"] == 20000
    ids = emulator.records("list")
    assert len(ids) == 20000
    assert ids == sorted(ids)
    emulator.mutate("list", delete=ids[:2])
    assert api.get(Q, limit=1).json()["result"]["total_results"] == 19998
    emulator.reset()
    assert len(emulator.records("list")) == 250
