"""A process the deployment test starts: its own session (process group), its output in a log file,
and stopped by its process id -- with every process it started, including those that left its
group (Airflow runs each task in a process group of its own)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """One long-running program; subclasses start it with :meth:`spawn`."""

    name = "service"

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.proc: subprocess.Popen | None = None
        self.log_path = logs / f"{self.name}.log"

    def spawn(
        self, cmd: list[str], *, env: dict[str, str] | None = None, user: str | None = None, cwd=None
    ) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                user=user,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_until(self, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.5)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _tree(self) -> list[psutil.Process]:
        """The process and all its descendants (collected before any of them is signalled)."""
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _signal(self, sig: int, tree: list[psutil.Process]) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)  # started with start_new_session: it leads its group
        except (ProcessLookupError, PermissionError):
            pass
        for p in tree:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass

    def kill(self) -> None:
        """SIGKILL the process and every process it started, as when its machine dies."""
        tree = self._tree()
        self._signal(signal.SIGKILL, tree)
        psutil.wait_procs(tree, timeout=10)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL what is left after ``timeout`` seconds."""
        if self.proc is None:
            return
        tree = self._tree()
        self._signal(signal.SIGTERM, tree)
        _, left = psutil.wait_procs(tree, timeout=timeout)
        if left:
            self._signal(signal.SIGKILL, left)
            psutil.wait_procs(left, timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
