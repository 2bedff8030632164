"""Salesforce OAuth token endpoint, bearer-token store and legacy Pardot api_key login.

Non-strict (default) mode accepts any well-formed credentials and business unit id, like moto
and LocalStack; strict mode checks them against the seeded identities below.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from typing import cast

BU_RE = re.compile(r"^0Uv[A-Za-z0-9]{15}$")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
ORG_ID = "00D000000000001EAA"
USER_ID = "005000000000001AAA"
PARDOT_USER_ID = 1000001


def identities(seed: int) -> dict:
    user_key = hashlib.md5(f"emulator-user-key:{seed}".encode()).hexdigest()  # 32 hex chars
    return {
        "client_id": "emulator-client-id",
        "client_secret": "emulator-client-secret",
        "username": "integration@emulator.example",
        "password": "emulator-password",
        "refresh_token": "emulator-refresh-token",
        "business_unit_id": "0Uv000000000001AAA",
        "user_key": user_key,
    }


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _b64url_json(part: str) -> dict:
    pad = "=" * (-len(part) % 4)
    try:
        raw = base64.urlsafe_b64decode(part + pad)
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if not isinstance(data, dict):
        raise OAuthError("invalid_grant", "invalid assertion")
    return data


class Auth:
    def __init__(self, emu):
        self.emu = emu
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}  # access token -> issued at (epoch seconds)
        self.api_keys: dict[str, float] = {}  # legacy api_key -> issued at
        self.refresh_tokens: set[str] = set()
        self.issued = 0
        self._secret = secrets.token_bytes(16)

    @property
    def ids(self) -> dict:
        return self.emu.identities

    def reset(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.api_keys.clear()
            self.refresh_tokens.clear()
            self.issued = 0

    def expire_all(self) -> int:
        with self.lock:
            n = len(self.tokens) + len(self.api_keys)
            self.tokens.clear()
            self.api_keys.clear()
            return n

    # ------------------------------------------------------------------ OAuth
    def token_endpoint(self, params: dict, basic: tuple[str, str] | None, base_url: str) -> dict:
        def p(name):
            v = params.get(name)
            return v[-1] if v else None

        strict = self.emu.config["strict_auth"]
        grant = p("grant_type")
        client_id = p("client_id") or (basic[0] if basic else None)
        client_secret = p("client_secret") or (basic[1] if basic else None)
        ids = self.ids
        if grant not in ("password", "client_credentials", "refresh_token", JWT_GRANT, "authorization_code"):
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        if not client_id and grant == JWT_GRANT:
            # The JWT bearer flow sends only grant_type and assertion: the client is the iss claim.
            parts = (p("assertion") or "").split(".")
            if len(parts) == 3:
                client_id = _b64url_json(parts[1]).get("iss")
        if not client_id:
            # Salesforce answers a missing client_id like an unknown one
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if strict and client_id != ids["client_id"]:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        body_extra: dict = {}
        if grant == "password":
            if not p("username") or not p("password"):
                raise OAuthError(
                    "invalid_request",
                    "missing required parameter: " + ("username" if not p("username") else "password"),
                )
            if not client_secret:
                raise OAuthError("invalid_client", "invalid client credentials")
            if strict:
                if client_secret != ids["client_secret"]:
                    raise OAuthError("invalid_client", "invalid client credentials")
                # Salesforce accepts password+security token appended: allow a suffix
                if p("username") != ids["username"] or not p("password").startswith(ids["password"]):
                    raise OAuthError("invalid_grant", "authentication failure")
        elif grant == "client_credentials":
            if not client_secret:
                raise OAuthError("invalid_client", "invalid client credentials")
            if strict and client_secret != ids["client_secret"]:
                raise OAuthError("invalid_client", "invalid client credentials")
        elif grant == "refresh_token":
            rt = p("refresh_token")
            if not rt:
                raise OAuthError("invalid_request", "missing required parameter: refresh_token")
            if strict:
                if client_secret is not None and client_secret != ids["client_secret"]:
                    raise OAuthError("invalid_client", "invalid client credentials")
                if rt != ids["refresh_token"] and rt not in self.refresh_tokens:
                    raise OAuthError("invalid_grant", "expired access/refresh token")
        elif grant == JWT_GRANT:
            assertion = p("assertion")
            if not assertion:
                raise OAuthError("invalid_request", "missing required parameter: assertion")
            self._check_jwt(assertion, client_id, base_url, strict)
        elif grant == "authorization_code":
            if not p("code"):
                raise OAuthError("invalid_request", "missing required parameter: code")
            if strict and client_secret is not None and client_secret != ids["client_secret"]:
                raise OAuthError("invalid_client", "invalid client credentials")
            rt = "5Aep" + secrets.token_urlsafe(40)
            with self.lock:
                self.refresh_tokens.add(rt)
            body_extra["refresh_token"] = rt

        token = f"{ORG_ID[:15]}!" + secrets.token_urlsafe(60)
        issued = time.time()
        with self.lock:
            self.tokens[token] = issued
            self.issued += 1
        issued_ms = str(int(issued * 1000))
        sig = base64.b64encode(
            hmac.new(
                self._secret, (f"{base_url}/id/{ORG_ID}/{USER_ID}" + issued_ms).encode(), hashlib.sha256
            ).digest()
        ).decode()
        body = {
            "access_token": token,
            "instance_url": base_url,
            "id": f"{base_url}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": issued_ms,
            "signature": sig,
            "scope": "pardot_api api refresh_token",
        }
        body.update(body_extra)
        return body

    def _check_jwt(self, assertion: str, client_id: str, base_url: str, strict: bool) -> None:
        parts = assertion.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            raise OAuthError("invalid_grant", "invalid assertion")
        header = _b64url_json(parts[0])
        claims = _b64url_json(parts[1])
        for claim in ("iss", "sub", "aud", "exp"):
            if claim not in claims:
                raise OAuthError("invalid_grant", f"invalid assertion: missing {claim}")
        try:
            exp = float(claims["exp"])
        except (TypeError, ValueError):
            raise OAuthError("invalid_grant", "invalid assertion: exp") from None
        if exp <= time.time():
            raise OAuthError("invalid_grant", "expired authorization code")
        if strict:
            if header.get("alg") != "RS256":
                raise OAuthError("invalid_grant", "invalid assertion: alg")
            if claims["iss"] != self.ids["client_id"]:
                raise OAuthError("invalid_client_id", "client identifier invalid")
            if claims["sub"] != self.ids["username"]:
                raise OAuthError("invalid_grant", "user hasn't approved this consumer")
            aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            allowed = set(JWT_AUDIENCES) | {base_url, base_url.rstrip("/")}
            if not any(str(a).rstrip("/") in allowed for a in aud):
                raise OAuthError("invalid_grant", "audience is invalid")
            self._verify_signature(parts)

    def _verify_signature(self, parts: list[str]) -> None:
        """Only when a public key was configured and ``cryptography`` is installed."""
        pem = self.emu.config.get("jwt_public_key")
        if not pem:
            return
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding, rsa
        except ImportError:  # optional dependency
            return
        # RS256 only: the configured key is expected to be an RSA public key.
        key = cast(
            "rsa.RSAPublicKey",
            serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem),
        )
        sig = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        try:
            key.verify(sig, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise OAuthError("invalid_grant", "invalid assertion: signature") from None

    # ------------------------------------------------------------------ checks
    def token_valid(self, token: str) -> bool:
        if self.emu.config.get("accept_any_token") and token:
            return True
        with self.lock:
            issued = self.tokens.get(token)
        if issued is None:
            return False
        ttl = self.emu.config.get("token_ttl")
        if ttl and time.time() - issued > float(ttl):
            with self.lock:
                self.tokens.pop(token, None)
            return False
        return True

    # ------------------------------------------------------------------ legacy
    def legacy_login(self, email: str | None, password: str | None, user_key: str | None) -> str:
        from .errors import PardotError

        if not email or not password or not user_key:
            raise PardotError(15)
        if self.emu.config["strict_auth"]:
            ids = self.ids
            if email != ids["username"] or password != ids["password"] or user_key != ids["user_key"]:
                raise PardotError(15)
        # "Subsequent authentication requests return either the current valid API key or a new one"
        now = time.time()
        ttl = self.emu.config.get("token_ttl") or 3600
        with self.lock:
            for k, t in self.api_keys.items():
                if now - t < ttl:
                    return k
            key = secrets.token_hex(16)
            self.api_keys[key] = now
            self.issued += 1
        return key

    def api_key_valid(self, api_key: str | None, user_key: str | None) -> bool:
        if not api_key or not user_key:
            return False
        if self.emu.config["strict_auth"] and user_key != self.ids["user_key"]:
            return False
        ttl = self.emu.config.get("token_ttl") or 3600  # "API keys are valid for 60 minutes"
        with self.lock:
            t = self.api_keys.get(api_key)
        return t is not None and time.time() - t <= float(ttl)


LEGACY_HEADER = re.compile(r"(api_key|user_key)\s*=\s*([^,\s]+)", re.IGNORECASE)


def parse_pardot_header(value: str) -> dict:
    """``Pardot api_key=..., user_key=...`` in either order, any whitespace."""
    return {k.lower(): v for k, v in LEGACY_HEADER.findall(value)}
