"""PardotHook over real HTTP against the local Pardot emulator."""

from __future__ import annotations

import threading

import pytest
from identities import BUSINESS_UNIT_ID, CLIENT_SECRET, PASSWORD, REFRESH_TOKEN, USERNAME

from airflow_provider_pardot.exceptions import (
    PardotAmbiguousSendError,
    PardotApiError,
    PardotAuthError,
    PardotRateLimitError,
    PardotValidationError,
)
from airflow_provider_pardot.hooks.pardot import PardotHook


def api_requests(emulator, since=0):
    return [r for r in emulator.requests(since) if r["path"].startswith("/api/")]


def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TestAuthentication:
    @pytest.mark.parametrize(
        ("extra", "login", "password"),
        [
            ({"auth_type": "client_credentials"}, None, None),
            ({"auth_type": "password"}, USERNAME, PASSWORD),
            ({"auth_type": "refresh_token", "refresh_token": REFRESH_TOKEN}, None, None),
            ({"auth_type": None}, USERNAME, PASSWORD),
        ],
    )
    def test_each_flow_sends_bearer_and_business_unit(self, emulator, make_conn, extra, login, password):
        hook = PardotHook(pardot_conn_id=make_conn(login=login, password=password, **extra))
        record = hook.read("list", emulator.records("list")[0])
        assert record["id"] == emulator.records("list")[0]
        (req,) = api_requests(emulator)
        assert req["has_authorization"]
        assert req["business_unit_id"] == BUSINESS_UNIT_ID or req.get("has_business_unit")

    def test_jwt_bearer(self, emulator, make_conn):
        hook = PardotHook(
            pardot_conn_id=make_conn(auth_type="jwt_bearer", password=None, private_key=rsa_pem())
        )
        assert list(hook.query("list", max_records=3))
        assert emulator.state()["tokens_issued"] == 1

    def test_access_token_flow_cannot_refresh(self, emulator, make_conn):
        hook = PardotHook(pardot_conn_id=make_conn(auth_type="access_token", access_token="not-a-real-token"))
        with pytest.raises(PardotAuthError, match="cannot fetch a new one") as err:
            hook.read("list", 1)
        assert "not-a-real-token" not in str(err.value)

    def test_token_cached_and_refreshed_once_on_184(self, emulator, hook):
        ids = emulator.records("list")
        hook.read("list", ids[0])
        hook.read("list", ids[1])
        assert emulator.state()["tokens_issued"] == 1
        emulator.expire_tokens()
        assert hook.read("list", ids[2])["id"] == ids[2]
        state = emulator.state()
        assert state["tokens_issued"] == 2
        assert state["errors"].get("184") == 1

    def test_184_with_http_400_still_refreshes(self, emulator, hook):
        emulator.config(status_184=400)
        hook.read("list", emulator.records("list")[0])
        emulator.expire_tokens()
        hook.read("list", emulator.records("list")[0])
        assert emulator.state()["tokens_issued"] == 2

    def test_persistent_184_raises_auth_error(self, emulator, hook):
        emulator.faults({"match": r"^/api/", "kind": "error", "code": 184})
        with pytest.raises(PardotAuthError) as err:
            hook.read("list", 1)
        assert err.value.code == 184
        assert emulator.state()["tokens_issued"] == 2  # first token, one refresh, then give up

    def test_strict_auth_bad_password(self, emulator, make_conn):
        emulator.config(strict_auth=True)
        hook = PardotHook(pardot_conn_id=make_conn(password="wrong-password-xyz"))
        with pytest.raises(PardotAuthError, match="Salesforce refused the token request") as err:
            hook.read("list", 1)
        assert "wrong-password-xyz" not in str(err.value)
        assert api_requests(emulator) == []

    def test_strict_auth_unknown_business_unit(self, emulator, make_conn):
        emulator.config(strict_auth=True)
        hook = PardotHook(pardot_conn_id=make_conn(business_unit_id="0Uv999999999999AAA"))
        with pytest.raises(PardotAuthError) as err:
            hook.read("list", emulator.records("list")[0])
        assert err.value.code == 201

    def test_no_secret_in_any_url(self, emulator, hook):
        list(hook.query("list", max_records=250))
        for req in emulator.requests():
            text = f"{req['path']}?{req.get('query', '')}"
            for secret in (PASSWORD, CLIENT_SECRET, REFRESH_TOKEN):
                assert secret not in text
            assert "access_token" not in text

    def test_bad_connection_refused_before_any_request(self, emulator, make_conn):
        hook = PardotHook(pardot_conn_id=make_conn(business_unit_id="0Uv12"))
        with pytest.raises(PardotValidationError, match="18 characters"):
            hook.read("list", 1)
        assert emulator.requests() == []


class TestQuery:
    def test_every_record_exactly_once(self, emulator, hook):
        emulator.seed(lists=450)
        expected = emulator.records("list")
        got = [r["id"] for r in hook.query("list")]
        assert got == sorted(expected)
        assert len(got) == 450
        assert hook.request_count == 3  # 200 + 200 + 50

    def test_records_added_and_changed_between_pages(self, emulator, hook):
        emulator.seed(lists=450)
        before = set(emulator.records("list"))
        seen = []
        for i, row in enumerate(hook.query("list")):
            seen.append(row["id"])
            if i == 10:
                emulator.mutate("list", update=sorted(before)[:50] + sorted(before)[300:320], insert=7)
        after = set(emulator.records("list"))
        assert len(seen) == len(set(seen))
        assert set(seen) == after
        assert len(after) == 457

    def test_single_and_empty_results(self, emulator, hook):
        first = hook.read("list", emulator.records("list")[0])
        assert [r["id"] for r in hook.query("list", name=first["name"])] == [first["id"]]
        assert list(hook.query("list", name="no such list, surely")) == []

    def test_criteria_and_sorting(self, emulator, hook):
        ids = sorted(emulator.records("list"))
        rows = list(hook.query("list", id_greater_than=ids[9], id_less_than=ids[20]))
        assert [r["id"] for r in rows] == ids[10:20]
        desc = [r["id"] for r in hook.query("list", sort_by="id", sort_order="descending", max_records=5)]
        assert desc == sorted(ids, reverse=True)[:5]
        by_name = [r["name"] for r in hook.query("list", sort_by="name", max_records=300)]
        assert by_name == sorted(by_name)

    def test_pages_ask_for_bulk_output_unless_told(self, emulator, hook):
        emulator.seed(lists=250)
        assert len(list(hook.query("list"))) == 250
        pages = [r for r in emulator.requests() if r["path"].endswith("/do/query")]
        assert len(pages) == 2
        assert all(r["query"]["output"] == ["bulk"] for r in pages)
        since = len(emulator.requests())
        full = list(hook.query("list", output="full", max_records=5))
        assert len(full) == 5
        (page,) = [r for r in emulator.requests(since) if r["path"].endswith("/do/query")]
        assert page["query"]["output"] == ["full"]

    def test_bad_criteria_send_nothing(self, emulator, hook):
        with pytest.raises(PardotValidationError, match="not a query criterion"):
            list(hook.query("list", colour="red"))
        assert emulator.requests() == []

    def test_other_objects(self, emulator, hook):
        for obj in ("dynamicContent", "lifecycleHistory", "listMembership"):
            rows = list(hook.query(obj, max_records=5))
            assert rows, obj
            assert hook.read(obj, rows[0]["id"])["id"] == rows[0]["id"]


class TestErrorsAndRetries:
    def test_66_on_a_read_is_retried(self, emulator, hook):
        emulator.faults({"match": r"/do/read/", "kind": "error", "code": 66, "times": 2})
        rid = emulator.records("list")[0]
        assert hook.read("list", rid)["id"] == rid
        assert len(api_requests(emulator)) == 3

    def test_persistent_66_gives_up_with_rate_limit_error(self, emulator, hook):
        emulator.faults({"match": r"/do/read/", "kind": "error", "code": 66})
        with pytest.raises(PardotRateLimitError) as err:
            hook.read("list", 1)
        assert err.value.code == 66
        assert len(api_requests(emulator)) == 4  # 1 + max_retries

    def test_122_raises_at_once(self, emulator, hook):
        emulator.config(daily_limit=10, daily_used=10)
        with pytest.raises(PardotRateLimitError, match="daily API limit is spent"):
            hook.read("list", 1)
        assert len(api_requests(emulator)) == 1

    @pytest.mark.parametrize("kind", ["status", "reset_before", "delay"])
    def test_reads_survive_transient_failures(self, emulator, make_conn, kind):
        hook = PardotHook(pardot_conn_id=make_conn(timeout=1))
        rule = {"match": r"/do/read/", "kind": kind, "times": 2, "status": 503, "seconds": 2}
        emulator.faults(rule)
        rid = emulator.records("list")[0]
        assert hook.read("list", rid)["id"] == rid

    def test_create_after_5xx_is_not_repeated(self, emulator, hook):
        emulator.faults({"match": r"/do/create", "kind": "status", "status": 502, "times": 1})
        with pytest.raises(PardotAmbiguousSendError, match="may have reached Pardot"):
            hook.create_list(name="Ambiguous")
        assert len(api_requests(emulator)) == 1

    def test_create_dropped_after_processing_is_not_repeated(self, emulator, hook):
        emulator.faults({"match": r"/do/create", "kind": "reset_after", "times": 1})
        before = len(emulator.records("list"))
        with pytest.raises(PardotAmbiguousSendError):
            hook.create_list(name="Made once")
        assert len(emulator.records("list")) == before + 1

    def test_create_retried_on_66(self, emulator, hook):
        emulator.faults({"match": r"/do/create", "kind": "error", "code": 66, "times": 1})
        before = len(emulator.records("list"))
        created = hook.create_list(name="After 66")
        assert created["name"] == "After 66"
        assert len(emulator.records("list")) == before + 1

    def test_connect_failure_is_retried_then_reported(self, make_conn):
        hook = PardotHook(pardot_conn_id=make_conn(host="http://127.0.0.1:9", max_retries=1))
        with pytest.raises(PardotApiError, match="could not connect"):
            hook.read("list", 1)

    def test_errors_read_from_the_body_even_with_http_200(self, emulator, hook):
        emulator.config(errors_http_200=True)
        with pytest.raises(PardotApiError) as err:
            hook.read("list", 999999999)
        assert err.value.code is not None
        assert err.value.http_status == 200

    def test_unknown_record(self, emulator, hook):
        with pytest.raises(PardotApiError) as err:
            hook.read("list", 999999999)
        assert err.value.code is not None
        assert not isinstance(err.value, (PardotAuthError, PardotRateLimitError))

    def test_bad_ids_refused_locally(self, emulator, hook):
        for bad in (None, "", "12; drop", True, "abc"):
            with pytest.raises(PardotValidationError):
                hook.read("list", bad)
        assert emulator.requests() == []


class TestLimits:
    def test_never_more_than_five_in_flight(self, emulator, hook):
        emulator.faults({"match": r"/do/read/", "kind": "delay", "seconds": 0.3})
        rid = emulator.records("list")[0]
        errors = []

        def work():
            try:
                hook.read("list", rid)
            except Exception as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=work) for _ in range(15)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        state = emulator.state()
        assert errors == []
        assert state["max_in_flight"] <= 5
        assert state["errors"].get("66", 0) == 0

    def test_usage_is_read_and_budget_enforced(self, emulator, make_conn):
        emulator.config(daily_limit=1000, daily_used=795)
        hook = PardotHook(pardot_conn_id=make_conn(daily_request_budget="80%"))
        rid = emulator.records("list")[0]
        for _ in range(4):
            hook.read("list", rid)
        assert hook.last_usage is not None
        assert hook.last_usage.maximum == 1000
        with pytest.raises(PardotRateLimitError, match="budget 80% of the daily maximum") as err:
            for _ in range(10):
                hook.read("list", rid)
        assert "resets at the start of the account's day" in str(err.value)
        assert emulator.state()["daily_used"] == 800
        assert all(r["has_api_usage_header"] for r in api_requests(emulator))
        assert "account usage 800/1,000" in hook.usage_summary()


class TestResultHost:
    def test_foreign_host_refused(self, hook):
        with pytest.raises(PardotValidationError, match="not on the configured Pardot host"):
            hook.check_result_url("https://evil.example.com/file.csv")
        assert hook.check_result_url("/api/v5/exports/1/results/0").startswith(hook.config.host)


class TestConnection:
    def test_test_connection(self, hook):
        ok, message = hook.test_connection()
        assert ok, message
        assert "Connected to Pardot" in message

    def test_test_connection_failure(self, emulator, make_conn):
        emulator.config(strict_auth=True)
        ok, message = PardotHook(pardot_conn_id=make_conn(password="nope-nope")).test_connection()
        assert not ok
        assert "nope-nope" not in message

    def test_form_metadata(self):
        behaviour = PardotHook.get_ui_field_behaviour()
        assert "port" in behaviour["hidden_fields"]
        from airflow_provider_pardot.get_provider_info import get_provider_info

        info = get_provider_info()
        assert info["package-name"] == "airflow-provider-pardot"
        fields = info["connection-types"][0]["conn-fields"]
        assert "business_unit_id" in fields

    def test_form_shows_login_url_not_a_name_airflow_masks(self):
        # Airflow masks every extra whose name contains "token" ("***" in the form and in logs).
        from airflow_provider_pardot.get_provider_info import get_provider_info

        (conn_type,) = get_provider_info()["connection-types"]
        assert "login_url" in conn_type["conn-fields"]
        assert "login_url" in PardotHook.get_ui_field_behaviour()["placeholders"]
        shown = [*conn_type["conn-fields"], *conn_type["ui-field-behaviour"]["placeholders"]]
        assert not [name for name in shown if "token" in name and name not in ("refresh_token", "access_token")]

    def test_legacy_form_widgets_show_login_url(self):
        pytest.importorskip("flask_appbuilder")  # the 2.11 / 3.0-3.1 form
        widgets = PardotHook.get_connection_form_widgets()
        assert "login_url" in widgets
        assert "token_url" not in widgets

    def test_legacy_token_url_still_reaches_the_token_endpoint(self, emulator, make_conn):
        hook = PardotHook(pardot_conn_id=make_conn(login_url=None, token_url=emulator.url))
        assert hook.config.login_url == emulator.url
        assert list(hook.query("list", max_records=1))
        assert emulator.state()["tokens_issued"] == 1

    def test_login_url_wins_over_token_url(self, emulator, make_conn):
        hook = PardotHook(pardot_conn_id=make_conn(token_url="http://127.0.0.1:9"))
        assert list(hook.query("list", max_records=1))
        assert emulator.state()["tokens_issued"] == 1


class TestAsyncHook:
    async def test_get_export_shares_five_slots(self, emulator, make_conn):
        import asyncio

        from airflow_provider_pardot.hooks.pardot import PardotAsyncHook

        make_conn()
        sync = PardotHook()
        export = sync.create_export(
            "visitorActivity",
            "filter_by_created_at",
            {"created_after": "2026-01-01 00:00:00", "created_before": "2026-02-01 00:00:00"},
        )
        emulator.faults({"match": r"/api/v5/exports/", "kind": "delay", "seconds": 0.2, "method": "GET"})
        hooks = [PardotAsyncHook() for _ in range(20)]
        results = await asyncio.gather(*(h.get_export(export["id"]) for h in hooks))
        assert {r["id"] for r in results} == {export["id"]}
        state = emulator.state()
        assert state["max_in_flight"] <= 5
        assert state["errors"].get("66", 0) == 0
