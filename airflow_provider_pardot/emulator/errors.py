"""Pardot error codes and messages, and the HTTP status the emulator answers with.

Messages come from the documented error table (pardot/api-docs@458561a
``docs/kb/error-codes-messages.md`` and the current Salesforce error-code page).

HTTP statuses (the docs pin only a few of them; the others follow what public clients and
their mocks observed):

* 184 (invalid/expired access token)             -> 401 (rudderstack mocks); control ``status_184``
  may switch it to 400, as Salesforce did once (Segment PR #2306).
* 66 (concurrency) and 122 (daily limit)          -> 429 (UNCERTAIN; Airbyte treats 122 as 429).
* 109 (record not found), 198 (endpoint not found) -> 404 (amp-labs v5 tests serve 109 with 404).
* 183 (internal error)                            -> 500.
* everything else                                 -> 400 (recorded: err 4 came back with 400).
* control ``errors_http_200: true`` answers every error with 200, as older Pardot did.
"""

from __future__ import annotations

MESSAGES: dict[int, str] = {
    1: "Invalid API key or user key",
    2: "Invalid action",
    3: "Invalid prospect ID",
    4: "Invalid prospect email address",
    5: "Invalid query parameters",
    6: "Invalid time frame",
    7: "Invalid timestamp",
    8: "Invalid time range",
    13: "One or more required parameters are missing",
    15: "Login failed",
    16: "Invalid ID",
    17: "Invalid ID range",
    19: "Invalid value specified for sort_by",
    20: "Invalid value specified for sort_order",
    21: "Invalid value specified for offset",
    22: "Unsupported feature in this version of the API",
    23: "Invalid value specified for limit",
    27: "Parameter deleted must be true or false",
    36: "One or more required parameter values are missing",
    38: "Invalid campaign ID",
    44: "The provided prospect_id and prospect_email parameters do not match",
    49: "Access Denied",
    50: "Invalid boolean",
    51: "Invalid parameter",
    55: "Invalid list ID",
    60: "Invalid HTTP request method",
    64: "Email content missing required variables",
    65: "Invalid email format",
    66: "You have exceeded your concurrent request limit.  Please wait, before trying again",
    68: "Template with this id does not exist.",
    86: "Invalid Template id",
    88: "Your account must use version 4 of the API.",
    89: "Your account is unable to use version 4 of the API.",
    94: "The provided version is not a valid number",
    109: "The requested record was not found.",
    122: "Daily API rate limit met.",
    126: "Invalid authentication mechanism",
    130: "One or more of the specified fields are invalid",
    145: "Invalid archived parameter specified. Allowed values are true or false.",
    150: "Input needs to be valid JSON",
    151: "Unsupported content-type",
    152: "Request body can't be empty",
    153: "Missing required property in request",
    154: "Invalid property in request",
    174: "Unknown procedure name.",
    175: "Unknown procedure argument.",
    176: "Missing required argument.",
    177: "Invalid procedure argument.",
    178: "The current state of the export does not allow the operation",
    180: "One or more of the specified fields are invalid",
    181: "A required header is missing",
    182: "Invalid header value",
    183: "An internal error occurred, please try your request again",
    184: "access_token is invalid, unknown, or malformed",
    192: "Object specified does not exist",
    198: "Endpoint not found",
    199: "Authentication using an api_key is no longer supported. Use Salesforce OAuth access token instead.",
    201: "Business Unit specified in Pardot-Business-Unit-Id header not found or inactive.",
    209: "Too many fields have filters: The max number of 3 distinct fields with filters was exceeded for this query.",
    210: "Page token has expired.",
    211: "Page token is invalid.",
    214: "API request timed out.",
}

# Codes whose message is matched verbatim by existing clients (ruby-pardot, PyPardot4,
# PyPardotSF): never add a ": detail" suffix to these.
EXACT_MESSAGE_CODES = {1, 15, 66, 122, 184}


def message(code: int, detail: str | None = None) -> str:
    base = MESSAGES.get(code, "Unknown error")
    if detail and code not in EXACT_MESSAGE_CODES:
        return f"{base}: {detail}"
    return base


class PardotError(Exception):
    """Raised anywhere in request handling; rendered in the caller's format."""

    def __init__(self, code: int, detail: str | None = None, status: int | None = None):
        self.code = int(code)
        self.detail = detail
        self.status = status
        super().__init__(message(self.code, detail))

    @property
    def message(self) -> str:
        return message(self.code, self.detail)


def http_status(code: int, config: dict) -> int:
    if config.get("errors_http_200"):
        return 200
    if code == 184:
        return int(config.get("status_184") or 401)
    if code in (66, 122):
        return 429
    if code in (109, 198):
        return 404
    if code == 183:
        return 500
    return 400
