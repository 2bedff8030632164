"""Reading request parameters the way Pardot does.

Pardot is PHP: a form or query value is a string, and a boolean parameter is read with PHP's
truthiness, ``(bool) $value``. Only the empty string and ``"0"`` are false; ``"false"``, ``"no"``,
``"off"`` and every other non-empty string are true. SPEC §6 cites the observation behind this
(tamias/pardot-client found that the string ``false`` is stored as true, and sends 1/0 since).
A parameter whose validation the docs name with its own error (``archived``: error 145 "Allowed
values are true or false") is read strictly instead: :func:`strict_bool`.
"""

from __future__ import annotations

import json
import re

from .errors import PardotError

#: values :func:`strict_bool` accepts, for the parameters Pardot validates (archived, error 145)
STRICT_TRUE = {"true", "1"}
STRICT_FALSE = {"false", "0"}


def get(params: dict, name: str, default=None):
    """The last value of ``name`` (PHP keeps the last of repeated keys)."""
    vals = params.get(name)
    if not vals:
        return default
    return vals[-1]


def get_multi(params: dict, name: str) -> list[str]:
    """``name[]`` repeated, ``name[0]`` PHP style, or a plain ``name`` (comma-separated)."""
    out: list[str] = []
    for key, vals in params.items():
        if key == f"{name}[]" or re.fullmatch(rf"{re.escape(name)}\[\d+\]", key):
            out.extend(vals)
    for v in params.get(name, []):
        out.extend(x for x in v.split(",") if x.strip() != "")
    return [v.strip() for v in out if v.strip() != ""]


def php_bool(value: str | None, default: bool | None = None) -> bool | None:
    """PHP's ``(bool) $value``: ``""`` and ``"0"`` are false, any other string true; absent -> default."""
    if value is None:
        return default
    return value not in ("", "0")


def strict_bool(value: str | None, code: int, default: bool) -> bool:
    """``true``/``false`` (or ``1``/``0``), any case; anything else is Pardot error ``code``."""
    if value is None:
        return default
    v = value.strip().lower()
    if v in STRICT_TRUE:
        return True
    if v in STRICT_FALSE:
        return False
    raise PardotError(code)


def parse_int(value, code: int, name: str = "") -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise PardotError(code, name or None) from None


def json_object(body: bytes, content_type: str, also: tuple[str, ...] = ()) -> dict:
    """A JSON object body: 152 when empty, 151 for a content type that is not JSON (nor in
    ``also``), 150 when it is not a JSON object."""
    if not body.strip():
        raise PardotError(152)
    ctype = content_type.split(";")[0].strip().lower()
    if ctype and "json" not in ctype and ctype not in also:
        raise PardotError(151, ctype)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PardotError(150) from None
    if not isinstance(data, dict):
        raise PardotError(150)
    return data
