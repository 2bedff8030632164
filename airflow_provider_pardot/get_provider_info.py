"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

#: The ``pardot`` connection's extra fields, shown in the connection form (Airflow 3.2+ reads
#: this declaratively; 2.11 and 3.0/3.1 read PardotHook.get_connection_form_widgets, built from it).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "business_unit_id": {
        "label": "Business Unit ID",
        "description": "Required: 18 characters starting with 0Uv (Setup > Account Engagement > Business Unit Setup).",
        "schema": {"type": ["string", "null"], "pattern": "^0Uv[0-9A-Za-z]{15}$"},
    },
    "auth_type": {
        "label": "Auth type",
        "description": "The OAuth flow. When not set, it is inferred from the fields given.",
        # A drop-down; the same five names as the hook's connection reader (AUTH_TYPES), written
        # out because Airflow reads this module while it discovers providers: it imports nothing.
        "schema": {
            "type": ["string", "null"],
            "enum": ["client_credentials", "password", "refresh_token", "jwt_bearer", "access_token"],
        },
    },
    "client_id": {
        "label": "Client ID (consumer key)",
        "description": "The connected app's consumer key.",
        "schema": {"type": ["string", "null"]},
    },
    "client_secret": {
        "label": "Client secret (consumer secret)",
        "description": "The connected app's consumer secret.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "refresh_token": {
        "label": "Refresh token",
        "description": "For auth_type refresh_token.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "private_key": {
        "label": "Private key (PEM)",
        "description": "For auth_type jwt_bearer: the RSA key whose certificate is on the connected app.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "access_token": {
        "label": "Access token",
        "description": "For auth_type access_token: a ready Salesforce access token (cannot be refreshed).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "login_url": {
        "label": "Salesforce login URL",
        "description": "https://login.salesforce.com (default), https://test.salesforce.com, or a My Domain URL; "
        "tokens come from <login URL>/services/oauth2/token.",
        "schema": {"type": ["string", "null"]},
    },
    "api_version": {
        "label": "API version",
        "description": "4 (default) or 3, for the /api/<object>/version/<v>/do/<op> endpoints.",
        "schema": {"type": ["string", "null"]},
    },
    "export_api_version": {
        "label": "Export API version",
        "description": "5 (default, /api/v5/exports), or 4 / 3 for /api/export/version/<v>.",
        "schema": {"type": ["string", "null"]},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout; default 60.",
        "schema": {"type": ["string", "null"]},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retry budget for safe requests; default 5.",
        "schema": {"type": ["string", "null"]},
    },
    "retry_backoff": {
        "label": "Retry backoff (seconds)",
        "description": "First wait before a retry (exponential with jitter); default 1.",
        "schema": {"type": ["string", "null"]},
    },
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "true (default); false only for a test server with a self-signed certificate.",
        "schema": {"type": ["string", "null"]},
    },
    "jwt_audience": {
        "label": "JWT audience",
        "description": "For jwt_bearer: the aud claim; default https://login.salesforce.com "
        "(https://test.salesforce.com for sandboxes).",
        "schema": {"type": ["string", "null"]},
    },
    "daily_request_budget": {
        "label": "Daily request budget",
        "description": "Stop sending once the account's usage reaches this many requests, or this share "
        "of the daily maximum (e.g. 80%).",
        "schema": {"type": ["string", "null"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {
        "host": "Pardot API URL",
        "login": "Salesforce username",
        "password": "Salesforce password",
    },
    "placeholders": {
        "host": "https://pi.pardot.com",
        "login": "integration@example.com",
        "business_unit_id": "0Uv000000000000AAA",
        "login_url": "https://login.salesforce.com",
        "api_version": "4",
        "export_api_version": "5",
        "timeout": "60",
        "max_retries": "5",
        "daily_request_budget": "80%",
    },
}

_INTEGRATION = "Salesforce Pardot"
_PACKAGE = "airflow_provider_pardot"

_PARDOT_URIS = {
    "schemes": ["pardot"],
    "handler": f"{_PACKAGE}.lineage.openlineage.sanitize_uri",
    "factory": f"{_PACKAGE}.lineage.openlineage.create_asset",
    "to_openlineage_converter": f"{_PACKAGE}.lineage.openlineage.convert_asset_to_openlineage",
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata."""
    from airflow_provider_pardot import __version__

    return {
        "package-name": "airflow-provider-pardot",
        "name": "Salesforce Pardot",
        "description": "`Salesforce Pardot (Marketing Cloud Account Engagement) <https://www.salesforce.com/marketing/b2b-automation/>`__\n",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://developer.salesforce.com/docs/marketing/pardot/overview",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_PACKAGE}.hooks.pardot"]}],
        "operators": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [
                    f"{_PACKAGE}.operators.email",
                    f"{_PACKAGE}.operators.lists",
                    f"{_PACKAGE}.operators.export",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_PACKAGE}.sensors.export", f"{_PACKAGE}.sensors.imports"],
            }
        ],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_PACKAGE}.triggers.export", f"{_PACKAGE}.triggers.imports"],
            }
        ],
        "transfers": [
            {
                "source-integration-name": _INTEGRATION,
                "target-integration-name": "Common IO",
                "python-module": f"{_PACKAGE}.transfers.pardot_to_object_storage",
            },
            {
                "source-integration-name": "Common IO",
                "target-integration-name": _INTEGRATION,
                "python-module": f"{_PACKAGE}.transfers.object_storage_to_pardot",
            },
        ],
        "connection-types": [
            {
                "hook-class-name": f"{_PACKAGE}.hooks.pardot.PardotHook",
                "hook-name": "Pardot",
                "connection-type": "pardot",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": [
            f"{_PACKAGE}.links.pardot.PardotExportLink",
            f"{_PACKAGE}.links.pardot.PardotEmailLink",
            f"{_PACKAGE}.links.pardot.PardotListLink",
        ],
        # pardot://<business_unit_id>/<object>: hook lineage and OpenLineage (Airflow 3 / 2.11 names)
        "asset-uris": [_PARDOT_URIS],
        "dataset-uris": [_PARDOT_URIS],
    }
