from __future__ import annotations

import base64
import json
import time

import requests
from emu_api import BU, RECORDED, Api, load_json, load_text


def _jwt(claims: dict, alg: str = "RS256") -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc({'alg': alg})}.{enc(claims)}.{base64.urlsafe_b64encode(b'sig').rstrip(b'=').decode()}"


def test_password_grant_shape_matches_recording(emulator):
    api = Api(emulator.url)
    r = api.oauth(grant_type="password", client_id="x", client_secret="y", username="u@x", password="p")
    assert r.status_code == 200
    body = r.json()
    recorded = load_json(f"{RECORDED}/oauth/token-success.json")
    assert set(recorded) <= set(body)
    assert "expires_in" not in body
    assert body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit()
    assert emulator.state()["tokens_issued"] == 1


def test_other_grants(emulator):
    api = Api(emulator.url)
    assert api.oauth(grant_type="client_credentials", client_id="a", client_secret="b").status_code == 200
    # tap-pardot: params in the query string, client id/secret via HTTP Basic
    r = requests.post(
        f"{emulator.url}/services/oauth2/token",
        params={"grant_type": "refresh_token", "refresh_token": "emulator-refresh-token"},
        auth=("emulator-client-id", "emulator-client-secret"),
    )
    assert r.status_code == 200, r.text
    good = _jwt(
        {
            "iss": "emulator-client-id",
            "sub": "integration@emulator.example",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 300,
        }
    )
    assert (
        api.oauth(
            grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
            client_id="emulator-client-id",
            assertion=good,
        ).status_code
        == 200
    )
    expired = _jwt({"iss": "a", "sub": "b", "aud": "c", "exp": int(time.time()) - 5})
    r = api.oauth(grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", client_id="a", assertion=expired)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    r = api.oauth(
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", client_id="a", assertion="not-a-jwt"
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


def test_token_failures(emulator):
    api = Api(emulator.url)
    r = api.oauth(grant_type="bogus", client_id="a")
    assert r.status_code == 400
    assert r.json() == {"error": "unsupported_grant_type", "error_description": "grant type not supported"}
    r = api.oauth(grant_type="password", username="u", password="p")
    assert r.json() == load_json(f"{RECORDED}/oauth/token-error-invalid-client-id.json")
    r = api.oauth(grant_type="password", client_id="a", client_secret="b", username="u")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_strict_auth(emulator):
    emulator.config(strict_auth=True)
    api = Api(emulator.url)
    r = api.oauth(
        grant_type="password",
        client_id="wrong",
        client_secret="emulator-client-secret",
        username="integration@emulator.example",
        password="emulator-password",
    )
    assert r.json()["error"] == "invalid_client_id"
    r = api.oauth(
        grant_type="password",
        client_id="emulator-client-id",
        client_secret="emulator-client-secret",
        username="integration@emulator.example",
        password="nope",
    )
    assert r.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    api.login()
    assert api.get("/api/list/version/4/do/query", limit=1).status_code == 200
    r = api.get(
        "/api/list/version/4/do/query",
        headers=api.headers(**{"Pardot-Business-Unit-Id": "0Uv00000000000ZZZZ"}),
    )
    assert r.json()["@attributes"]["err_code"] == 201
    bad = _jwt(
        {
            "iss": "emulator-client-id",
            "sub": "someone@else",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 300,
        }
    )
    r = api.oauth(
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
        client_id="emulator-client-id",
        assertion=bad,
    )
    assert r.status_code == 400


def test_header_errors(api, emulator):
    path = "/api/list/version/4/do/query"
    r = api.get(path, headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 400
    assert r.json() == {
        "@attributes": {"stat": "fail", "version": 1, "err_code": 181},
        "err": "A required header is missing: Pardot-Business-Unit-Id header not found on request.",
    }
    r = api.get(path, headers=api.headers(**{"Pardot-Business-Unit-Id": "001-not-a-bu"}))
    assert r.json()["@attributes"]["err_code"] == 182
    r = api.get(path, headers={"Pardot-Business-Unit-Id": BU})
    assert r.status_code == 401
    assert r.json()["err"] == "access_token is invalid, unknown, or malformed"
    r = api.get("/api/v5/exports", headers={"Authorization": f"Bearer {api.token}"})
    assert r.status_code == 400
    assert r.json() == load_json(f"{RECORDED}/v5-json/error-181-missing-business-unit-header.json")
    # credentials in a GET query string -> 49 Access Denied
    r = api.get(path, access_token=api.token)
    assert r.json() == {"@attributes": {"stat": "fail", "version": 1, "err_code": 49}, "err": "Access Denied"}


def test_expiry_and_status_184(api, emulator):
    path = "/api/list/version/4/do/query"
    assert api.get(path).status_code == 200
    assert emulator.expire_tokens() >= 1
    r = api.get(path)
    assert r.status_code == 401
    assert r.json()["@attributes"]["err_code"] == 184
    emulator.config(status_184=400)
    r = api.get(path, format="xml")
    assert r.status_code == 400
    assert r.headers["Content-Type"] == "text/xml"
    assert r.text == load_text(f"{RECORDED}/xml/error-184-invalid-access-token.xml").replace("\n\n", "\n")
    api.login()
    emulator.config(token_ttl=0.3)
    assert api.get(path).status_code == 200
    time.sleep(0.4)
    assert api.get(path).json()["@attributes"]["err_code"] == 184


def test_legacy_auth(emulator):
    url = emulator.url
    r = requests.post(f"{url}/api/login/version/4", data={"email": "a@b", "password": "p", "user_key": "k"})
    assert '<err code="199">' in r.text
    emulator.config(legacy_auth=True, strict_auth=True)
    user_key = emulator.identities()["user_key"]
    r = requests.post(
        f"{url}/api/login/version/3", data={"email": "a@b", "password": "p", "user_key": user_key}
    )
    assert '<err code="15">Login failed</err>' in r.text
    r = requests.post(
        f"{url}/api/login/version/4",
        params={"format": "json"},
        data={"email": "integration@emulator.example", "password": "emulator-password", "user_key": user_key},
    )
    body = r.json()
    assert body["@attributes"] == {"stat": "ok", "version": 1}
    assert body["version"] == 4
    key = body["api_key"]
    for header in (f"Pardot api_key={key}, user_key={user_key}", f"Pardot user_key={user_key},api_key={key}"):
        r = requests.get(
            f"{url}/api/list/version/4/do/query",
            params={"format": "json", "limit": 1},
            headers={"Authorization": header},
        )
        assert r.json()["result"]["total_results"] == 250
    # PyPardot4 style: credentials as POST params
    r = requests.post(
        f"{url}/api/list/version/4/do/query",
        params={"format": "json", "api_key": key, "user_key": user_key, "limit": 1},
    )
    assert r.json()["@attributes"]["stat"] == "ok"
    r = requests.get(
        f"{url}/api/list/version/4/do/query",
        params={"format": "json"},
        headers={"Authorization": f"Pardot api_key=nope, user_key={user_key}"},
    )
    assert r.json() == {
        "@attributes": {"stat": "fail", "version": 1, "err_code": 1},
        "err": "Invalid API key or user key",
    }


def test_request_log_has_no_secrets(api, emulator):
    api.get("/api/list/version/4/do/query", **{"X-Return": "1"})
    log = emulator.requests()
    text = json.dumps(log)
    assert api.token not in text
    assert "emulator-password" not in text
    assert "emulator-client-secret" not in text
    last = log[-1]
    assert last["has_authorization"]
    assert last["has_business_unit_id"]
    assert last["auth_scheme"] == "Bearer"
    assert emulator.requests(since=last["seq"]) == []
