"""Shared helpers for the benchmarks: emulator subprocess, connection env, child rusage, medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
WORK = BENCH / ".work"
sys.path.insert(0, str(ROOT / "tests"))

from emulator_control import EmulatorControl  # noqa: E402

BUSINESS_UNIT_ID = "0Uv000000000001AAA"
LOGIN = "integration@emulator.example"
PASSWORD = "emulator-password"


def connection(url: str, **extra) -> dict:
    return {
        "conn_type": "pardot",
        "host": url,
        "login": LOGIN,
        "password": PASSWORD,
        "extra": {
            "business_unit_id": BUSINESS_UNIT_ID,
            "client_id": "emulator-client-id",
            "client_secret": "emulator-client-secret",
            "token_url": url,
            "auth_type": "password",
            **extra,
        },
    }


def airflow_env(url: str | None = None, **extra) -> dict[str, str]:
    """Environment for a child that imports airflow: a private AIRFLOW_HOME and the connection."""
    home = WORK / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(BENCH), str(ROOT / "tests")])
    if url is not None:
        env["AIRFLOW_CONN_PARDOT_DEFAULT"] = json.dumps(connection(url, **extra))
    return env


def setup_airflow_in_process(url: str | None = None, **extra) -> None:
    os.environ.update(airflow_env(url, **extra))


class Emulator:
    """``python -m airflow_provider_pardot.emulator`` as a subprocess."""

    def __init__(self, *args: str, name: str = "emu"):
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=WORK))
        port_file = self.dir / "port"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_pardot.emulator",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                "--quiet",
                "--data-dir",
                str(self.dir / "data"),
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(ROOT),
        )
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {self.proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("emulator did not start in 60 s")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        self.control = EmulatorControl(self.url, timeout=600)
        while True:
            try:
                self.control.state()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_measured(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: str | None = None,
    stdout=subprocess.PIPE,
    timeout: float = 900,
) -> dict:
    """Run one child; return wall seconds, its own peak RSS (MiB), CPU seconds and stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd or str(ROOT), stdout=stdout, stderr=subprocess.PIPE)
    # wait4 gives this child's own rusage (peak RSS, CPU), not the sum over every child so far.
    out = b""
    err = b""
    if stdout == subprocess.PIPE:
        # read until EOF first (the child may write more than a pipe buffer)
        import threading

        chunks: list[bytes] = []
        errs: list[bytes] = []
        t1 = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
        t2 = threading.Thread(target=lambda: errs.append(proc.stderr.read()))
        t1.start()
        t2.start()
    else:
        import threading

        chunks, errs = [b""], []
        t1 = None
        t2 = threading.Thread(target=lambda: errs.append(proc.stderr.read()))
        t2.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if t1 is not None:
        t1.join()
    t2.join()
    out = b"".join(chunks)
    err = b"".join(errs)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... exited {proc.returncode}: {err.decode(errors='replace')[-3000:]}")
    return {
        "wall": wall,
        "rss_mib": usage.ru_maxrss / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "stdout": out.decode(errors="replace"),
        "stderr": err.decode(errors="replace"),
    }


def median(values):
    return statistics.median(values)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
