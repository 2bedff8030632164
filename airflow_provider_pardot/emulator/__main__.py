"""CLI: ``python -m airflow_provider_pardot.emulator --port 8765 [options]``."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .server import EmulatorServer

#: Seconds per export phase when started by hand: an export takes about 20 s, longer than a task
#: waits to start, so the export sensor of a DAG run in the Airflow UI finds it unfinished and
#: visibly defers. (In-process servers default to 1 s; tests and the demo pass their own pace.)
HUMAN_EXPORT_DELAY = 10.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m airflow_provider_pardot.emulator",
        description="Local Salesforce Pardot (Account Engagement) API emulator",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    p.add_argument(
        "--strict-auth", action="store_true", help="check credentials against the seeded identities"
    )
    p.add_argument("--legacy-auth", action="store_true", help="enable the retired api_key/user_key login")
    p.add_argument("--daily-limit", type=int, default=25000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data-dir", default=None, help="where export files are written (default: a temp dir)")
    p.add_argument(
        "--export-delay",
        type=float,
        default=HUMAN_EXPORT_DELAY,
        help=f"seconds per export phase (default {HUMAN_EXPORT_DELAY:g}; tests pass a shorter one)",
    )
    p.add_argument("--jwt-public-key", default=None, help="PEM file to verify JWT bearer signatures (strict)")
    p.add_argument(
        "--tls-cert", default=None, help="PEM certificate: serve HTTPS instead of HTTP (with --tls-key)"
    )
    p.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert")
    p.add_argument("--port-file", default=None, help="write the bound port here once listening")
    p.add_argument("--quiet", action="store_true", help="no request log on stderr")
    p.add_argument(
        "--latency-ms", type=float, default=0.0, help="answer every API request after this delay (in flight)"
    )
    p.add_argument(
        "--v5-record-cap", type=int, default=100_000, help="records one v5 nextPageToken sequence serves"
    )
    p.add_argument("--v5-token-ttl", type=float, default=4 * 3600.0, help="seconds a v5 page token lives")
    p.add_argument(
        "--records",
        action="append",
        default=[],
        metavar="OBJECT=N",
        help="seed N records of OBJECT (repeatable), e.g. --records visitorActivity=100000",
    )
    p.add_argument(
        "--id-layout",
        choices=("even", "clustered", "early"),
        default="even",
        help="seeded ids 1-3 apart (even), nine in ten in the last 3%% of the id span (clustered) or in the first 3%% (early)",
    )
    a = p.parse_args(argv)
    if (a.tls_cert is None) != (a.tls_key is None):
        p.error("--tls-cert and --tls-key go together")

    counts = {}
    for item in a.records:
        name, sep, n = item.partition("=")
        if not sep or not n.strip().isdigit():
            p.error(f"--records takes OBJECT=N, not {item!r}")
        counts[name.strip()] = int(n)
    pem = None
    if a.jwt_public_key:
        with open(a.jwt_public_key, encoding="utf-8") as fh:
            pem = fh.read()
    server = EmulatorServer(
        a.host,
        a.port,
        seed=a.seed,
        strict_auth=a.strict_auth,
        legacy_auth=a.legacy_auth,
        daily_limit=a.daily_limit,
        export_delay=a.export_delay,
        data_dir=a.data_dir,
        quiet=a.quiet,
        jwt_public_key=pem,
        tls_cert=a.tls_cert,
        tls_key=a.tls_key,
        v5_record_cap=a.v5_record_cap,
        v5_token_ttl=a.v5_token_ttl,
        latency_ms=a.latency_ms,
        counts=counts,
        id_layout=a.id_layout,
    )
    ids = server.emu.identities
    banner = [
        f"Pardot API emulator listening on {server.url}",
        f"  token URL         {server.url}/services/oauth2/token",
        f"  client_id         {ids['client_id']}",
        f"  client_secret     {ids['client_secret']}",
        f"  username          {ids['username']}",
        f"  password          {ids['password']}",
        f"  refresh_token     {ids['refresh_token']}",
        f"  business unit id  {ids['business_unit_id']}",
        f"  legacy user_key   {ids['user_key']}",
        f"  auth mode         {'strict' if a.strict_auth else 'any well-formed credentials'}"
        f"{', legacy api_key login enabled' if a.legacy_auth else ''}",
        f"  control API       {server.url}/_emulator/state",
    ]
    print("\n".join(banner), flush=True)
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(str(server.port))
        os.replace(tmp, a.port_file)

    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
