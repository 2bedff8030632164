"""The normaliser and error parser against real recorded Pardot responses (shared/pardot-docs/recorded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pardot.api.exports import normalise_export, normalise_export_list
from airflow_provider_pardot.client import responses
from airflow_provider_pardot.client.errors import error_from_response
from airflow_provider_pardot.exceptions import PardotApiError, PardotAuthError

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "pardot-docs" / "recorded"
pytestmark = pytest.mark.skipif(
    not RECORDED.is_dir(), reason="shared/pardot-docs/recorded is not beside the repo"
)


def _v4(name: str) -> tuple[int, bytes, str]:
    record = json.loads((RECORDED / "v4-json" / name).read_text())
    raw = b"" if record["body"] is None else json.dumps(record["body"]).encode()
    return record["status"], raw, record["headers"].get("Content-Type", "")


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("list-query-0rows.json", 0),
        ("list-query-1row.json", 1),
        ("listMembership-query-0rows.json", 0),
        ("listMembership-query-1row.json", 1),
        ("listMembership-query-2rows.json", 2),
    ],
)
def test_query_pages_are_always_lists(name, count):
    status, raw, _ = _v4(name)
    assert error_from_response(raw, status) is None
    object_name = "listMembership" if name.startswith("listMembership") else "list"
    rows = responses.query_rows(responses.parse_body(raw), object_name)
    assert isinstance(rows, list)
    assert len(rows) == count
    assert all(isinstance(r["id"], int) for r in rows)


def test_list_create_and_delete_shapes():
    status, raw, _ = _v4("list-create.json")
    created = responses.record(responses.parse_body(raw), "list")
    assert created["name"] == "(test) High Value"
    assert isinstance(created["id"], int)
    assert created["is_public"] is False
    status, raw, _ = _v4("list-delete-204.json")
    assert status == 204
    assert error_from_response(raw, status) is None
    assert responses.parse_body(raw) is None


def test_v4_json_error_with_http_400():
    status, raw, _ = _v4("error-4-prospect-read-by-email-http400.json")
    error = error_from_response(raw, status)
    assert isinstance(error, PardotApiError)
    assert error.code == 4
    assert error.http_status == 400
    assert "Invalid prospect email address" in error.message


def test_batch_failure_with_http_200_is_an_error():
    status, raw, _ = _v4("prospect-batchUpsert-partial-fail-http200.json")
    assert status == 200
    error = error_from_response(raw, status)
    assert error is not None
    assert "Invalid prospect email address" in error.message


@pytest.mark.parametrize(
    ("name", "code", "cls"),
    [
        ("error-184-invalid-access-token.xml", 184, PardotAuthError),
        ("error-15-login-failed.xml", 15, PardotAuthError),
        ("error-1-invalid-api-key.xml", 1, PardotAuthError),
    ],
)
def test_xml_errors(name, code, cls):
    raw = (RECORDED / "xml" / name).read_bytes()
    error = error_from_response(raw, 200)
    assert isinstance(error, cls)
    assert error.code == code


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("error-181-missing-business-unit-header.json", 181),
        ("error-13-missing-required-parameter.json", 13),
        ("error-109-delete-not-found.json", 109),
    ],
)
def test_v5_errors(name, code):
    raw = (RECORDED / "v5-json" / name).read_bytes()
    error = error_from_response(raw, 400)
    assert error is not None
    assert error.code == code


def test_v5_success_is_not_an_error():
    raw = (RECORDED / "v5-json" / "emails-read-1-first-page.json").read_bytes()
    assert error_from_response(raw, 200) is None


def test_xml_list_query_and_read_match_json_values():
    rows = responses.query_rows(
        responses.parse_body((RECORDED / "xml" / "list-query-2rows.xml").read_bytes()), "list"
    )
    assert [r["id"] for r in rows] == [839, 33173]
    assert rows[0]["is_public"] is True
    assert rows[1]["title"] is None
    one = responses.record(responses.parse_body((RECORDED / "xml" / "list-read.xml").read_bytes()), "list")
    assert one["id"] == 33173
    assert one["description"] is None


def test_xml_keeps_zip_codes_as_text():
    rows = responses.query_rows(
        responses.parse_body((RECORDED / "xml" / "prospect-query-2rows.xml").read_bytes()), "prospect"
    )
    assert rows[0]["zip"].strip() == "02190"


def test_xml_stats_rates_become_numbers():
    stats = responses.parse_body((RECORDED / "xml" / "email-stats.xml").read_bytes())["stats"]
    numbers = {k: responses.to_number(v) for k, v in stats.items()}
    assert numbers["sent"] == 1024
    assert numbers["delivery_rate"] == pytest.approx(98.42)
    assert isinstance(numbers["opens_rate"], float)


def test_xml_one_to_one_templates_and_dynamic_content_variations():
    body = responses.parse_body((RECORDED / "xml" / "emailTemplate-listOneToOne.xml").read_bytes())
    templates = responses.as_list(body["emailTemplates"]["templates"])
    assert [t["id"] for t in templates] == [1, 11]
    dc = responses.record(
        responses.parse_body((RECORDED / "xml" / "dynamicContent-read.xml").read_bytes()), "dynamicContent"
    )
    assert len(responses.as_list(dc["variation"])) == 2


@pytest.mark.parametrize(
    ("body", "refs"),
    [
        (
            {"export": {"id": 1, "state": "Complete", "isExpired": False, "resultRefs": "https://h/a"}},
            ["https://h/a"],
        ),
        (
            {"export": {"id": 1, "state": "Complete", "isExpired": False, "resultRefs": ["u1", "u2"]}},
            ["u1", "u2"],
        ),
        ({"export": {"id": 1, "state": "Waiting", "isExpired": False}}, []),
        ({"id": 1, "status": "Complete", "isExpired": False, "resultRefs": None}, []),
    ],
)
def test_export_shapes(body, refs):
    export = normalise_export(body)
    assert export["resultRefs"] == refs
    assert export["state"] in ("Complete", "Waiting")
    assert set(export) == {"id", "state", "isExpired", "resultRefs", "createdAt", "updatedAt"}


def test_export_query_shapes():
    assert normalise_export_list({"result": {"total_results": 0}}) == []
    assert (
        len(normalise_export_list({"result": {"total_results": 1, "export": {"id": 3, "state": "Waiting"}}}))
        == 1
    )
    assert (
        len(
            normalise_export_list(
                {"values": [{"id": 1, "status": "Complete"}, {"id": 2, "status": "Failed"}]}
            )
        )
        == 2
    )
