"""
Small streaming helpers for the transfers: CSV record counting and header splitting, a readable
file over byte chunks, a counting (and, when asked, hashing) writer, and thread-safe progress logging.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

PROGRESS_LOG_SECONDS = 10.0


_NOT_QUOTE_OR_NEWLINE = bytes(b for b in range(256) if b not in b'"\n')


class CsvRowCounter:
    """
    Count CSV records in a byte stream fed chunk by chunk.

    Counts the newlines outside double quotes (a quoted field may hold newlines; ``""`` inside a
    quoted field toggles twice and so changes nothing), plus a last line without a newline.
    """

    def __init__(self) -> None:
        self.newlines = 0
        self.in_quotes = False
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if b'"' not in chunk:
            if not self.in_quotes:
                self.newlines += chunk.count(b"\n")
        else:
            # Only quotes and newlines matter: keep just those, and drop the pairs of quotes that
            # stand together on one line (they cannot change whether a newline is quoted). What is
            # left is small, and the parts outside quotes are counted in one pass in C.
            reduced = chunk.translate(None, _NOT_QUOTE_OR_NEWLINE).replace(b'""', b"")
            parts = reduced.split(b'"')
            self.newlines += b"".join(parts[1 if self.in_quotes else 0 :: 2]).count(b"\n")
            if len(parts) % 2 == 0:  # an odd number of quotes
                self.in_quotes = not self.in_quotes
        self._last = chunk[-1:]

    @property
    def lines(self) -> int:
        """Records including the header."""
        return self.newlines + (1 if self._last not in (b"", b"\n") else 0)

    @property
    def rows(self) -> int:
        """Records excluding the header."""
        return max(self.lines - 1, 0)


def split_header(buffer: bytes) -> tuple[bytes, bytes] | None:
    """``(header line incl. its newline, rest)`` once ``buffer`` holds a whole first line."""
    in_quotes = False
    for pos, byte in enumerate(buffer):
        if byte == 0x22:  # "
            in_quotes = not in_quotes
        elif byte == 0x0A and not in_quotes:  # \n
            return buffer[: pos + 1], buffer[pos + 1 :]
    return None


def header_key(header: bytes) -> bytes:
    return header.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


class ChunkStream(io.RawIOBase):
    """A readable binary file over an iterator of byte chunks (for pandas)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._view):
            try:
                self._view = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._view))
        buffer[:size] = self._view[:size]
        self._view = self._view[size:]
        return size


#: Content checksums a transfer can add to its manifest (``checksum=``).
CHECKSUMS = ("md5", "sha256")


def check_checksum(checksum: str | None) -> str | None:
    if checksum is not None and checksum not in CHECKSUMS:
        raise ValueError(f"checksum must be one of {', '.join(CHECKSUMS)} or None, not {checksum!r}")
    return checksum


class CountingWriter:
    """Wrap a binary file: count what is written, and hash it with ``checksum`` when given."""

    def __init__(self, handle: Any, checksum: str | None = None) -> None:
        self._handle = handle
        self.bytes = 0
        self.checksum = check_checksum(checksum)
        # a content checksum, not a security measure (md5 stays usable on FIPS builds)
        self._digest = hashlib.new(checksum, usedforsecurity=False) if checksum else None

    def write(self, data: Any) -> int:
        data = bytes(data)
        self._handle.write(data)
        self.bytes += len(data)
        if self._digest is not None:
            self._digest.update(data)
        return len(data)

    def digest(self) -> dict[str, str]:
        """``{checksum: hex digest}`` for a manifest entry; empty without a checksum."""
        if self._digest is None or self.checksum is None:
            return {}
        return {self.checksum: self._digest.hexdigest()}

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        self._handle.flush()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:  # the owner closes the real file
        self.flush()


class Unclosable(io.RawIOBase):
    def __init__(self, target: CountingWriter) -> None:
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._target.write(data)


class Progress:
    """Thread-safe progress, logged every few seconds and at each finished file."""

    def __init__(self, log: Any, label: str, files_total: int, every: float = PROGRESS_LOG_SECONDS) -> None:
        self.log = log
        self.label = label
        self.files_total = files_total
        self.every = every
        self.started = time.monotonic()
        self._last_log = self.started
        self._lock = threading.Lock()
        self.bytes = 0
        self.rows = 0
        self.files = 0

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes += count
            now = time.monotonic()
            if now - self._last_log < self.every:
                return
            self._last_log = now
        self._log("in progress")

    def file_done(self, name: str, rows: int) -> None:
        with self._lock:
            self.files += 1
            self.rows += rows
            self._last_log = time.monotonic()
        self._log(f"finished {name}")

    def _log(self, what: str) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.log.info(
            "%s: %s; %d/%d files, %s rows, %.1f MB in %.1fs (%.1f MB/s)",
            self.label,
            what,
            self.files,
            self.files_total,
            f"{self.rows:,}",
            self.bytes / 1e6,
            elapsed,
            self.bytes / 1e6 / elapsed,
        )
