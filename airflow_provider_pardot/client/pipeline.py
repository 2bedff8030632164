"""
The request pipeline both hooks share: the attempts of a request, what a failed one means, and what
every request carries.

The sync hook (requests) and the async hook (httpx) are thin transports over this module.
:meth:`Exchange.attempts` is the one attempt loop, written without I/O: it yields the steps a
transport carries out (:data:`TOKEN`: give the access token; :class:`Attempt`: send once;
:class:`Pause`: sleep) and ends by yielding the :class:`Reply`. A transport sends one attempt,
returns its :class:`Reply` (both transports return the same type), or a :class:`SendFailed` (its
:class:`Failure` kind and a :class:`PardotApiError`), which :meth:`Exchange.after_failure` judges
by the one policy, :func:`decide`:

- error 184 or a bare HTTP 401: fetch a new token once and replay; a second refusal, or a refusal
  of a connection's fixed ``access_token``, raises :class:`PardotAuthError` with Pardot's code;
- error 122: raise :class:`PardotRateLimitError` at once, saying the daily limit is spent;
- a failure :func:`~airflow_provider_pardot.client.retry.may_retry` allows: wait (exponential
  backoff with jitter) and retry, up to ``max_retries``; then raise, saying how many attempts;
- a create or send that may have reached Pardot: raise :class:`PardotAmbiguousSendError`;
- anything else: raise the error as Pardot reported it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Union
from urllib.parse import urlsplit

from airflow_provider_pardot.client import responses
from airflow_provider_pardot.client.auth import ACCESS_TOKEN_REJECTED
from airflow_provider_pardot.client.errors import DAILY_LIMIT_CODE, INVALID_TOKEN_CODE, error_from_response
from airflow_provider_pardot.client.retry import (
    Failure,
    ambiguous_message,
    backoff_seconds,
    classify_code,
    may_retry,
)
from airflow_provider_pardot.client.tokens import TOKENS, USAGE
from airflow_provider_pardot.client.usage import USAGE_REQUEST_HEADER, USAGE_RESPONSE_HEADER, parse_usage
from airflow_provider_pardot.exceptions import (
    PardotAmbiguousSendError,
    PardotApiError,
    PardotAuthError,
    PardotRateLimitError,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from airflow_provider_pardot.client.connection import PardotConnectionConfig

#: Failures after which a create or send may have happened in Pardot.
AMBIGUOUS_FAILURES = frozenset({Failure.TIMEOUT, Failure.DROPPED, Failure.SERVER_ERROR})


class TaskLog(Protocol):
    """The hook's logger (Airflow's, or the standard library's)."""

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any) -> Any: ...


class CallOptions(TypedDict, total=False):
    """
    The keyword arguments of ``PardotHook.call`` and ``PardotAsyncHook.call``.

    :param params: the query string
    :param data: a form body (values as :func:`~airflow_provider_pardot.client.form.form_values` makes them)
    :param json: a JSON body
    :param idempotent: whether the request may be repeated (defaults to ``method == "GET"``)
    :param action: what the request does, for messages about requests that may have happened
    """

    params: dict[str, Any] | None
    data: dict[str, Any] | None
    json: Any
    idempotent: bool | None
    action: str | None


class SendFailed(Exception):
    """One attempt failed; the transport says how (``failure``) and what Pardot or the network said."""

    def __init__(self, failure: Failure, error: PardotApiError) -> None:
        super().__init__(str(error))
        self.failure = failure
        self.error = error


@dataclass(frozen=True)
class Reply:
    """
    A successful answer, whichever transport carried it.

    :param status: the HTTP status
    :param headers: the response headers
    :param body: the parsed body (``None`` for an empty answer, e.g. HTTP 204, or a streamed one)
    :param stream: the open response of a streamed download (sync only), to read and close
    """

    status: int
    headers: Mapping[str, str]
    body: Any = None
    stream: Any = None


class Need(Enum):
    """A step of :meth:`Exchange.attempts` that asks the transport for something."""

    TOKEN = "the access token to send"


#: The step asking for the access token (cached, or fetched by the transport).
TOKEN = Need.TOKEN


@dataclass(frozen=True)
class Attempt:
    """A step of :meth:`Exchange.attempts`: send the request once with ``token``."""

    token: str


@dataclass(frozen=True)
class Pause:
    """A step of :meth:`Exchange.attempts`: wait ``seconds`` before the next attempt."""

    seconds: float


#: What :meth:`Exchange.attempts` yields.
AttemptStep = Union[Need, Attempt, Pause, Reply]  # noqa: UP007 (a runtime alias)


class Step(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry after a delay"
    REFRESH = "fetch a new token and replay"
    RAISE = "raise"


@dataclass(frozen=True)
class Outcome:
    """The decision about one failed attempt: a :class:`Step`, its delay, or the error to raise."""

    step: Step
    delay: float = 0.0
    error: PardotApiError | None = None


def _raise(error: PardotApiError) -> Outcome:
    return Outcome(Step.RAISE, error=error)


def rejects_token(error: PardotApiError) -> bool:
    """Error 184 (whatever the HTTP status), or an HTTP 401 without a Pardot code."""
    return error.code == INVALID_TOKEN_CODE or (error.code is None and error.http_status == 401)


def decide(
    failed: SendFailed,
    attempt: int,
    *,
    refreshed: bool,
    idempotent: bool,
    config: PardotConnectionConfig,
    what: str,
) -> Outcome:
    """
    Decide what a failed attempt means; the one retry, refresh and error policy of both hooks.

    :param failed: how the attempt failed
    :param attempt: retries made so far (0 for the first attempt)
    :param refreshed: whether a new token was already fetched for this request
    :param idempotent: whether the request may be repeated
    :param config: the connection: its flow (``access_token`` cannot fetch a new token),
        ``max_retries`` and ``retry_backoff``
    :param what: the request, as messages name it (an action, or ``"GET /api/..."``)
    """
    error, failure = failed.error, failed.failure
    if rejects_token(error):
        if config.auth_type == "access_token":
            message = f"{error.message} {ACCESS_TOKEN_REJECTED}"
            return _raise(PardotAuthError(message, code=error.code, http_status=error.http_status))
        if refreshed:
            message = f"{error.message} Pardot still refused the request after fetching a new token."
            return _raise(PardotAuthError(message, code=error.code, http_status=error.http_status))
        return Outcome(Step.REFRESH)
    if error.code == DAILY_LIMIT_CODE:
        message = (
            f"The Pardot account's daily API limit is spent (error 122: {error.message}). "
            "Retrying cannot help until the allocation resets at the start of the account's day."
        )
        return _raise(PardotRateLimitError(message, code=error.code, http_status=error.http_status))
    retryable = may_retry(failure, idempotent=idempotent)
    if retryable and attempt < config.max_retries:
        return Outcome(Step.RETRY, delay=backoff_seconds(attempt, config.retry_backoff))
    if not idempotent and failure in AMBIGUOUS_FAILURES:
        message = f"{ambiguous_message(what, failure)} Cause: {error.message}"
        return _raise(PardotAmbiguousSendError(message, code=error.code, http_status=error.http_status))
    if retryable and attempt:
        message = f"{error.message} (gave up after {attempt + 1} attempts)"
        return _raise(type(error)(message, code=error.code, http_status=error.http_status))
    return _raise(error)


@dataclass
class Exchange:
    """One request through its attempts: applies :func:`decide` and keeps the count."""

    config: PardotConnectionConfig
    method: str
    url: str
    idempotent: bool
    action: str | None = None
    attempt: int = 0
    refreshed: bool = False

    @classmethod
    def start(
        cls,
        config: PardotConnectionConfig,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        action: str | None = None,
    ) -> Exchange:
        """Begin a request; ``idempotent`` defaults to ``method == "GET"``."""
        method = method.upper()
        url = path if path.startswith(("http://", "https://")) else f"{config.host}{path}"
        idempotent = method == "GET" if idempotent is None else idempotent
        return cls(config, method, url, idempotent, action)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def attempts(self, log: TaskLog) -> Generator[AttemptStep, Any, None]:
        """
        The one attempt loop of both hooks, as steps their transports carry out.

        Send back: for :data:`TOKEN`, the token; for an :class:`Attempt`, its :class:`Reply` or
        :class:`SendFailed`; for a :class:`Pause`, nothing (after sleeping). The last step is the
        :class:`Reply`; an attempt :func:`decide` gives up on raises its error from here.
        """
        while True:
            check_budget(self.config)
            token = yield TOKEN
            outcome = yield Attempt(token)
            if isinstance(outcome, Reply):
                yield outcome
                return
            delay = self.after_failure(outcome, token, log)
            if delay:
                yield Pause(delay)

    @property
    def to_pardot(self) -> bool:
        """Whether the request goes to the connection's Pardot host (the only host that gets the token)."""
        return urlsplit(self.url).netloc.lower() == self.config.api_netloc

    def headers(self, token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """
        The headers every attempt carries (the token, the business unit, the usage request).

        A request to any other host (a file Pardot redirects to) carries none of them.
        """
        if not self.to_pardot:
            return {"Accept": "*/*", **(extra or {})}
        return {
            "Authorization": f"Bearer {token}",
            "Pardot-Business-Unit-Id": self.config.business_unit_id,
            USAGE_REQUEST_HEADER: "1",
            "Accept": "application/json",
            **(extra or {}),
        }

    def after_failure(self, failed: SendFailed, token: str, log: TaskLog) -> float:
        """
        Act on a failed attempt: raise the error :func:`decide` names, or return the seconds to wait.

        A refresh forgets ``token`` (unless another caller already replaced it) and waits nothing.
        """
        config = self.config
        what = self.action or f"{self.method} {self.path}"
        outcome = decide(
            failed,
            self.attempt,
            refreshed=self.refreshed,
            idempotent=self.idempotent,
            config=config,
            what=what,
        )
        if outcome.step is Step.RAISE:
            assert outcome.error is not None
            raise outcome.error from None
        if outcome.step is Step.REFRESH:
            self.refreshed = True
            TOKENS.invalidate(config, token)
            log.info("Pardot rejected the access token (%s); fetching a new one", failed.error.code or 401)
            return 0.0
        self.attempt += 1
        log.warning(
            "Pardot request %s %s failed (%s); retry %d/%d in %.1fs",
            self.method,
            self.path,
            failed.failure.value,
            self.attempt,
            config.max_retries,
            outcome.delay,
        )
        return outcome.delay

    def transport_failed(self, failure: Failure, err: Exception, what: str = "") -> SendFailed:
        """The failure for an attempt that got no (complete) answer; names the cause, not the request."""
        detail = what or failure.value
        return SendFailed(
            failure, PardotApiError(f"{self.method} {self.path}: {detail} ({type(err).__name__})")
        )

    def reply(self, status: int, headers: Mapping[str, str], raw: bytes) -> Reply | SendFailed:
        """A complete answer read: its :class:`Reply`, or a :class:`SendFailed` for an error in any shape."""
        record_usage(self.config, headers)
        try:
            parsed = self.read_answer(status, raw)
        except SendFailed as failed:
            return failed
        return Reply(status, headers, responses.parse_body(raw, parsed))

    def read_answer(self, status: int, raw: bytes) -> Any:
        """Return an answer's decoded JSON body, or raise :class:`SendFailed` for an error in any shape."""
        parsed = responses.load_json(raw)
        error = error_from_response(raw, status, parsed=parsed)
        if error is None and 300 <= status < 400:
            error = PardotApiError(
                f"Pardot answered a redirect (HTTP {status}); check the connection host", http_status=status
            )
        if error is not None:
            raise SendFailed(classify_code(error.code, error.http_status), error)
        return parsed


def check_budget(config: PardotConnectionConfig) -> None:
    """Raise :class:`PardotRateLimitError` before sending once the connection's daily budget is spent."""
    budget = config.daily_request_budget
    if budget is not None:
        budget.check(USAGE.get(config.business_unit_id))


def record_usage(config: PardotConnectionConfig, headers: Any) -> None:
    """Keep the account usage Pardot reported in ``x-api-usage``, when it did."""
    usage = parse_usage(headers.get(USAGE_RESPONSE_HEADER))
    if usage is not None:
        USAGE.put(config.business_unit_id, usage)

