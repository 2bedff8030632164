"""
The request pipeline, one matrix through both hooks.

Every case runs once through :class:`PardotHook` (requests) and once through
:class:`PardotAsyncHook` (httpx), over real HTTP to the emulator, whose fault injection produces the
failures. Only the backoff is mocked (so retries do not wait); every request is real.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from identities import BUSINESS_UNIT_ID

from airflow_provider_pardot.client import pipeline
from airflow_provider_pardot.client.connection import build_config
from airflow_provider_pardot.client.usage import ApiUsage
from airflow_provider_pardot.exceptions import (
    PardotAmbiguousSendError,
    PardotApiError,
    PardotAuthError,
    PardotRateLimitError,
)
from airflow_provider_pardot.hooks.pardot import PardotAsyncHook, PardotHook

READ = "/api/list/version/4/do/read/id/{}"
CREATE = "/api/list/version/4/do/create"
JSON = {"format": "json"}


class Client:
    """One hook of either kind, called the same way."""

    def __init__(self, kind: str, conn_id: str) -> None:
        self.kind = kind
        self.hook: PardotHook | PardotAsyncHook = (
            PardotHook(pardot_conn_id=conn_id) if kind == "sync" else PardotAsyncHook(pardot_conn_id=conn_id)
        )

    def call(self, method: str, path: str, **kwargs):
        if isinstance(self.hook, PardotHook):
            return self.hook.call(method, path, **kwargs)
        return asyncio.run(self._call_async(self.hook, method, path, **kwargs))

    @staticmethod
    async def _call_async(hook: PardotAsyncHook, method: str, path: str, **kwargs):
        try:
            return await hook.call(method, path, **kwargs)
        finally:  # each asyncio.run has its own loop: close the client made for it
            for client in PardotAsyncHook._clients.get(asyncio.get_running_loop(), {}).values():
                await client.aclose()

    def read(self, list_id: int):
        return self.call("GET", READ.format(list_id), params=JSON)

    def create(self, name: str):
        return self.call(
            "POST",
            CREATE,
            params=JSON,
            data={"name": name},
            idempotent=False,
            action=f"Creating list {name!r}",
        )


@pytest.fixture(params=["sync", "async"])
def connect(request, make_conn):
    """``connect(**connection_fields) -> Client`` of the parametrised kind."""
    return lambda **fields: Client(request.param, make_conn(**fields))


@pytest.fixture
def client(connect):
    return connect()


@pytest.fixture
def backoff(mocker):
    """The backoff the pipeline asks for: mocked so retries wait a millisecond."""
    return mocker.patch.object(pipeline, "backoff_seconds", return_value=0.001)


@pytest.fixture
def list_id(emulator):
    return emulator.records("list")[0]


def api_requests(emulator, since=0):
    return [r for r in emulator.requests(since) if r["path"].startswith("/api/")]


class TestTokens:
    def test_184_refreshes_once_and_replays(self, emulator, client, list_id):
        client.read(list_id)
        emulator.expire_tokens()
        assert client.read(list_id)["list"]["id"] == list_id
        state = emulator.state()
        assert state["tokens_issued"] == 2
        assert state["errors"].get("184") == 1
        assert len(api_requests(emulator)) == 3

    def test_persistent_184_raises_auth_error_after_one_refresh(self, emulator, client, backoff):
        emulator.faults({"match": r"^/api/", "kind": "error", "code": 184})
        with pytest.raises(
            PardotAuthError, match="still refused the request after fetching a new token"
        ) as err:
            client.read(1)
        assert err.value.code == 184
        assert err.value.http_status is not None
        assert emulator.state()["tokens_issued"] == 2
        assert len(api_requests(emulator)) == 2
        backoff.assert_not_called()

    def test_401_refreshes_once_and_replays(self, emulator, client, list_id):
        emulator.faults({"match": r"^/api/", "kind": "status", "status": 401, "times": 1})
        assert client.read(list_id)["list"]["id"] == list_id
        assert emulator.state()["tokens_issued"] == 2

    def test_persistent_401_raises_auth_error(self, emulator, client):
        emulator.faults({"match": r"^/api/", "kind": "status", "status": 401})
        with pytest.raises(PardotAuthError) as err:
            client.read(1)
        assert err.value.http_status == 401
        assert err.value.code is None
        assert len(api_requests(emulator)) == 2

    def test_rejected_access_token_raises_auth_error_with_pardot_code(self, emulator, connect):
        client = connect(auth_type="access_token", access_token="not-a-real-token")
        with pytest.raises(PardotAuthError, match="cannot fetch a new one") as err:
            client.read(1)
        assert err.value.code == 184
        assert err.value.http_status is not None
        assert "not-a-real-token" not in str(err.value)
        assert emulator.state()["tokens_issued"] == 0  # no token request: the flow has none
        assert len(api_requests(emulator)) == 1

    def test_valid_access_token_is_used_as_given(self, emulator, make_conn, connect, list_id):
        token = PardotHook(pardot_conn_id=make_conn("fetcher"))._token()
        client = connect(auth_type="access_token", access_token=token, client_secret=None)
        assert client.read(list_id)["list"]["id"] == list_id
        assert emulator.state()["tokens_issued"] == 1  # only the one fetched above


class TestLimits:
    def test_122_raises_at_once_with_the_daily_limit_message(self, emulator, client, backoff):
        emulator.config(daily_limit=10, daily_used=10)
        with pytest.raises(PardotRateLimitError, match="daily API limit is spent") as err:
            client.read(1)
        assert err.value.code == 122
        assert "resets at the start of the account's day" in str(err.value)
        assert len(api_requests(emulator)) == 1
        backoff.assert_not_called()

    def test_66_is_retried(self, emulator, client, list_id, backoff):
        emulator.faults({"match": r"/do/read/", "kind": "error", "code": 66, "times": 2})
        assert client.read(list_id)["list"]["id"] == list_id
        assert len(api_requests(emulator)) == 3
        assert [c.args[0] for c in backoff.call_args_list] == [0, 1]  # attempt numbers: exponential

    def test_persistent_66_gives_up_saying_how_often_it_tried(self, emulator, client, backoff):
        emulator.faults({"match": r"/do/read/", "kind": "error", "code": 66})
        with pytest.raises(PardotRateLimitError, match=r"gave up after 4 attempts") as err:
            client.read(1)
        assert err.value.code == 66
        assert len(api_requests(emulator)) == 4  # 1 + max_retries (3)

    def test_budget_spent_sends_nothing(self, emulator, connect, list_id):
        emulator.config(daily_limit=1000, daily_used=799)
        client = connect(daily_request_budget="80%")
        client.read(list_id)
        assert client.hook.last_usage == ApiUsage(800, 1000)
        sent = len(emulator.requests())
        with pytest.raises(PardotRateLimitError, match="budget 80% of the daily maximum") as err:
            client.read(list_id)
        assert "No request was sent" in str(err.value)
        assert len(emulator.requests()) == sent
        assert client.hook.request_count == 1


class TestRetries:
    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_5xx_on_a_read_is_retried(self, emulator, client, list_id, backoff, status):
        emulator.faults({"match": r"/do/read/", "kind": "status", "status": status, "times": 2})
        assert client.read(list_id)["list"]["id"] == list_id
        assert len(api_requests(emulator)) == 3
        assert backoff.call_count == 2

    def test_read_timeout_on_a_read_is_retried(self, emulator, connect, list_id, backoff):
        client = connect(timeout=0.5)
        emulator.faults({"match": r"/do/read/", "kind": "delay", "seconds": 1.5, "times": 1})
        assert client.read(list_id)["list"]["id"] == list_id
        assert backoff.call_count == 1

    def test_dropped_read_is_retried(self, emulator, client, list_id, backoff):
        emulator.faults({"match": r"/do/read/", "kind": "reset_before", "times": 1})
        assert client.read(list_id)["list"]["id"] == list_id
        assert backoff.call_count == 1

    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_connection_refused_is_retried_then_reported(self, connect, backoff, method):
        client = connect(host="http://127.0.0.1:9", max_retries=2)
        with pytest.raises(PardotApiError, match=r"could not connect .*gave up after 3 attempts"):
            if method == "GET":
                client.read(1)
            else:  # never reached Pardot, so even a create may be sent again
                client.create("Never sent")
        assert backoff.call_count == 2
        assert client.hook.request_count == 3


class TestAmbiguousSends:
    @pytest.mark.parametrize(
        ("rule", "created"),
        [
            ({"kind": "status", "status": 502}, 0),
            ({"kind": "reset_after"}, 1),
            ({"kind": "delay", "seconds": 1.5}, 1),
        ],
        ids=["5xx", "dropped-after-processing", "read-timeout"],
    )
    def test_post_that_may_have_happened_is_not_repeated(self, emulator, connect, backoff, rule, created):
        client = connect(timeout=0.5)
        before = len(emulator.records("list"))
        emulator.faults({"match": r"/do/create", "times": 1, **rule})
        with pytest.raises(PardotAmbiguousSendError, match="Creating list 'Once' may have reached Pardot"):
            client.create("Once")
        assert len([r for r in api_requests(emulator) if r["path"] == CREATE]) == 1
        backoff.assert_not_called()
        # the delayed create still completes on the server after the client gave up waiting
        deadline = time.monotonic() + 5
        while len(emulator.records("list")) < before + created and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(emulator.records("list")) == before + created

    def test_post_refused_with_66_is_retried(self, emulator, client, backoff):
        before = len(emulator.records("list"))
        emulator.faults({"match": r"/do/create", "kind": "error", "code": 66, "times": 1})
        assert client.create("After 66")["list"]["name"] == "After 66"
        assert len(emulator.records("list")) == before + 1

    def test_post_replayed_after_184(self, emulator, client):
        client.read(emulator.records("list")[0])
        emulator.expire_tokens()
        before = len(emulator.records("list"))
        assert client.create("After refresh")["list"]["name"] == "After refresh"
        assert len(emulator.records("list")) == before + 1


class TestWhatEveryRequestCarries:
    def test_headers_and_usage(self, emulator, client, list_id):
        emulator.config(daily_limit=5000, daily_used=41)
        client.read(list_id)
        (req,) = api_requests(emulator)
        assert req["auth_scheme"] == "Bearer"
        assert req["business_unit_id"] == BUSINESS_UNIT_ID
        assert req["has_api_usage_header"]
        assert "access_token" not in req["query"]
        assert client.hook.last_usage == ApiUsage(42, 5000)
        assert client.hook.request_count == 1

    def test_a_redirect_is_an_error_not_followed(self, emulator, client, backoff):
        emulator.faults({"match": r"/do/read/", "kind": "status", "status": 302})
        with pytest.raises(PardotApiError, match="redirect") as err:
            client.read(1)
        assert err.value.http_status == 302
        assert len(api_requests(emulator)) == 1


class TestDecide:
    """The pure policy, for the branches HTTP cannot reach cheaply."""

    def decide(self, failure, error, *, attempt=0, max_retries=3, auth_type="client_credentials", **kw):
        extra = {"business_unit_id": BUSINESS_UNIT_ID, "auth_type": auth_type, "max_retries": max_retries}
        extra.update(client_id="c", client_secret="s", access_token="t")
        config = build_config(host=None, login=None, password=None, extra=extra)
        args = {"refreshed": False, "idempotent": True, "what": "GET /x", **kw}
        return pipeline.decide(pipeline.SendFailed(failure, error), attempt, config=config, **args)

    def test_max_retries_zero_raises_the_error_itself(self):
        error = PardotRateLimitError("busy", code=66)
        outcome = self.decide(pipeline.Failure.CONCURRENCY, error, max_retries=0)
        assert outcome.step is pipeline.Step.RAISE
        assert outcome.error is error

    def test_final_errors_are_raised_as_they_are(self):
        error = PardotApiError("Invalid ID", code=55, http_status=400)
        outcome = self.decide(pipeline.Failure.FINAL, error, idempotent=False)
        assert outcome.error is error

    def test_refresh_decided_only_once(self):
        error = PardotAuthError("expired", code=184, http_status=401)
        assert self.decide(pipeline.Failure.FINAL, error).step is pipeline.Step.REFRESH
        again = self.decide(pipeline.Failure.FINAL, error, refreshed=True)
        assert isinstance(again.error, PardotAuthError)
        assert again.error.code == 184
        assert again.error.http_status == 401

    def test_a_fixed_access_token_is_never_refreshed(self):
        error = PardotAuthError("expired", code=184, http_status=400)
        outcome = self.decide(pipeline.Failure.FINAL, error, auth_type="access_token")
        assert outcome.step is pipeline.Step.RAISE
        assert (outcome.error.code, outcome.error.http_status) == (184, 400)
        assert "cannot fetch a new one" in outcome.error.message
