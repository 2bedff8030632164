"""The editable fields of a Pardot list (Object Field References, "List")."""

from __future__ import annotations

from typing import Any

from airflow_provider_pardot.exceptions import PardotValidationError

EDITABLE_LIST_FIELDS = ("name", "is_public", "title", "description", "is_crm_visible")
BOOLEAN_LIST_FIELDS = ("is_public", "is_crm_visible")


def validate_list_fields(fields: dict[str, Any], *, creating: bool) -> None:
    """Refuse unknown or read-only fields, a missing name on create, and non-boolean flags."""
    # The list operators build their template_fields from the tables above when a DAG file is
    # parsed; the reader of flags loads only when a list is validated.
    from airflow_provider_pardot.client.form import parse_bool

    unknown = [name for name in fields if name not in EDITABLE_LIST_FIELDS]
    if unknown:
        raise PardotValidationError(
            f"{', '.join(map(repr, unknown))} cannot be set on a Pardot list; editable fields are "
            f"{', '.join(EDITABLE_LIST_FIELDS)}."
        )
    if creating and not str(fields.get("name") or "").strip():
        raise PardotValidationError("A new Pardot list needs a non-empty name.")
    if not creating and not any(v is not None for v in fields.values()):
        raise PardotValidationError(
            f"Nothing to update: give at least one of {', '.join(EDITABLE_LIST_FIELDS)}."
        )
    if "name" in fields and fields["name"] is not None and not str(fields["name"]).strip():
        raise PardotValidationError("A Pardot list's name cannot be empty.")
    for name in BOOLEAN_LIST_FIELDS:
        if fields.get(name) is not None:
            parse_bool(name, fields[name])
