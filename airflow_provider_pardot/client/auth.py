"""Salesforce OAuth: the token request of each flow, and reading its answer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_pardot.client.endpoints import TOKEN_PATH
from airflow_provider_pardot.exceptions import PardotAuthError

if TYPE_CHECKING:
    from airflow_provider_pardot.client.connection import PardotConnectionConfig

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
#: Why a refused ``access_token`` connection fails instead of refreshing, and what to change.
ACCESS_TOKEN_REJECTED = (
    "The connection's access_token was rejected and auth_type access_token cannot fetch a new one: "
    "put a fresh token in the connection, or use a flow that can refresh (client_credentials, "
    "password, refresh_token, jwt_bearer)."
)


def token_endpoint(config: PardotConnectionConfig) -> str:
    return f"{config.login_url}{TOKEN_PATH}"


def jwt_audience(config: PardotConnectionConfig) -> str:
    """Salesforce wants login.salesforce.com, or test.salesforce.com for sandboxes, as ``aud``."""
    if config.jwt_audience:
        return config.jwt_audience
    host = urlsplit(config.login_url).netloc.lower()
    if host == "test.salesforce.com" or ".sandbox." in host:
        return "https://test.salesforce.com"
    if host.endswith("salesforce.com"):
        return "https://login.salesforce.com"
    return config.login_url


def jwt_assertion(config: PardotConnectionConfig) -> str:
    import jwt  # PyJWT ships with Airflow; RS256 needs cryptography, which Airflow also ships.

    claims = {
        "iss": config.client_id,
        "sub": config.login,
        "aud": jwt_audience(config),
        "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, str(config.private_key), algorithm="RS256")
    except Exception as err:  # a malformed key must not echo the key itself
        raise PardotAuthError(
            f"Could not sign the JWT assertion with private_key: {type(err).__name__}"
        ) from None


def token_request_form(config: PardotConnectionConfig) -> dict[str, str]:
    """The form body for the connection's flow (secrets travel only in this POST body)."""
    flow = config.auth_type
    app = {"client_id": config.client_id, "client_secret": config.client_secret}
    if flow == "client_credentials":
        form = {"grant_type": flow, **app}
    elif flow == "password":
        form = {"grant_type": flow, **app, "username": config.login, "password": config.password}
    elif flow == "refresh_token":  # the secret only when the connected app has one
        form = {"grant_type": flow, **app, "client_secret": config.client_secret or None}
        form["refresh_token"] = config.refresh_token
    elif flow == "jwt_bearer":
        form = {"grant_type": JWT_GRANT, "assertion": jwt_assertion(config)}
    else:
        raise PardotAuthError(ACCESS_TOKEN_REJECTED)
    return {k: str(v) for k, v in form.items() if v is not None}


@dataclass(frozen=True)
class TokenRequest:
    """One token fetch, whichever transport posts it: where, what, and how its answer is read."""

    endpoint: str
    form: dict[str, str]

    def unreachable(self, err: Exception) -> PardotAuthError:
        return unreachable(self.endpoint, err)

    def accept(self, status: int, raw: bytes) -> str:
        """The token from Salesforce's answer, registered with Airflow's masker; or raise."""
        from airflow.providers.common.compat.sdk import mask_secret

        token = read_token_response(status, raw, self.endpoint)
        mask_secret(token)
        return token


def token_request(config: PardotConnectionConfig) -> TokenRequest:
    """The token fetch of a connection: ``{login_url}/services/oauth2/token`` and its form."""
    return TokenRequest(token_endpoint(config), token_request_form(config))


def unreachable(endpoint: str, err: Exception) -> PardotAuthError:
    """The error for a token endpoint that could not be reached (names the cause, not the request)."""
    return PardotAuthError(f"Could not reach the Salesforce token endpoint {endpoint}: {type(err).__name__}")


def read_token_response(status: int, raw: bytes, endpoint: str) -> str:
    """Return the access token from Salesforce's answer, or raise :class:`PardotAuthError`."""
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = None
    if status == 200 and isinstance(body, dict) and body.get("access_token"):
        return str(body["access_token"])
    if isinstance(body, dict) and body.get("error"):
        detail = f"{body['error']}: {body.get('error_description', '')}".strip(": ")
    else:
        detail = f"HTTP {status}"
    raise PardotAuthError(
        f"Salesforce refused the token request at {endpoint} ({detail}). Check the connection's "
        "client_id/client_secret and credentials, and that login_url matches the org (login, test, or My Domain).",
        http_status=status,
    )
