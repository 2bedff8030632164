"""A background worker: a condition variable and one daemon thread that runs ``_loop`` until stopped."""

from __future__ import annotations

import threading


class Worker:
    """Exports and imports move on in their own thread; request handlers wait on ``cond``."""

    def __init__(self, emu, name: str):
        self.emu = emu
        self.cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def _loop(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def start(self) -> None:
        """Start the thread (once the subclass has set up what ``_loop`` reads)."""
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.cond:
            self.cond.notify_all()
        self._thread.join(timeout=5)
