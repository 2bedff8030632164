"""PardotHook.query_exports against the emulator: the v5 and v3/v4 paths, filters, and 0/1/many rows."""

from __future__ import annotations

import pytest

from airflow_provider_pardot.hooks.pardot import PardotHook

RANGE = {"created_after": "2026-01-01 00:00:00", "created_before": "2026-02-01 00:00:00"}
UPDATED = {"updated_after": "2026-01-01 00:00:00", "updated_before": "2026-02-01 00:00:00"}


@pytest.fixture(params=[5, 4, 3], ids=["v5", "v4", "v3"])
def version(request):
    return request.param


@pytest.fixture
def exports_hook(make_conn, version):
    return PardotHook(pardot_conn_id=make_conn(export_api_version=version))


def query_paths(emulator):
    return [r for r in emulator.requests() if r["method"] == "GET" and "export" in r["path"]]


def test_no_exports_is_an_empty_list(emulator, exports_hook, version):
    assert exports_hook.query_exports() == []
    (req,) = query_paths(emulator)
    if version == 5:
        assert req["path"] == "/api/v5/exports"
    else:
        assert req["path"] == f"/api/export/version/{version}/do/query"
        assert req["query"]["format"] == ["json"]


def test_one_and_many_exports_normalised(emulator, exports_hook):
    first = exports_hook.create_export("visitorActivity", "filter_by_created_at", RANGE)
    (only,) = exports_hook.query_exports()
    assert only["id"] == first["id"]
    assert set(only) >= {"id", "state", "isExpired", "resultRefs", "createdAt", "updatedAt"}
    assert isinstance(only["resultRefs"], list)
    second = exports_hook.create_export("prospect", "filter_by_updated_at", UPDATED)
    rows = exports_hook.query_exports()
    assert [r["id"] for r in rows] == [second["id"], first["id"]]  # Pardot's default: newest first


def test_filters_reach_pardot(emulator, exports_hook, version):
    activity = exports_hook.create_export("visitorActivity", "filter_by_created_at", RANGE)
    prospect = exports_hook.create_export("prospect", "filter_by_updated_at", UPDATED)
    emulator.set_export(prospect["id"], state="Failed")
    assert [r["id"] for r in exports_hook.query_exports(object="visitorActivity")] == [activity["id"]]
    failed = exports_hook.query_exports(status="Failed")
    assert [(r["id"], r["state"]) for r in failed] == [(prospect["id"], "Failed")]
    ascending = exports_hook.query_exports(sort_by="id", sort_order="ascending")
    assert [r["id"] for r in ascending] == [activity["id"], prospect["id"]]
    last = query_paths(emulator)[-1]
    assert last["query"]["sort_order"] == ["ascending"]
    assert ("format" in last["query"]) is (version != 5)
