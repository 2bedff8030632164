"""A background worker: a condition variable and one daemon thread that runs ``_loop`` until stopped."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING


class Worker:
    """Exports and imports move on in their own thread; request handlers wait on ``cond``."""

    def __init__(self, emu, name: str):
        self.emu = emu
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    if TYPE_CHECKING:  # each worker (exports, imports) says what its thread does

        def _loop(self) -> None:
            """Move the records on until :meth:`stop`."""

    def start(self) -> None:
        """Start the thread (once the subclass has set up what ``_loop`` reads)."""
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.cond:
            self.cond.notify_all()
        self._thread.join(timeout=5)
