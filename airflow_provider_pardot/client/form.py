"""
How values go out in Pardot's forms and query strings.

Pardot reads form values the PHP way: the string ``false`` is a non-empty string, so it is stored
as true (observed against the real API by tamias/pardot-client, whose client sends every boolean
as ``1``/``0``). Every boolean the provider sends in a form or a query string goes out as ``1`` or
``0``, through :func:`pardot_bool`. (Export API arguments travel as JSON and keep JSON booleans.)
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.exceptions import PardotValidationError

if TYPE_CHECKING:
    from collections.abc import Collection

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


def multipart_file(part: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    """
    A ``multipart/form-data`` body holding one file part, and its ``Content-Type`` header.

    Built with one copy of ``data`` (a 10 MB import batch is not copied three times over, as a
    general-purpose encoder does).
    """
    import secrets

    boundary = f"pardot-{secrets.token_hex(16)}"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{part}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return b"".join(
        (head, data, f"\r\n--{boundary}--\r\n".encode())
    ), f"multipart/form-data; boundary={boundary}"
