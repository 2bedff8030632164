"""
How values go out in Pardot's forms and query strings.

Pardot reads form values the PHP way: the string ``false`` is a non-empty string, so it is stored
as true (observed against the real API by tamias/pardot-client, whose client sends every boolean
as ``1``/``0``). Every boolean the provider sends in a form or a query string goes out as ``1`` or
``0``, through :func:`pardot_bool`. (Export API arguments travel as JSON and keep JSON booleans.)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from airflow_provider_pardot.exceptions import PardotValidationError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator

#: The spellings of a boolean accepted from users, connections and rendered templates.
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_MEANINGS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def parse_bool(name: str, value: Any) -> bool:
    """Read a boolean given as ``True``/``False`` or a word; raise :class:`PardotValidationError` otherwise."""
    if isinstance(value, bool):
        return value
    meaning = _MEANINGS.get(str(value).strip().lower())
    if meaning is None:
        raise PardotValidationError(f"{name} must be true or false, not {value!r}.")
    return meaning


def iso_datetime(text: str) -> datetime | None:
    """
    Read an ISO 8601 date and time (``2024-05-01T00:00:00Z``, ``2024-05-01 00:00:00+02:00``, a date).

    The one reader of times given as text; ``Z``/``z`` means UTC. ``None`` when ``text`` is not one
    (the caller says which forms it accepts).
    """
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def pardot_bool(value: bool) -> str:
    """A boolean as Pardot reads it in a form or a query string: ``"1"`` or ``"0"``."""
    return "1" if value else "0"


def form_values(params: dict[str, Any], booleans: Collection[str] = ()) -> dict[str, Any]:
    """
    Form or query values as Pardot reads them: ``None`` dropped, booleans as ``1``/``0``.

    :param booleans: names whose values are booleans even when given as words (``"false"``)
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool) or key in booleans:
            out[key] = pardot_bool(parse_bool(key, value))
        else:
            out[key] = value
    return out


class MultipartFile:
    """
    A ``multipart/form-data`` body holding one file part, read as a stream (``len()`` is its size).

    The file's bytes are sent from where they are (a 10 MB import batch is never held in memory,
    let alone copied); :meth:`seek` ``(0)`` rewinds the whole body for another attempt.
    """

    def __init__(self, part: str, filename: str, data: bytes | BinaryIO, content_type: str) -> None:
        import io
        import os
        import secrets

        self.boundary = f"pardot-{secrets.token_hex(16)}"
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._file = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
        self._start = self._file.tell()
        size = self._file.seek(0, os.SEEK_END) - self._start
        self._parts = (io.BytesIO(head), self._file, io.BytesIO(f"\r\n--{self.boundary}--\r\n".encode()))
        self._size = len(head) + size + len(self._parts[2].getbuffer())
        self.seek(0)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(1 << 16):
            yield block

    def seek(self, offset: int, whence: int = 0) -> int:
        """Rewind to the start (the only position a sender asks for)."""
        if (offset, whence) != (0, 0):
            raise ValueError("a multipart body can only be rewound to its start")
        self._parts[0].seek(0)
        self._file.seek(self._start)
        self._parts[2].seek(0)
        self._at, self._pos = 0, 0
        return 0

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        out = b""
        while self._at < len(self._parts) and (size < 0 or len(out) < size):
            block = self._parts[self._at].read(-1 if size < 0 else size - len(out))
            if not block:
                self._at += 1
            out += block
        self._pos += len(out)
        return out
