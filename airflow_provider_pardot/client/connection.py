"""
The ``pardot`` connection: its fields, their validation, and the auth flow they select.

Pure functions over plain values, so the sync hook, the async client in triggers and the
connection form's Test button read a connection the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_pardot.client.endpoints import DEFAULT_API_HOST, DEFAULT_LOGIN_URL
from airflow_provider_pardot.client.form import parse_bool
from airflow_provider_pardot.client.usage import DailyBudget
from airflow_provider_pardot.exceptions import PardotValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

AUTH_TYPES = ("client_credentials", "password", "refresh_token", "jwt_bearer", "access_token")
BUSINESS_UNIT_ID = re.compile(r"0Uv[0-9A-Za-z]{15}")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BACKOFF = 1.0
API_VERSIONS = (3, 4)
EXPORT_API_VERSIONS = (3, 4, 5)

#: Connection extras that hold secrets (masked in logs, never put in URLs).
SECRET_EXTRAS = ("client_secret", "refresh_token", "private_key", "access_token")

#: What each auth flow needs, beside client_id (which every OAuth flow but access_token needs).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "client_credentials": ("client_id", "client_secret"),
    "password": ("client_id", "client_secret", "login", "password"),
    "refresh_token": ("client_id", "refresh_token"),
    "jwt_bearer": ("client_id", "login", "private_key"),
    "access_token": ("access_token",),
}
_FIELD_NAMES = {"login": "login (Salesforce username)", "password": "password (Salesforce password)"}


@dataclass(frozen=True, repr=False)
class PardotConnectionConfig:
    """A validated ``pardot`` connection."""

    host: str
    business_unit_id: str
    auth_type: str
    login_url: str
    login: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    private_key: str | None = None
    access_token: str | None = None
    jwt_audience: str | None = None
    api_version: int = 4
    export_api_version: int = 5
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    verify_ssl: bool = True
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    daily_request_budget: DailyBudget | None = None

    def __repr__(self) -> str:  # never show secrets
        return (
            f"PardotConnectionConfig(host={self.host!r}, business_unit_id={self.business_unit_id!r}, "
            f"auth_type={self.auth_type!r}, login_url={self.login_url!r})"
        )

    @property
    def secrets(self) -> list[str]:
        return [
            s
            for s in (
                self.password,
                self.client_secret,
                self.refresh_token,
                self.private_key,
                self.access_token,
            )
            if s
        ]

    @property
    def api_netloc(self) -> str:
        return urlsplit(self.host).netloc.lower()


def infer_auth_type(fields: dict[str, Any]) -> str:
    """Pick the flow from the fields given, when ``auth_type`` is absent."""
    if fields.get("private_key"):
        return "jwt_bearer"
    if fields.get("refresh_token"):
        return "refresh_token"
    if fields.get("login") and fields.get("password"):
        return "password"
    if fields.get("client_id") and fields.get("client_secret"):
        return "client_credentials"
    if fields.get("access_token"):
        return "access_token"
    raise PardotValidationError(
        "The Pardot connection has no credentials. Set auth_type in the extra and its fields: "
        "client_credentials (client_id, client_secret), password (client_id, client_secret, login, password), "
        "refresh_token (client_id, refresh_token), jwt_bearer (client_id, login, private_key) or "
        "access_token (access_token)."
    )


def _url(name: str, value: str) -> str:
    value = value.strip().rstrip("/")
    if "://" not in value:
        value = f"https://{value}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PardotValidationError(f"{name}={value!r} is not an http(s) URL, e.g. https://pi.pardot.com.")
    if parts.query or parts.username or parts.password:
        raise PardotValidationError(f"{name} must be a plain base URL without credentials or a query string.")
    return value


def _number(name: str, value: Any, default, cast, minimum):
    if value is None or value == "":
        return default
    try:
        number = cast(value)
    except (TypeError, ValueError):
        raise PardotValidationError(f"{name}={value!r} must be a number.") from None
    if number < minimum:
        raise PardotValidationError(f"{name}={value!r} must be at least {minimum}.")
    return number


def _choice(name: str, value: Any, default: int, allowed: tuple[int, ...]) -> int:
    number = _number(name, value, default, int, 0)
    if number not in allowed:
        raise PardotValidationError(
            f"{name}={value!r} is not supported; use one of {', '.join(map(str, allowed))}."
        )
    return number


def _bool(name: str, value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    return parse_bool(name, value)


def _login_url(get: Callable[[str], Any]) -> str:
    """``login_url``, or the ``token_url`` extra that existing connections saved (Airflow masks that name)."""
    if get("login_url"):
        return _url("login_url", get("login_url"))
    if get("token_url"):
        return _url("token_url", get("token_url"))
    return DEFAULT_LOGIN_URL


def _business_unit_id(value: Any) -> str:
    if not value:
        raise PardotValidationError(
            "The Pardot connection needs business_unit_id in its extra: the 18-character id starting with "
            "0Uv (Salesforce Setup > Account Engagement > Business Unit Setup)."
        )
    if not BUSINESS_UNIT_ID.fullmatch(str(value)):
        raise PardotValidationError(
            f"business_unit_id={value!r} is not a Pardot business unit id: it must be 18 "
            "characters starting with 0Uv (e.g. 0Uv5g000000AbCdCAA)."
        )
    return str(value)


def build_config(
    *, host: str | None, login: str | None, password: str | None, extra: dict[str, Any]
) -> PardotConnectionConfig:
    """Validate a connection's fields and return its config; raise :class:`PardotValidationError` when wrong."""

    def get(name: str) -> Any:
        # Accept the pre-2.0 "extra__pardot__<name>" form that old connection forms saved.
        value = extra.get(name, extra.get(f"extra__pardot__{name}"))
        return value.strip() if isinstance(value, str) else value

    business_unit_id = _business_unit_id(get("business_unit_id"))
    fields = {
        "login": login or None,
        "password": password or None,
        **{
            k: get(k) or None
            for k in ("client_id", "client_secret", "refresh_token", "private_key", "access_token")
        },
    }
    auth_type = get("auth_type") or infer_auth_type(fields)
    if auth_type not in AUTH_TYPES:
        raise PardotValidationError(
            f"auth_type={auth_type!r} is not supported; use one of {', '.join(AUTH_TYPES)}."
        )
    missing = [_FIELD_NAMES.get(f, f) for f in _REQUIRED[auth_type] if not fields.get(f)]
    if missing:
        raise PardotValidationError(
            f"auth_type {auth_type} needs {', '.join(missing)} in the Pardot connection."
        )
    private_key = fields["private_key"]
    if private_key and "BEGIN" not in private_key:
        raise PardotValidationError(
            "private_key must be a PEM-encoded RSA private key (-----BEGIN ... KEY-----)."
        )
    return PardotConnectionConfig(
        host=_url("host", host or DEFAULT_API_HOST),
        business_unit_id=business_unit_id,
        auth_type=auth_type,
        login_url=_login_url(get),
        jwt_audience=get("jwt_audience") or None,
        api_version=_choice("api_version", get("api_version"), 4, API_VERSIONS),
        export_api_version=_choice("export_api_version", get("export_api_version"), 5, EXPORT_API_VERSIONS),
        timeout=_number("timeout", get("timeout"), DEFAULT_TIMEOUT, float, 0.001),
        max_retries=_number("max_retries", get("max_retries"), DEFAULT_MAX_RETRIES, int, 0),
        verify_ssl=_bool("verify_ssl", get("verify_ssl"), True),
        retry_backoff=_number("retry_backoff", get("retry_backoff"), DEFAULT_RETRY_BACKOFF, float, 0.0),
        daily_request_budget=DailyBudget.parse(get("daily_request_budget")),
        **fields,
    )
