from __future__ import annotations

import time

import pytest
import requests

Q = "/api/list/version/4/do/query"


def test_status_fault_times_and_skip(api, emulator):
    emulator.faults({"match": "/api/list/", "kind": "status", "status": 503, "times": 2, "skip": 1})
    assert api.get(Q, limit=1).status_code == 200  # skipped
    for _ in range(2):
        r = api.get(Q, limit=1)
        assert r.status_code == 503
        assert r.headers["Content-Type"] == "text/html"
        assert b"503" in r.content
    assert api.get(Q, limit=1).status_code == 200  # budget spent
    assert emulator.state()["faults_injected"] == 2


def test_error_fault_shapes(api, emulator):
    emulator.faults({"match": "/api/", "kind": "error", "code": 66, "times": 3})
    r = api.get(Q)
    assert r.status_code == 429
    assert r.json()["@attributes"]["err_code"] == 66
    assert '<err code="66">' in api.get(Q, format="xml").text
    r = api.s.get(api.url + "/api/v5/exports", headers=api.headers())
    assert r.json()["code"] == 66
    emulator.faults({"match": "/api/", "kind": "error", "code": 184, "times": 1})
    assert api.get(Q).status_code == 401


def test_reset_before_has_no_side_effects(api, emulator):
    before = len(emulator.records("list"))
    emulator.faults({"match": "/do/create", "kind": "reset_before", "times": 1})
    with pytest.raises(requests.ConnectionError):
        api.post("/api/list/version/4/do/create", name="x")
    assert len(emulator.records("list")) == before
    assert api.post("/api/list/version/4/do/create", name="x").status_code == 200


def test_reset_after_has_side_effects(api, emulator):
    lst = str(emulator.records("list")[0])
    emulator.faults({"match": "/do/send", "method": "POST", "kind": "reset_after", "times": 1})
    with pytest.raises(requests.ConnectionError):
        api.post(
            "/api/email/version/4/do/send",
            data={"campaign_id": "1", "email_template_id": "101", "list_ids[]": lst},
        )
    assert len(emulator.state()["sends"]) == 1


def test_delay_and_probability(api, emulator):
    emulator.faults({"match": "/api/list/", "kind": "delay", "seconds": 0.4, "times": 1})
    t = time.monotonic()
    assert api.get(Q, limit=1).status_code == 200
    assert time.monotonic() - t >= 0.4
    emulator.faults({"match": "/api/list/", "kind": "status", "status": 502, "probability": 0.5})
    codes = [api.get(Q, limit=1).status_code for _ in range(40)]
    assert 5 < codes.count(502) < 35


def _export(api, emulator):
    emulator.config(export_delay=0, export_rows=3000, export_file_max_rows=5000)
    body = {
        "object": "listMembership",
        "procedure": {"name": "filter_by_created_at", "arguments": {"created_after": "last_month"}},
    }
    eid = api.s.post(api.url + "/api/v5/exports", json=body, headers=api.headers()).json()["id"]
    emulator.wait_export(eid)
    return emulator.export_files(eid)[0]


def test_truncate_and_throttle(api, emulator):
    info = _export(api, emulator)
    emulator.faults({"match": "/results/", "kind": "truncate", "after_bytes": 1000, "times": 1})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        _ = api.s.get(info["url"], headers=api.headers()).content
    r = api.s.get(info["url"], headers=api.headers(Range="bytes=1000-"))
    assert r.status_code == 206
    assert len(r.content) == info["bytes"] - 1000
    emulator.faults(
        {"match": "/results/", "kind": "throttle", "bytes_per_second": info["bytes"] * 2, "times": 1}
    )
    t = time.monotonic()
    r = api.s.get(info["url"], headers=api.headers())
    assert len(r.content) == info["bytes"]
    assert time.monotonic() - t >= 0.4
    emulator.clear_faults()
    assert emulator.state()["faults_injected"] == 2
