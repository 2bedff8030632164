"""Every Pardot path the provider calls, built in one place."""

from __future__ import annotations

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


def export_create_path(api_version: int) -> str:
    if api_version == 5:
        return V5_EXPORTS
    return object_path("export", api_version, "create")


def export_read_path(api_version: int, export_id: int | str) -> str:
    if api_version == 5:
        return f"{V5_EXPORTS}/{quote(str(export_id), safe='')}"
    return object_path("export", api_version, "read", "id", export_id)


def export_query_path(api_version: int) -> str:
    if api_version == 5:
        return V5_EXPORTS
    return object_path("export", api_version, "query")


def export_cancel_path(api_version: int, export_id: int | str) -> str:
    # Not in any document we could read for v5; Pardot may refuse it (a cancel is best effort).
    if api_version == 5:
        return f"{V5_EXPORTS}/{quote(str(export_id), safe='')}/do/cancel"
    return object_path("export", api_version, "cancel", "id", export_id)


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
