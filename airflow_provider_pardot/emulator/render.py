"""Rendering of v3/v4 responses (JSON and XML) and of v5 / OAuth bodies.

v3/v4 JSON is Pardot's XML converted to JSON (as the recorded responses show):
* ``{"@attributes":{"stat":"ok","version":1}, ...}`` -- ``version`` is always the integer 1;
* repeated XML elements become arrays, a single one an object, none -> key absent;
* empty elements become ``null``;
* PHP's ``json_encode`` escapes ``/`` as ``\\/`` (visible in the bulk-data-pull docs), we do too.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
OK_ATTRS = {"stat": "ok", "version": 1}


def one_or_many(rows: list) -> Any:
    """Pardot's 0/1/many rule: None (caller omits the key), a single object, or a list."""
    if not rows:
        return None
    if len(rows) == 1:
        return rows[0]
    return list(rows)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).replace("/", "\\/").encode("utf-8")


def plain_dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def ok_json(payload: dict) -> bytes:
    body = {"@attributes": dict(OK_ATTRS)}
    body.update(payload)
    return dumps(body)


def err_json(code: int, msg: str) -> bytes:
    return dumps({"@attributes": {"stat": "fail", "version": 1, "err_code": code}, "err": msg})


def _xml_scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return escape(str(value), {'"': "&quot;"})


def _xml_elem(tag: str, value: Any, out: list, indent: str) -> None:
    if isinstance(value, list):
        for item in value:
            _xml_elem(tag, item, out, indent)
        return
    if value is None:
        out.append(f"{indent}<{tag}/>\n")
    elif isinstance(value, dict):
        if not value:
            out.append(f"{indent}<{tag}/>\n")
            return
        out.append(f"{indent}<{tag}>\n")
        for k, v in value.items():
            _xml_elem(k, v, out, indent + "    ")
        out.append(f"{indent}</{tag}>\n")
    else:
        out.append(f"{indent}<{tag}>{_xml_scalar(value)}</{tag}>\n")


def ok_xml(payload: dict) -> bytes:
    out = [XML_DECL, '<rsp stat="ok" version="1.0">\n']
    for k, v in payload.items():
        _xml_elem(k, v, out, "    ")
    out.append("</rsp>\n")
    return "".join(out).encode("utf-8")


def err_xml(code: int, msg: str) -> bytes:
    return (
        f'{XML_DECL}<rsp stat="fail" version="1.0">\n'
        f'    <err code="{code}">{_xml_scalar(msg)}</err>\n</rsp>\n'
    ).encode()


def v5_error(code: int, msg: str) -> bytes:
    return plain_dumps({"code": code, "message": msg})


def html_error(status: int, reason: str) -> bytes:
    return (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode("ascii")


def ui_page(kind: str, record_id: str) -> bytes:
    """A stand-in for the Pardot app's record page, so extra links land somewhere real."""
    from html import escape

    title = f"Pardot {escape(kind)} {escape(record_id)}"
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>Served by the local Pardot emulator.</p></body></html>"
    ).encode()
