"""The routing table: documented row by row, and the path rules it applies."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_pardot.emulator.routes import ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def test_every_route_has_a_line_in_the_docs():
    doc = DOC.read_text(encoding="utf-8")
    for r in ROUTES:
        line = f"| {' '.join(r.methods)} | `{r.pattern}` | {r.summary.replace('|', chr(92) + '|')}"
        assert line in doc, f"docs/emulator.md has no line for {r.methods} {r.pattern}"


def test_no_two_routes_take_the_same_request():
    seen = set()
    for r in ROUTES:
        for m in r.methods:
            key = (m, r.pattern, tuple(sorted((k, tuple(sorted(v))) for k, v in r.where.items())))
            assert key not in seen
            seen.add(key)


def err(r):
    return r.json()["@attributes"]["err_code"]


def test_v4_path_forms(api, emulator):
    # ruby-pardot's bare id, Crim's order, any case of the object name
    lst = emulator.records("list")[0]
    assert api.post(f"/api/list/version/4/do/update/{lst}", data={"title": "T"}).json()["list"]["id"] == lst
    assert api.get(f"/api/list/do/read/version/4/id/{lst}").json()["list"]["id"] == lst
    assert api.get(f"/api/LIST/version/4/do/read/id/{lst}").json()["list"]["id"] == lst
    assert api.get("/api/list/do/query", limit=1).json()["result"]["total_results"] == 250
    assert api.s.head(f"{emulator.url}/api/list/version/4/do/query", headers=api.headers()).status_code == 200


def test_v4_path_errors(api, emulator):
    assert err(api.get("/api/list/version/4")) == 2  # no operation
    assert err(api.get("/api/list/version/4/do/explode")) == 2
    assert err(api.get("/api/nothing/version/4/do/query")) == 198
    r = api.get("/api/list/version/4/do/create", name="x")
    assert (err(r), r.json()["err"]) == (60, "Invalid HTTP request method: Use method POST")
    assert api.s.put(f"{emulator.url}/api/list/version/4/do/query", headers=api.headers()).status_code == 400
    # unknown object before authentication; unknown operation after it
    assert err(api.get("/api/nothing/version/4/do/query", headers={"Accept": "*/*"})) == 198
    assert err(api.get("/api/list/version/4/do/explode", headers={"Accept": "*/*"})) == 184


def test_v5_and_other_path_errors(api, emulator):
    r = api.s.delete(f"{emulator.url}/api/v5/exports", headers=api.headers())
    assert (r.status_code, r.json()["code"]) == (405, 60)
    r = api.s.get(f"{emulator.url}/api/v5/nothing", headers=api.headers())
    assert (r.status_code, r.json()["code"]) == (404, 198)
    assert api.s.get(f"{emulator.url}/api/v5/nothing").json()["code"] == 184
    assert api.s.get(f"{emulator.url}/nothing").status_code == 404
    assert api.s.get(f"{emulator.url}/list/read/id/x").status_code == 404
    assert api.s.get(f"{emulator.url}/list/read/id/7").status_code == 200
    r = api.s.get(f"{emulator.url}/_emulator/nothing")
    assert r.status_code == 404
    assert "unknown control endpoint" in r.json()["error"]
    r = api.s.get(f"{emulator.url}/services/oauth2/token")
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")
