"""The identifiers the provider checks or assumes: Pardot record ids and the default connection id."""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_pardot.exceptions import PardotValidationError

#: The connection id operators, sensors and triggers use when none is given. The same as
#: ``PardotHook.default_conn_name``; written here so that a DAG file importing an operator does
#: not import the hook (and ``requests`` with it) while it is parsed.
DEFAULT_CONN_ID = "pardot_default"

_DIGITS = re.compile(r"[0-9]+")


def require_id(name: str, value: Any) -> int:
    """
    Return ``value`` as a Pardot record id (a positive integer), or refuse it before any request.

    Accepts an int or its text (a rendered template gives ``"30001"``); refuses ``None``, booleans,
    empty text, signs, decimals and zero with a :class:`PardotValidationError` naming ``name``.
    """
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not _DIGITS.fullmatch(text) or int(text) == 0:
        raise PardotValidationError(f"{name} must be a Pardot id (a positive integer), not {value!r}.")
    return int(text)
