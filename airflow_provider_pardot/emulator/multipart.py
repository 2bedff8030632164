"""``multipart/form-data`` bodies split into their parts, without copying a file part twice.

Pardot matches part names case-insensitively ("any case can be specified for the parameter"), so
:func:`by_name` does too. A part with a ``filename`` is a file; the request log records only its
size (:func:`summary`), never its content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, else None."""
    main, _, rest = content_type.partition(";")
    if main.strip().lower() != "multipart/form-data":
        return None
    params = _params(";" + rest)
    value = params.get("boundary")
    return value.encode("latin-1") if value else None


def _params(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _PARAM.finditer(header):
        quoted, bare = m.group(2), m.group(3)
        out[m.group(1).lower()] = quoted.replace('\\"', '"') if quoted is not None else bare.strip()
    return out


def _part(raw: bytes) -> Part | None:
    head, sep, data = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, data = raw.partition(b"\n\n")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition", "")
    params = _params(disposition[disposition.find(";") :] if ";" in disposition else "")
    if "name" not in params:
        return None
    return Part(params["name"], params.get("filename"), headers.get("content-type", "text/plain"), data)


def parse(body: bytes, content_type: str) -> list[Part] | None:
    """The parts of a multipart body; None when the content type is not ``multipart/form-data``."""
    sep = boundary(content_type)
    if sep is None:
        return None
    delimiter = b"--" + sep
    parts: list[Part] = []
    pos = body.find(delimiter)
    while pos != -1:
        start = pos + len(delimiter)
        if body[start : start + 2] == b"--":
            break
        start = body.find(b"\n", start) + 1
        end = body.find(b"\r\n" + delimiter, start)
        cut = end
        if end == -1:
            end = body.find(b"\n" + delimiter, start)
            cut = end
        if end == -1 or start == 0:
            break
        part = _part(body[start:cut])
        if part is not None:
            parts.append(part)
        pos = body.find(delimiter, end)
    return parts


def by_name(parts: list[Part], name: str) -> list[Part]:
    low = name.lower()
    return [p for p in parts if p.name.lower() == low]


def summary(part: Part) -> str:
    """What the request log records of a part: the text of a field, the size of a file."""
    if part.is_file:
        return f"<file {part.filename!r}, {len(part.data)} bytes>"
    return part.text()
