"""
Security: the bearer token only ever goes to the configured Pardot host; no secret shows in logs,
exception messages or rendered templates; TLS certificates are verified unless the connection
says ``verify_ssl: false``.
"""

from __future__ import annotations

import logging
import warnings
from unittest import mock

import pytest
from _faultkit import ForeignServer, ForwardingProxy, complete_export
from identities import CLIENT_SECRET, PASSWORD, REFRESH_TOKEN

from airflow_provider_pardot.client.tokens import TOKENS
from airflow_provider_pardot.exceptions import PardotApiError, PardotAuthError, PardotValidationError
from airflow_provider_pardot.hooks.pardot import PardotHook


def _context():
    return {"ti": mock.MagicMock(), "task_instance": mock.MagicMock()}


def _transfer(export_id, dest, **kw):
    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotExportToObjectStorageOperator

    return PardotExportToObjectStorageOperator(task_id="t", export_id=export_id, dest=f"file://{dest}", **kw)


def _issued_tokens() -> list[str]:
    return list(TOKENS._tokens.values())  # the access tokens this process holds


# ---------------------------------------------------------------------------------------------
# The token never reaches a foreign host
# ---------------------------------------------------------------------------------------------
def test_result_refs_on_a_foreign_host_are_refused(emulator, make_conn, figures, tmp_path):
    """Pardot (here: a front end that makes the emulator build its URLs on another host) hands out
    ``resultRefs`` on a foreign host: the transfer refuses before any download and the foreign host
    sees nothing at all."""
    with ForeignServer() as foreign, ForwardingProxy(emulator.url, host_header=foreign.netloc) as pardot:
        make_conn(host=pardot.url)
        hook = PardotHook()
        export = complete_export(emulator, hook, rows=1000, file_rows=500)
        refs = hook.get_export(export["id"])["resultRefs"]
        assert refs
        assert all(ref.startswith(foreign.url) for ref in refs)

        dest = tmp_path / "out"
        with pytest.raises(PardotValidationError, match="not on the configured Pardot host") as err:
            _transfer(export["id"], dest).execute(_context())
        with pytest.raises(PardotValidationError):
            list(hook.iter_result(refs[0]))
        for token in _issued_tokens():
            assert token not in str(err.value)
        figures(
            f"SECURITY foreign_result_host: refs={len(refs)} foreign_requests={len(foreign.hits)} "
            f"foreign_auth_headers={sum(1 for h in foreign.hits if h['authorization'])} "
            f"files_written={len(list(dest.glob('*'))) if dest.exists() else 0}"
        )
        assert foreign.hits == []
        assert not dest.exists() or not any(dest.iterdir())


def test_redirect_to_a_foreign_host_is_not_followed(emulator, make_conn, figures, tmp_path):
    """A result download answered with ``302 Location: <foreign host>`` is not followed."""
    with ForeignServer() as foreign, ForwardingProxy(emulator.url, redirect_to=foreign.url) as pardot:
        make_conn(host=pardot.url, max_retries=1)
        hook = PardotHook()
        export = complete_export(emulator, hook, rows=1000, file_rows=1000)
        dest = tmp_path / "out"
        with pytest.raises(PardotApiError):
            _transfer(export["id"], dest).execute(_context())
        redirects = sum(1 for s in pardot.seen if "/results/" in s["path"])
        figures(
            f"SECURITY redirect_to_foreign_host: redirects_answered={redirects} foreign_requests={len(foreign.hits)}"
        )
        assert redirects >= 1
        assert foreign.hits == []
        assert not dest.exists() or not any(dest.iterdir())


def test_token_only_sent_to_pardot_and_no_credential_in_urls(emulator, make_conn, figures, tmp_path):
    make_conn()
    hook = PardotHook()
    export = complete_export(emulator, hook, rows=1000, file_rows=500)
    _transfer(export["id"], tmp_path / "out").execute(_context())
    list(hook.query("list", max_records=300))
    log = emulator.requests()
    token_requests = [r for r in log if r["path"].startswith("/services/oauth2/token")]
    api = [r for r in log if r["path"].startswith("/api/")]
    bearer_on_token_endpoint = sum(1 for r in token_requests if r["auth_scheme"] == "Bearer")
    figures(
        f"SECURITY bearer_scope: api_requests={len(api)} with_bearer={sum(r['auth_scheme'] == 'Bearer' for r in api)} "
        f"token_requests={len(token_requests)} bearer_on_token_endpoint={bearer_on_token_endpoint}"
    )
    assert api
    assert all(r["auth_scheme"] == "Bearer" for r in api)
    assert bearer_on_token_endpoint == 0
    secrets = [PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, *_issued_tokens()]
    for r in log:
        text = f"{r['path']}?{r['query']}"
        assert not any(s in text for s in secrets), text


# ---------------------------------------------------------------------------------------------
# No secret in logs, exception messages or rendered templates
# ---------------------------------------------------------------------------------------------
def _scan(text: str, secrets: list[str]) -> list[str]:
    return [s[:4] + "..." for s in secrets if s and s in text]


@pytest.mark.parametrize("flow", ["password", "refresh_token"])
def test_no_secret_in_task_logs_or_errors(emulator, make_conn, figures, tmp_path, caplog, capfd, flow):
    from airflow_provider_pardot.operators.email import PardotSendOneToOneEmailOperator
    from airflow_provider_pardot.operators.lists import PardotCreateListOperator
    from airflow_provider_pardot.transfers.pardot_to_object_storage import PardotQueryToObjectStorageOperator

    extra = {"auth_type": flow}
    if flow == "refresh_token":
        extra["refresh_token"] = REFRESH_TOKEN
    make_conn(timeout=0.5, max_retries=2, **extra)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    # a run that works (with a token refresh in the middle) ...
    PardotQueryToObjectStorageOperator(task_id="q", object_name="list", dest=f"file://{tmp_path}/q").execute(
        _context()
    )
    tokens = _issued_tokens()
    emulator.expire_tokens()
    PardotCreateListOperator(task_id="c", name="Security check").execute(_context())
    tokens += _issued_tokens()
    # ... and runs that fail in the ways that build messages: ambiguous send, retries exhausted, auth
    emulator.faults({"match": r"/do/send", "kind": "reset_after"})
    with pytest.raises(PardotApiError) as err:
        PardotSendOneToOneEmailOperator(
            task_id="s", prospect_id=emulator.records("prospect")[0], campaign_id=1, email_template_id=101
        ).execute(_context())
    errors.append(str(err.value))
    emulator.faults({"match": r"/do/read", "kind": "status", "status": 503})
    with pytest.raises(PardotApiError) as err:
        PardotHook().read("list", emulator.records("list")[0])
    errors.append(str(err.value))
    emulator.clear_faults()
    emulator.config(strict_auth=True)
    make_conn(password="Wrong-Password-123", client_secret="Wrong-Secret-456", **extra)
    wrong = ["Wrong-Password-123", "Wrong-Secret-456"]
    from airflow_provider_pardot.client.tokens import TOKENS as cache

    cache.clear()
    with pytest.raises(PardotAuthError) as err:
        PardotHook().read("list", 1)
    errors.append(str(err.value))
    errors.append(repr(PardotHook().config))

    secrets = [PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, *tokens, *wrong]
    out, errout = capfd.readouterr()
    logs = caplog.text + out + errout
    leaks_logs = _scan(logs, secrets)
    leaks_errors = _scan("\n".join(errors), secrets)
    figures(
        f"SECURITY secrets[{flow}]: log_chars={len(logs)} log_records={len(caplog.records)} "
        f"secrets_checked={len(set(secrets))} leaks_in_logs={len(leaks_logs)} leaks_in_errors={len(leaks_errors)}"
    )
    assert len(set(tokens)) >= 2  # the check covered a refreshed token too
    assert leaks_logs == []
    assert leaks_errors == []


def test_no_secret_in_rendered_templates(emulator, make_conn, figures):
    """Render every templated field (as the Rendered Template view does) after the hook has read the
    connection: no secret in any of them, and a secret a DAG author templated in is masked."""
    from airflow_provider_pardot.operators.email import PardotSendListEmailOperator

    try:
        from airflow.sdk.execution_time.secrets_masker import redact
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import redact

    make_conn()
    op = PardotSendListEmailOperator(
        task_id="send",
        list_ids="{{ params.lists }}",
        campaign_id="{{ params.campaign }}",
        email_template_id=101,
        subject="Report for {{ params.day }}",
        params={"lists": [1, 2], "campaign": 1001, "day": "Monday"},
    )
    hook = op.hook
    hook.config  # noqa: B018 - reads the connection and registers its secrets with the masker
    list(hook.query("list", max_records=1))
    context = {"params": {"lists": [1, 2], "campaign": 1001, "day": "Monday"}, "ds": "2026-01-01"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        op.render_template_fields(context)
    rendered = {name: getattr(op, name) for name in op.template_fields}
    secrets = [PASSWORD, CLIENT_SECRET, *_issued_tokens()]
    leaks = _scan(repr(rendered), secrets)
    masked = redact(f"token={PASSWORD}")
    figures(
        f"SECURITY rendered_templates: fields={len(rendered)} leaks={len(leaks)} "
        f"templated_secret_masked={PASSWORD not in str(masked)}"
    )
    assert rendered["subject"] == "Report for Monday"
    assert leaks == []
    assert PASSWORD not in str(masked)


# ---------------------------------------------------------------------------------------------
# TLS verification
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verify_ssl", "expected"), [(None, True), (True, True), ("true", True), (False, False), ("false", False)]
)
def test_verify_ssl_flag(make_conn, monkeypatch, verify_ssl, expected):
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    make_conn(verify_ssl=verify_ssl)
    assert PardotHook().session.verify is expected


def _clear_proxy_environment(monkeypatch):
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


def test_environment_read_once_for_the_pardot_host(make_conn, monkeypatch):
    """Proxies and NO_PROXY apply as requests would apply them, but are read when the session is built."""
    _clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    make_conn(host="https://pi.pardot.com")
    session = PardotHook().session
    assert session.trust_env is False  # no scan of the environment (or ~/.netrc) per request
    assert session.proxies.get("https") == "http://proxy.example:3128"
    monkeypatch.setenv("NO_PROXY", "pi.pardot.com")
    assert PardotHook().session.proxies == {}


def test_ca_bundle_from_the_environment_but_never_over_verify_false(
    emulator, make_conn, monkeypatch, tmp_path
):
    with ForwardingProxy(emulator.url, tls=True, workdir=tmp_path / "tls") as pardot:
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pardot.ca))
        make_conn(host=pardot.url, login_url=pardot.url, max_retries=0)
        hook = PardotHook()
        assert hook.session.verify == pardot.ca
        rid = emulator.records("list")[0]
        assert hook.read("list", rid)["id"] == rid  # trusted through the bundle
        # a connection that turns verification off stays off, whatever the environment says
        make_conn(host=pardot.url, login_url=pardot.url, verify_ssl=False)
        assert PardotHook().session.verify is False


def test_self_signed_certificate_refused_unless_disabled(emulator, make_conn, figures, tmp_path):
    with ForwardingProxy(emulator.url, tls=True, workdir=tmp_path / "tls") as pardot:
        assert pardot.url.startswith("https://")
        make_conn(host=pardot.url, login_url=pardot.url, max_retries=0)
        with pytest.raises(PardotApiError) as err:
            PardotHook().read("list", emulator.records("list")[0])
        refused_requests = len(emulator.requests())
        refused_message = str(err.value)

        TOKENS.clear()
        make_conn(host=pardot.url, login_url=pardot.url, verify_ssl=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning
            rid = emulator.records("list")[0]
            record = PardotHook().read("list", rid)
        accepted_requests = len(emulator.requests())
    figures(
        f"SECURITY tls_self_signed: default=refused ({type(err.value).__name__}) requests_through={refused_requests} "
        f"verify_ssl_false=accepted requests_through={accepted_requests}"
    )
    assert refused_requests == 0
    assert "token endpoint" in refused_message or "SSL" in refused_message
    assert record["id"] == rid
    assert accepted_requests >= 2  # token + read
