"""Every Pardot path the provider calls, built in one place."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

#: Salesforce's OAuth token endpoint, relative to the connection's ``login_url``.
TOKEN_PATH = "/services/oauth2/token"

DEFAULT_API_HOST = "https://pi.pardot.com"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"

#: The key a v3/v4 response uses for each object's rows (``result.<key>`` in a query).
RESULT_KEYS: dict[str, str] = {
    "list": "list",
    "listMembership": "list_membership",
    "dynamicContent": "dynamicContent",
    "lifecycleHistory": "lifecycleHistory",
    "lifecycleStage": "lifecycleStage",
    "prospect": "prospect",
    "visitorActivity": "visitor_activity",
    "visitor": "visitor",
    "visit": "visit",
    "campaign": "campaign",
    "email": "email",
    "emailTemplate": "emailTemplate",
    "emailClick": "emailClick",
    "tag": "tag",
    "tagObject": "tagObject",
    "user": "user",
    "opportunity": "opportunity",
    "customField": "customField",
    "form": "form",
    "customRedirect": "customRedirect",
    "prospectAccount": "prospectAccount",
    "export": "export",
}


def v4_params(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The query string of a v3/v4 request: ``format=json`` (their default is XML), then ``params``."""
    return {"format": "json", **(params or {})}


def object_path(
    object_name: str, version: int, operation: str, id_field: str | None = None, id_value=None
) -> str:
    """``/api/{object}/version/{v}/do/{op}[/{id_field}/{id}]``, with the id URL-encoded."""
    path = f"/api/{object_name}/version/{version}/do/{operation}"
    if id_field is not None:
        path += f"/{id_field}/{quote(str(id_value), safe='')}"
    return path


# Export API ----------------------------------------------------------------------------------------
V5_EXPORTS = "/api/v5/exports"


def export_path(api_version: int, operation: str, export_id: int | str | None = None) -> str:
    """
    The path of an Export API ``operation`` (create, read, query, cancel).

    v5: ``/api/v5/exports[/{id}]``, a cancel ``/api/v5/exports/{id}/do/cancel`` (no document we
    could read gives a v5 cancel; Pardot may refuse it, and a cancel is best effort). v3/v4:
    ``/api/export/version/{v}/do/{operation}[/id/{id}]``.
    """
    if api_version != 5:
        return object_path("export", api_version, operation, None if export_id is None else "id", export_id)
    path = V5_EXPORTS if export_id is None else f"{V5_EXPORTS}/{quote(str(export_id), safe='')}"
    return f"{path}/do/cancel" if operation == "cancel" else path


# Import API (v5 only) --------------------------------------------------------------------------------
V5_IMPORTS = "/api/v5/imports"


def import_path(import_id: int | str | None = None, resource: str | None = None) -> str:
    """``/api/v5/imports[/{id}[/{resource}]]``: create and query, read and submit, ``batches``, ``errors``."""
    path = V5_IMPORTS
    if import_id is not None:
        path += f"/{quote(str(import_id), safe='')}"
        if resource is not None:
            path += f"/{resource}"
    return path


# Emails ----------------------------------------------------------------------------------------------
def email_send_path(version: int, *, prospect_id=None, prospect_email: str | None = None) -> str:
    if prospect_id is not None:
        return object_path("email", version, "send", "prospect_id", prospect_id)
    if prospect_email is not None:
        return object_path("email", version, "send", "prospect_email", prospect_email)
    return object_path("email", version, "send")


def ui_url(api_host: str, path: str) -> str:
    """A link into the Pardot app for the account behind ``api_host`` (used by extra links)."""
    host = api_host.rstrip("/")
    return f"{host}{path}"
