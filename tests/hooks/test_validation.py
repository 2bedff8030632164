"""Bad connection fields and query criteria are refused before any request, with a message that says what to change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from airflow_provider_pardot.api.criteria import validate_query
from airflow_provider_pardot.api.exports import validate_export
from airflow_provider_pardot.client.connection import build_config
from airflow_provider_pardot.client.usage import ApiUsage, DailyBudget, parse_usage, usage_line
from airflow_provider_pardot.exceptions import PardotValidationError

BU = "0Uv000000000001AAA"
CREDS = {"client_id": "cid", "client_secret": "secret"}


def config(extra=None, login=None, password=None, host=None):
    return build_config(
        host=host, login=login, password=password, extra={"business_unit_id": BU, **(extra or {})}
    )


class TestConnectionFields:
    @pytest.mark.parametrize(
        ("extra", "login", "password", "flow"),
        [
            (CREDS, None, None, "client_credentials"),
            (CREDS, "user@example.com", "pw", "password"),
            ({"client_id": "cid", "refresh_token": "rt"}, None, None, "refresh_token"),
            (
                {"client_id": "cid", "private_key": "-----BEGIN PRIVATE KEY-----\nx"},
                "user",
                None,
                "jwt_bearer",
            ),
            ({"access_token": "tok"}, None, None, "access_token"),
        ],
    )
    def test_flow_is_inferred(self, extra, login, password, flow):
        assert config(extra, login, password).auth_type == flow

    def test_defaults(self):
        cfg = config(CREDS)
        assert cfg.host == "https://pi.pardot.com"
        assert cfg.login_url == "https://login.salesforce.com"
        assert (cfg.api_version, cfg.timeout, cfg.max_retries, cfg.verify_ssl) == (4, 60.0, 5, True)

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            ({"business_unit_id": ""}, "needs business_unit_id"),
            ({"business_unit_id": "0Uv123"}, "18 characters starting with 0Uv"),
            ({"business_unit_id": "001000000000001AAA"}, "18 characters starting with 0Uv"),
            ({"auth_type": "magic", **CREDS}, "auth_type='magic' is not supported"),
            ({"auth_type": "password", **CREDS}, "needs login"),
            ({"auth_type": "refresh_token", "client_id": "cid"}, "needs refresh_token"),
            ({"auth_type": "jwt_bearer", "client_id": "cid", "private_key": "nokey"}, "needs login"),
            ({"api_version": "5", **CREDS}, "api_version='5' is not supported"),
            ({"timeout": "soon", **CREDS}, "timeout='soon' must be a number"),
            ({"max_retries": "-1", **CREDS}, "must be at least 0"),
            ({"daily_request_budget": "lots", **CREDS}, "daily_request_budget='lots' is not valid"),
            ({"daily_request_budget": "150%", **CREDS}, "percentage"),
            ({"login_url": "ftp://x", **CREDS}, "not an http(s) URL"),
            ({"verify_ssl": "maybe", **CREDS}, "true or false"),
            ({}, "has no credentials"),
        ],
    )
    def test_bad_fields(self, extra, message):
        with pytest.raises(PardotValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            build_config(host=None, login=None, password=None, extra={"business_unit_id": BU, **extra})

    @pytest.mark.parametrize(
        ("extra", "expected"),
        [
            ({"login_url": "https://test.salesforce.com"}, "https://test.salesforce.com"),
            ({"token_url": "https://legacy.my.salesforce.com/"}, "https://legacy.my.salesforce.com"),
            (
                {"login_url": "https://test.salesforce.com", "token_url": "https://legacy.my.salesforce.com"},
                "https://test.salesforce.com",
            ),
        ],
        ids=["login_url", "legacy-token_url", "login_url-wins"],
    )
    def test_login_url_and_the_legacy_token_url(self, extra, expected):
        assert config({**CREDS, **extra}).login_url == expected

    def test_a_bad_legacy_token_url_is_named_as_given(self):
        with pytest.raises(PardotValidationError, match="token_url='ftp://x' is not an http"):
            config({**CREDS, "token_url": "ftp://x"})

    def test_host_with_credentials_refused_and_secrets_not_in_repr(self):
        with pytest.raises(PardotValidationError, match="without credentials"):
            config(CREDS, host="https://user:pw@pi.pardot.com")
        assert "secret" not in repr(config(CREDS))


class TestCriteria:
    def test_documented_criteria_pass(self):
        params = validate_query(
            "list",
            {
                "created_after": "yesterday",
                "updated_before": datetime(2024, 5, 1, 12),
                "id_greater_than": 5,
                "name": "x",
            },
        )
        assert params == {
            "created_after": "yesterday",
            "updated_before": "2024-05-01 12:00:00",
            "id_greater_than": 5,
            "name": "x",
        }
        assert validate_query("lifecycleHistory", {"created_before": date(2024, 1, 2)}) == {
            "created_before": "2024-01-02"
        }
        assert validate_query("listMembership", {"deleted": True, "list_id": "7"}) == {
            "deleted": "true",
            "list_id": 7,
        }

    @pytest.mark.parametrize(("given", "sent"), [(True, "1"), (False, "0"), ("false", "0"), ("True", "1"), (0, "0")])
    def test_boolean_criteria_go_out_as_1_or_0(self, given, sent):
        # Pardot reads "false" as true, the PHP way; deleted (true/false/all) is an enum and keeps its words.
        assert validate_query("visitorActivity", {"prospect_only": given}) == {"prospect_only": sent}
        with pytest.raises(PardotValidationError, match="prospect_only must be one of true, false"):
            validate_query("visitorActivity", {"prospect_only": "perhaps"})

    @pytest.mark.parametrize(
        ("obj", "criteria", "message"),
        [
            ("lists", {}, "Unknown Pardot object 'lists'"),
            ("list", {"color": "red"}, "'color' is not a query criterion of list"),
            ("lifecycleHistory", {"updated_after": "today"}, "not a query criterion of lifecycleHistory"),
            ("list", {"created_after": "yesterdy"}, "not a date Pardot accepts"),
            ("list", {"created_after": "2024-02-30"}, "not a real calendar date"),
            ("list", {"id_greater_than": -3}, "positive integer"),
            ("list", {"id_greater_than": "abc"}, "positive integer"),
            ("list", {"sort_by": "color"}, "not a sort option of list"),
            ("lifecycleHistory", {"sort_by": "updated_at"}, "not a sort option"),
            ("list", {"sort_order": "up"}, "ascending"),
            ("list", {"limit": 10}, "pages through every matching record"),
            ("list", {"offset": 10}, "pages through every matching record"),
            ("list", {"output": "huge"}, "output must be one of"),
            ("listMembership", {"deleted": "maybe"}, "deleted must be one of"),
            ("list", {"id_greater_than": 10, "id_less_than": 5}, "must be below"),
        ],
    )
    def test_bad_criteria(self, obj, criteria, message):
        with pytest.raises(PardotValidationError, match=message):
            validate_query(obj, criteria)


class TestUsage:
    @pytest.mark.parametrize(
        ("header", "usage"),
        [
            ("1234/25000", ApiUsage(1234, 25000)),
            (" 1,234 / 25,000 ", ApiUsage(1234, 25000)),
            ("used=10; max=100", ApiUsage(10, 100)),
            ("77", ApiUsage(77)),
            ("", None),
            (None, None),
            ("garbage", None),
        ],
    )
    def test_parse(self, header, usage):
        assert parse_usage(header) == usage

    def test_usage_line_counts_in_words(self):
        assert usage_line(1, None) == "Pardot API: 1 request by this task"
        assert usage_line(0, None) == "Pardot API: 0 requests by this task"
        assert usage_line(1234, ApiUsage(1234, 25000), "the trigger") == (
            "Pardot API: 1,234 requests by the trigger; account usage 1,234/25,000 today"
        )

    def test_budget(self):
        assert DailyBudget.parse("80%").limit_for(ApiUsage(1, 1000)) == 800
        assert DailyBudget.parse("500").limit_for(None) == 500
        DailyBudget.parse("80%").check(ApiUsage(799, 1000))
        with pytest.raises(Exception, match=r"usage 800/1,000 today, budget 80% of the daily maximum"):
            DailyBudget.parse("80%").check(ApiUsage(800, 1000))


class TestExportValidation:
    NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("obj", "proc", "args"),
        [
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "2026-01-01 00:00:00", "type": [1, 2], "prospect_only": True},
            ),
            (
                "visitorActivity",
                "filter_by_updated_at",
                {"updated_after": "yesterday", "prospectOnly": "false"},
            ),
            ("listMembership", "filter_by_updated_at", {"updated_after": "last_month", "deleted": "all"}),
            ("prospect", "filter_by_created_at", {"created_after": "3 days ago", "deleted": True}),
            (
                "prospectAccount",
                "filter_by_prospect_updated_at",
                {"prospect_updated_after": "this_month", "prospect_deleted": "false"},
            ),
            ("visitor", "filter_by_updated_at", {"updated_after": datetime(2026, 1, 1)}),
            (
                "externalActivity",
                "filter_by_activity_date",
                {"activity_after": "2025-07-01", "activity_before": "2026-06-30"},
            ),
        ],
    )
    def test_documented_procedures_pass(self, obj, proc, args):
        validate_export(obj, proc, args, now=self.NOW)

    @pytest.mark.parametrize(
        ("obj", "proc", "args", "fields", "message"),
        [
            ("account", "filter_by_created_at", {}, None, "cannot be exported"),
            ("prospect", "filter_by_id", {}, None, "not an export procedure of prospect"),
            ("visitorActivity", "filter_by_created_at", {"updated_after": "today"}, None, "not an argument"),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_before": "today"},
                None,
                "needs the argument 'created_after'",
            ),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "soon"},
                None,
                "not a date and time",
            ),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "2026-03-01", "created_before": "2026-02-01"},
                None,
                "must be after",
            ),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "2024-01-01", "created_before": "2025-06-01"},
                None,
                "at most one year",
            ),
            ("visitorActivity", "filter_by_created_at", {"created_after": "2025-01-01"}, None, "to now"),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "today", "type": [99]},
                None,
                "type ids",
            ),
            (
                "listMembership",
                "filter_by_created_at",
                {"created_after": "today", "deleted": "maybe"},
                None,
                "deleted must be one of",
            ),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "today"},
                [f"f{i}" for i in range(151)],
                "at most 150 fields",
            ),
            (
                "visitorActivity",
                "filter_by_created_at",
                {"created_after": "today"},
                "id,type",
                "list of field names",
            ),
        ],
    )
    def test_bad_exports(self, obj, proc, args, fields, message):
        with pytest.raises(PardotValidationError, match=message):
            validate_export(obj, proc, args, fields, now=self.NOW)

    def test_v5_options(self):
        validate_export(
            "visitor",
            "filter_by_updated_at",
            {"updated_after": "today"},
            None,
            {"maxFileSizeBytes": 10},
            now=self.NOW,
        )
        with pytest.raises(PardotValidationError, match="v5 Export API option"):
            validate_export(
                "visitor",
                "filter_by_updated_at",
                {"updated_after": "today"},
                None,
                {"legacyDateFormat": True},
                api_version=4,
            )
