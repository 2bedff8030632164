from __future__ import annotations

import threading

import requests

Q = "/api/list/version/4/do/query"


def test_concurrency_limit(api, emulator):
    emulator.faults({"match": "/api/list/", "kind": "delay", "seconds": 1.0})
    results = []
    barrier = threading.Barrier(6)

    def call():
        barrier.wait()
        r = requests.get(
            api.url + Q, params={"format": "json", "limit": 1}, headers=api.headers(), timeout=30
        )
        results.append(r)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rejected = [r for r in results if r.status_code == 429]
    assert len(rejected) == 1
    assert rejected[0].json()["@attributes"]["err_code"] == 66
    assert (
        rejected[0].json()["err"]
        == "You have exceeded your concurrent request limit.  Please wait, before trying again"
    )
    st = emulator.state()
    assert st["max_in_flight"] == 5
    assert st["in_flight"] == 0
    assert st["errors"]["66"] == 1


def test_daily_limit_and_usage_header(api, emulator):
    emulator.config(daily_limit=3)
    r = api.get(Q, limit=1, headers=api.headers(**{"X-Return-Api-Usage": "1"}))
    assert r.headers["x-api-usage"] == "1/3"
    api.get(Q, limit=1)
    api.get(Q, limit=1)
    r = api.get(Q, limit=1)
    assert r.status_code == 429
    assert r.json() == {
        "@attributes": {"stat": "fail", "version": 1, "err_code": 122},
        "err": "Daily API rate limit met.",
    }
    r = api.get(Q, format="xml")
    assert '<err code="122">Daily API rate limit met.</err>' in r.text
    r = api.get("/api/v5/exports")
    assert r.status_code == 429
    assert r.json() == {"code": 122, "message": "Daily API rate limit met."}
    # token endpoint and control API are not counted
    api.login()
    st = emulator.state()
    assert st["daily_used"] == 3
    assert st["requests"] == 6
    emulator.config(daily_used=0, daily_limit=100)
    r = api.get(Q, limit=1, headers=api.headers(**{"X-Return-Api-Usage": "true"}))
    assert r.status_code == 200
    assert r.headers["x-api-usage"] == "1/100"
    assert "x-api-usage" not in api.get(Q, limit=1).headers


def test_a_request_that_outlives_a_reset_is_forgotten(api, emulator):
    """A reset between tests forgets a request still being served (a client gave up on it): it no
    longer holds one of the five slots, and when it ends the count of requests in flight stays at
    zero, not below it (which would let one request too many through the limit)."""
    emulator.config(latency_ms=500)
    late = threading.Thread(target=lambda: api.get(Q, limit=1))
    late.start()
    for _ in range(200):
        if emulator.state()["in_flight"] == 1:
            break
        threading.Event().wait(0.01)
    assert emulator.state()["in_flight"] == 1
    emulator.reset()
    assert emulator.state()["in_flight"] == 0
    late.join()
    assert emulator.state()["in_flight"] == 0
