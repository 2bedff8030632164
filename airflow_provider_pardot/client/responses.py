"""
Turn Pardot's successful responses into plain Python values.

Pardot's quirks handled here, once:

- v3/v4 wrap everything in ``{"@attributes": {"stat": "ok", "version": 1}, ...}``: dropped.
- a query page holds no key for 0 rows, an object for 1 row and an array for more (whatever
  ``total_results`` says): always a list here.
- ``output=bulk`` omits ``total_results``; an empty bulk page may come back as ``"result": null``.
- XML (the default format, and what some proxies return) is read too; its text becomes numbers,
  booleans and ``None`` where it plainly is one, so both formats give the same values.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.client.endpoints import RESULT_KEYS

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

_INT = re.compile(r"-?(0|[1-9]\d{0,17})")
_FLOAT = re.compile(r"-?(0|[1-9]\d*)\.\d+")


def _xml_scalar(text: str | None) -> Any:
    if text is None:
        return None
    value = text.strip()
    if value == "":
        return None
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return text


def _xml_to_value(element: Element) -> Any:
    children = list(element)
    if not children:
        return _xml_scalar(element.text)
    out: dict[str, Any] = {}
    for child in children:
        value = _xml_to_value(child)
        if child.tag in out:
            existing = out[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                out[child.tag] = [existing, value]
        else:
            out[child.tag] = value
    return out


def load_json(raw: bytes) -> Any:
    """The body decoded from JSON, or ``None`` when it is not JSON (XML, HTML, empty)."""
    stripped = raw.lstrip()
    if not stripped.startswith((b"{", b"[")):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def parse_body(raw: bytes, parsed: Any = None) -> Any:
    """
    Parse a successful v3/v4/v5 body (JSON or XML) and drop the ``@attributes`` envelope.

    :param parsed: the body already decoded from JSON (see :func:`load_json`), to decode only once
    """
    if parsed is not None:
        body: Any = parsed
    else:
        stripped = raw.strip()
        if not stripped:
            return None
        if stripped.startswith(b"<"):
            from xml.etree import ElementTree  # v3/v4 XML answers only: not loaded to parse a DAG

            body = _xml_to_value(ElementTree.fromstring(stripped)) or {}
        else:
            body = json.loads(stripped)
    if isinstance(body, dict):
        body.pop("@attributes", None)
    return body


def as_list(value: Any) -> list[Any]:
    """Pardot's 0/1/many: nothing -> ``[]``, one object -> ``[obj]``, an array stays an array."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def result_key(object_name: str) -> str:
    return RESULT_KEYS.get(object_name, object_name)


def query_rows(body: Any, object_name: str) -> list[dict[str, Any]]:
    """The rows of one query page, always as a list."""
    if not isinstance(body, dict):
        return []
    result = body.get("result")
    if not isinstance(result, dict):
        return []
    key = result_key(object_name)
    if key in result:
        return as_list(result[key])
    others = [k for k in result if k != "total_results"]
    return as_list(result[others[0]]) if len(others) == 1 else []


def record(body: Any, object_name: str) -> dict[str, Any]:
    """The record of a read/create/update/send response (``{"<key>": {...}}``)."""
    if not isinstance(body, dict):
        return {}
    key = result_key(object_name)
    if key in body:
        value = body[key]
        # A v4 read by email may answer several records; the first is the primary one.
        return value[0] if isinstance(value, list) and value else value
    if len(body) == 1:
        (value,) = body.values()
        if isinstance(value, dict):
            return value
    return body


_RATE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*%?\s*")


def to_number(value: Any) -> Any:
    """``"98.42%"`` -> ``98.42``, ``"12"`` -> ``12``; numbers and anything else unchanged."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    match = _RATE.fullmatch(str(value))
    if not match:
        return value
    number = match.group(1)
    return float(number) if "." in number or "%" in str(value) else int(number)
