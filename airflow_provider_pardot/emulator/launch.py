"""
Start the emulator in a subprocess, the one way every test, benchmark and script does it.

The emulator owns its command line, so it also owns the launcher: ``python -m
airflow_provider_pardot.emulator --port 0 --port-file F --quiet --data-dir D [args]``, waiting
until the port file appears and ``/_emulator/health`` answers. Standard library only::

    from airflow_provider_pardot.emulator.launch import EmulatorProcess

    with EmulatorProcess("--export-delay", "0") as emulator:
        print(emulator.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO, Any


class EmulatorProcess:
    """
    ``python -m airflow_provider_pardot.emulator`` on a free port, in a subprocess.

    :param args: more command-line options (``--export-delay 0``, ``--records visitorActivity=100``)
    :param workdir: where the port file and ``data/`` (the export files) go; a fresh temporary
        folder, removed on :meth:`stop`, when not given
    :param tls: ``(cert, key)`` PEM files: serve HTTPS; :attr:`url` is then ``https://`` and
        ``cert`` is the file a client trusts
    :param stdout: where the banner goes (default: nowhere); ``stderr`` (default: a pipe, read
        into the error when the emulator exits early) goes with it when ``stdout`` is a file
    :param new_session: start it in its own process group, stopped as a whole
    :param timeout: seconds to wait for it to answer
    :param popen: more :class:`subprocess.Popen` arguments (``env``, ``cwd``, ``text``)
    """

    def __init__(
        self,
        *args: str,
        workdir: str | Path | None = None,
        tls: tuple[str, str] | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        new_session: bool = False,
        timeout: float = 30,
        **popen: Any,
    ) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="pardot-emu-"))
        self.ca = tls[0] if tls else None
        self.args = (*args, *(("--tls-cert", tls[0], "--tls-key", tls[1]) if tls else ()))
        self.new_session = new_session
        self.timeout = timeout
        self.url = ""
        self.port = 0
        self._streams = {"stdout": stdout, "stderr": stderr}
        self._popen = popen
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def command(self, port_file: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "airflow_provider_pardot.emulator",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--quiet",
            "--data-dir",
            str(self.workdir / "data"),
            *self.args,
        ]

    def start(self) -> EmulatorProcess:
        """Start it and wait until it answers; a failed start leaves nothing running."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        port_file = self.workdir / "emulator.port"
        port_file.unlink(missing_ok=True)
        options: dict[str, Any] = {**self._streams, **self._popen, "start_new_session": self.new_session}
        self.proc = subprocess.Popen(self.command(port_file), **options)
        try:
            self._wait_ready(port_file)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, port_file: Path) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {self._error_output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"emulator did not start in {self.timeout:.0f} s")
            time.sleep(0.05)
        self.port = int(port_file.read_text().strip())
        self.url = f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"
        context = ssl.create_default_context(cafile=self.ca) if self.ca else None
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_emulator/health", timeout=5, context=context):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _error_output(self) -> str:
        stderr = self.proc.stderr if self.proc is not None else None
        if stderr is None:
            return f"exit status {self.proc.returncode if self.proc else '?'}"
        text = stderr.read()
        return text.decode(errors="replace") if isinstance(text, bytes) else str(text)

    def stop(self) -> None:
        """Stop it (its whole process group with ``new_session``) and remove a temporary workdir."""
        if self.proc is not None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _signal(self, signum: int) -> None:
        assert self.proc is not None
        try:
            if self.new_session:
                os.killpg(self.proc.pid, signum)  # it leads its own group
            elif self.proc.poll() is None:
                self.proc.send_signal(signum)
        except ProcessLookupError:
            pass

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
