"""
Pardot's error codes and the shapes they arrive in.

This module is the one place that knows which code means what. Pardot reports failures in four
shapes, whatever the HTTP status (older accounts answer ``200`` with ``stat="fail"``; Salesforce
once moved 184 from 401 to 400), so the body is always read:

- v3/v4 JSON: ``{"@attributes": {"stat": "fail", "err_code": 66}, "err": "..."}`` (batch endpoints:
  ``{"@attributes": {"stat": "fail"}, "errors": {"1": "..."}}``)
- v3/v4 XML: ``<rsp stat="fail"><err code="66">...</err></rsp>``
- v5 JSON: ``{"code": 66, "message": "..."}``
- a bare HTTP error (a proxy page, an empty 5xx)
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_provider_pardot.exceptions import (
    PardotApiError,
    PardotAuthError,
    PardotExportError,
    PardotRateLimitError,
)

#: Authentication and authorisation failures (a refresh is tried once for 184 before this applies).
AUTH_ERROR_CODES = frozenset({1, 15, 49, 126, 181, 182, 184, 199, 201})
#: The invalid/expired access token code: the hook fetches a new token once and replays.
INVALID_TOKEN_CODE = 184
#: Too many concurrent requests: Pardot rejected the request before doing anything.
CONCURRENCY_LIMIT_CODE = 66
#: Daily allocation spent: retrying only burns time until the account's day resets.
DAILY_LIMIT_CODE = 122
RATE_LIMIT_CODES = frozenset({CONCURRENCY_LIMIT_CODE, DAILY_LIMIT_CODE})
#: The export is in a state that does not allow the operation (expired, still running).
EXPORT_STATE_CODE = 178
#: "An internal error occurred, please try your request again" and "API request timed out".
TRANSIENT_CODES = frozenset({183, 214})

#: What each code means, for messages that explain more than the server's text.
HINTS: dict[int, str] = {
    1: "The legacy api_key/user_key login is retired; use Salesforce OAuth (auth_type in the connection).",
    15: "Login failed: check the username and password of the connection.",
    49: "Access denied: the Salesforce user is not valid for this business unit, or credentials were sent in a URL.",
    66: "Pardot allows five concurrent requests per account; lower the parallelism (see the README's pool recipe).",
    122: "The account's daily API allocation is spent; it resets at the start of the account's day.",
    126: "Invalid authentication mechanism: use a Salesforce OAuth access token.",
    178: "The export's state does not allow this (it may be expired, still running, or already finished).",
    181: "The Pardot-Business-Unit-Id header is missing: set business_unit_id in the connection extra.",
    182: "The Pardot-Business-Unit-Id header is invalid: business_unit_id must be 18 characters starting with 0Uv.",
    184: "The access token is invalid or expired, or the user lacks the pardot_api scope.",
    199: "api_key authentication is no longer supported; use Salesforce OAuth.",
    201: "The business unit in business_unit_id was not found or is inactive (check pi.pardot.com vs pi.demo.pardot.com).",
}


def exception_class_for(code: int | None, http_status: int | None) -> type[PardotApiError]:
    """Return the exception class for a Pardot error code or, without one, an HTTP status."""
    if code is not None:
        if code in AUTH_ERROR_CODES:
            return PardotAuthError
        if code in RATE_LIMIT_CODES:
            return PardotRateLimitError
        if code == EXPORT_STATE_CODE:
            return PardotExportError
        return PardotApiError
    if http_status == 429:
        return PardotRateLimitError
    if http_status in (401, 403):
        return PardotAuthError
    return PardotApiError


def make_error(message: str, *, code: int | None, http_status: int | None) -> PardotApiError:
    """Build the right :class:`PardotApiError` subclass, adding a hint for well-known codes."""
    hint = HINTS.get(code) if code is not None else None
    if hint and hint not in message:
        message = f"{message} ({hint})"
    return exception_class_for(code, http_status)(message, code=code, http_status=http_status)


_XML_FAIL = re.compile(rb"<rsp[^>]*\bstat\s*=\s*[\"']fail[\"']", re.IGNORECASE)
_XML_ERR = re.compile(rb"<err\b([^>]*)>(.*?)</err>", re.IGNORECASE | re.DOTALL)
_XML_CODE = re.compile(rb"\bcode\s*=\s*[\"'](\d+)[\"']")


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_from_json(body: Any, http_status: int | None) -> PardotApiError | None:
    """Return the error a parsed JSON body describes, or ``None`` when it is not an error."""
    if not isinstance(body, dict):
        return None
    attributes = body.get("@attributes")
    if isinstance(attributes, dict) and str(attributes.get("stat", "")).lower() == "fail":
        code = _as_int(attributes.get("err_code"))
        message = body.get("err")
        if message is None and isinstance(body.get("errors"), dict):
            message = "; ".join(f"item {k}: {v}" for k, v in body["errors"].items())
        return make_error(str(message or "Pardot reported a failure"), code=code, http_status=http_status)
    # v5: {"code": N, "message": "..."} (and nothing that looks like a record)
    if "code" in body and "message" in body and "id" not in body:
        code = _as_int(body.get("code"))
        if code is not None:
            return make_error(str(body["message"]), code=code, http_status=http_status)
    return None


def error_from_xml(raw: bytes, http_status: int | None) -> PardotApiError | None:
    """Return the error a v3/v4 XML body describes, or ``None`` when it is not an error."""
    if not _XML_FAIL.search(raw[:512]):
        return None
    messages, code = [], None
    for attrs, text in _XML_ERR.findall(raw):
        found = _XML_CODE.search(attrs)
        if found and code is None:
            code = int(found.group(1))
        messages.append(text.decode("utf-8", "replace").strip())
    return make_error("; ".join(messages) or "Pardot reported a failure", code=code, http_status=http_status)


def error_from_response(raw: bytes, http_status: int, *, parsed: Any = None) -> PardotApiError | None:
    """
    Recognise an error in any of Pardot's shapes; ``None`` when the response is a success.

    The body is read for its shape whatever the declared content type (a proxy or an old
    account may label it wrongly). A non-2xx status without a recognisable Pardot body becomes
    a bare HTTP error.

    :param parsed: the body already decoded from JSON, when the caller has it
    """
    stripped = raw.lstrip()
    error: PardotApiError | None = None
    if parsed is not None:
        error = error_from_json(parsed, http_status)
    elif stripped.startswith((b"{", b"[")):
        try:
            error = error_from_json(json.loads(stripped), http_status)
        except ValueError:
            error = None
    elif stripped.startswith(b"<"):
        error = error_from_xml(stripped, http_status)
    if error is None and http_status >= 400:
        snippet = stripped[:200].decode("utf-8", "replace").strip()
        if "<html" in snippet.lower():
            snippet = ""
        message = f"HTTP {http_status} from Pardot" + (f": {snippet}" if snippet else "")
        if http_status == 429:
            message += " (rate limited)"
        error = make_error(message, code=None, http_status=http_status)
    return error
