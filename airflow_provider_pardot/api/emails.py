"""
Email sends: the validation of their documented parameters (``api/email_params.py``), and the form
Pardot reads.

Pardot accepts an email in exactly one of three ways (email docs, "Creating the Email"):

1. ``email_template_id``
2. ``text_content`` + ``name`` + ``subject`` + ``from_email`` + ``from_name``
3. ``text_content`` + ``name`` + ``subject`` + ``from_user_id``

with ``campaign_id`` always, and text/HTML bodies that carry ``%%unsubscribe%%`` or
``%%email_preference_center%%``. Everything here runs before a request is sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from airflow_provider_pardot.api.email_params import (
    ARRAY_PARAMS,
    BOOLEAN_PARAMS,
    ID_PARAMS,
    LIST_ONLY_PARAMS,
    LIST_PARAMS,
    ONE_TO_ONE_PARAMS,
)
from airflow_provider_pardot.api.ids import require_id
from airflow_provider_pardot.client.form import iso_datetime, pardot_bool, parse_bool
from airflow_provider_pardot.exceptions import PardotValidationError

UNSUBSCRIBE_TAGS = ("%%unsubscribe%%", "%%email_preference_center%%")

WAYS = (
    "(1) email_template_id; "
    "(2) text_content + name + subject + from_email + from_name; "
    "(3) text_content + name + subject + from_user_id"
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _given(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _canonical(params: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    """Accept ``list_ids[]`` as well as ``list_ids``; refuse names the docs do not have."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = key[:-2] if key.endswith("[]") else key
        if name == "format":
            continue
        if name not in allowed:
            raise PardotValidationError(
                f"{key!r} is not a parameter of this Pardot email send. Documented parameters: {', '.join(allowed)}."
            )
        out[name] = value
    return out


def _ids(name: str, value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        items = [v for v in str(value).split(",") if v.strip()]
    else:
        items = list(value)
    return [require_id(f"{name} item", item) for item in items]


def scheduled_time_value(value: Any) -> str:
    """
    Return ``scheduled_time`` as ISO 8601 with seconds and, when given, its offset; or raise.

    A datetime, or its text as a template renders it (``{{ data_interval_end }}``; ``Z`` = UTC).
    """
    moment = iso_datetime(value) if isinstance(value, str) and value.strip() else value
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    raise PardotValidationError(
        f"scheduled_time={value!r} is not an ISO 8601 date and time; use e.g. '2026-10-31T17:00:00-04:00' "
        "or a datetime."
    )


def _validate_content(params: dict[str, Any]) -> None:
    if not _given(params, "campaign_id"):
        raise PardotValidationError(
            f"campaign_id is required for every Pardot email send. Ways to give the email: {WAYS}."
        )
    for name in ID_PARAMS:
        if _given(params, name):
            require_id(name, params[name])
    template = _given(params, "email_template_id")
    content = [n for n in ("text_content", "html_content") if _given(params, n)]
    if template and content:
        raise PardotValidationError(
            f"Give either email_template_id or {' and '.join(content)}, not both. Ways to give the email: {WAYS}."
        )
    if not template:
        missing = [n for n in ("text_content", "name", "subject") if not _given(params, n)]
        sender_email = _given(params, "from_email") and _given(params, "from_name")
        sender_user = _given(params, "from_user_id")
        if sender_email and sender_user:
            raise PardotValidationError(
                f"Give either from_email + from_name or from_user_id as the sender, not both. Ways: {WAYS}."
            )
        if not sender_email and not sender_user:
            partial = [n for n in ("from_email", "from_name") if _given(params, n)]
            missing.append(
                f"{'from_name' if partial == ['from_email'] else 'from_email'} (or from_user_id)"
                if partial
                else "from_email + from_name (or from_user_id)"
            )
        if missing:
            raise PardotValidationError(
                f"The email is incomplete: missing {', '.join(missing)}. Supply it in one of the documented ways: {WAYS}."
            )
    for name in ("text_content", "html_content"):
        if _given(params, name) and not any(tag in str(params[name]) for tag in UNSUBSCRIBE_TAGS):
            raise PardotValidationError(
                f"{name} must contain %%unsubscribe%% or %%email_preference_center%% (Pardot refuses it otherwise)."
            )
    for name in ("from_email", "replyto_email"):
        if _given(params, name) and not _EMAIL.fullmatch(str(params[name]).strip()):
            raise PardotValidationError(f"{name}={params[name]!r} is not an email address.")
    if _given(params, "scheduled_time"):
        scheduled_time_value(params["scheduled_time"])
    for name in BOOLEAN_PARAMS:
        if _given(params, name):
            parse_bool(name, params[name])
    if "tags" in params and params["tags"] is not None:
        tags = [params["tags"]] if isinstance(params["tags"], str) else list(params["tags"])
        if any(not str(t).strip() for t in tags):
            raise PardotValidationError("tags must be non-empty strings.")


def validate_list_send(params: dict[str, Any]) -> dict[str, Any]:
    """Validate a list send's parameters; return them with canonical names."""
    clean = _canonical(params, LIST_PARAMS)
    if not _ids("list_ids", clean.get("list_ids")):
        raise PardotValidationError("A list email needs at least one list id in list_ids.")
    _ids("suppression_list_ids", clean.get("suppression_list_ids"))
    _validate_content(clean)
    return clean


def validate_one_to_one_send(
    *, prospect_id: Any, prospect_email: Any, params: dict[str, Any]
) -> dict[str, Any]:
    """Validate a one-to-one send: exactly one of prospect_id / prospect_email, and the email itself."""
    has_id = prospect_id is not None and str(prospect_id).strip() != ""
    has_email = prospect_email is not None and str(prospect_email).strip() != ""
    if has_id == has_email:
        raise PardotValidationError(
            "A one-to-one email needs exactly one of prospect_id or prospect_email"
            + (" (both were given)." if has_id else " (neither was given).")
        )
    if has_id:
        require_id("prospect_id", prospect_id)
    elif not _EMAIL.fullmatch(str(prospect_email).strip()):
        raise PardotValidationError(f"prospect_email={prospect_email!r} is not an email address.")
    listed = [k for k in params if k.rstrip("[]") in LIST_ONLY_PARAMS]
    if listed:
        raise PardotValidationError(
            f"{', '.join(listed)} only apply to list emails; use PardotSendListEmailOperator to send to lists."
        )
    clean = _canonical(params, ONE_TO_ONE_PARAMS)
    _validate_content(clean)
    return clean


def send_params(params: dict[str, Any]) -> dict[str, Any]:
    """The form body of a send: arrays as repeated ``name[]``, ISO times, flags as ``1`` only when set."""
    form: dict[str, Any] = {}
    for key, value in params.items():
        name = key[:-2] if key.endswith("[]") else key
        if value is None:
            continue
        if name in ARRAY_PARAMS:
            items: list[Any] = [value] if isinstance(value, (str, int)) else list(value)
            if name != "tags":
                items = list(_ids(name, items))
            if items:
                form[f"{name}[]"] = [str(v) for v in items]
        elif name in BOOLEAN_PARAMS:
            # Every flag defaults to false: a false one is left out, a true one goes out as 1.
            if _given(params, key) and parse_bool(name, value):
                form[name] = pardot_bool(True)
        elif name == "scheduled_time":
            form[name] = scheduled_time_value(value)
        else:
            form[name] = value
    return form
