"""Hooks for Salesforce Pardot (Marketing Cloud Account Engagement)."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import time
import weakref
from contextlib import nullcontext
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO, Unpack
from urllib.parse import urljoin, urlsplit

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID, require_id
from airflow_provider_pardot.api.lists import BOOLEAN_LIST_FIELDS, validate_list_fields
from airflow_provider_pardot.client import endpoints
from airflow_provider_pardot.exceptions import (
    PardotApiError,
    PardotConnectionNotFoundError,
    PardotValidationError,
)

# What a DAG file imports must not cost it the HTTP client, the API's rules or lineage: the hook's
# internals (client pipeline, tokens, auth, connection, form, responses; email, export, import,
# query and v5 rules; streams; lineage) are imported inside the method that needs them, when a task
# runs. Only the small modules above, which operators also need to define their classes, load here.

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx
    import requests

    from airflow_provider_pardot.client.connection import PardotConnectionConfig
    from airflow_provider_pardot.client.form import MultipartFile
    from airflow_provider_pardot.client.pipeline import Attempt, CallOptions, Exchange, Reply, SendFailed
    from airflow_provider_pardot.client.retry import Failure
    from airflow_provider_pardot.client.usage import ApiUsage

#: Pardot accepts five concurrent requests per account; one hook never has more in flight.
MAX_IN_FLIGHT = 5
#: Bytes of a request body handed to the socket at once (urllib3 sends 16 KiB at a time).
SEND_BLOCK = 1 << 20
#: v3/v4 query pages hold at most 200 rows.
PAGE_SIZE = 200
#: Pardot's advice for bulk pulls: basic data, no ``total_results`` to count.
BULK_OUTPUT = "bulk"
DOWNLOAD_CHUNK = 1024 * 1024


class PardotHook(BaseHook):
    """
    Interact with Salesforce Pardot (Account Engagement): v5 object queries and reads, the v3/v4
    object API (lists, emails, queries, reads) and the Export API (v3/v4 or v5).

    The hook owns authentication (Salesforce OAuth, with the ``Pardot-Business-Unit-Id`` header on
    every request), Pardot's response quirks, errors, retries and rate limits. Every input is
    checked where it enters (here, so a ``@task`` calling the hook is protected as the operators
    are) before any request is sent. Reads report what they read to Airflow's hook lineage
    collector. Failures raise :class:`~airflow_provider_pardot.exceptions.PardotApiError` or one
    of its subclasses.

    .. seealso::
        The README's "Connection" section lists every field of a ``pardot`` connection.

    :param pardot_conn_id: The id of the ``pardot`` connection to use.
    """

    conn_name_attr = "pardot_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "pardot"
    hook_name = "Pardot"

    def __init__(self, pardot_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        from airflow_provider_pardot.lineage.openlineage import ExportObjects

        super().__init__(**kwargs)
        self.pardot_conn_id = pardot_conn_id
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._token_lock = threading.Lock()  # parallel pages fetch one token, not one each
        self._export_objects = ExportObjects()

    # Connection form ------------------------------------------------------------------------------
    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the connection form's extra fields (Airflow 2.11 and the 3.0/3.1 UI)."""
        from airflow_provider_pardot.hooks.connection_form import legacy_form_widgets

        return legacy_form_widgets()

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form's field behaviour (hidden fields, labels, placeholders)."""
        from airflow_provider_pardot.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    # Configuration --------------------------------------------------------------------------------
    @cached_property
    def config(self) -> PardotConnectionConfig:
        """The validated connection (read once; raises PardotValidationError when it is wrong or missing)."""
        try:
            conn = self.get_connection(self.pardot_conn_id)
        except AirflowNotFoundException:
            raise PardotConnectionNotFoundError.for_conn_id(self.pardot_conn_id) from None
        return config_from_connection(conn, conn.extra_dejson)

    @cached_property
    def session(self) -> requests.Session:
        # requests (and httpx in the async hook) load when a task first talks to Pardot, never
        # when a DAG file that imports this module is parsed.
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=MAX_IN_FLIGHT, max_retries=0)
        # A request body (a 10 MB import batch) goes out 1 MiB a send, not urllib3's 16 KiB: each
        # send takes the GIL, and a thread converting the next batch holds it up to 5 ms at a time.
        adapter.poolmanager.connection_pool_kw["blocksize"] = SEND_BLOCK
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) is read once, here, for the
        # Pardot host: by default requests reads it again for every request, a scan of the whole
        # environment. ~/.netrc is not consulted: the hook sends its own Authorization header.
        settings = session.merge_environment_settings(
            self.config.host, {}, False, self.config.verify_ssl, None
        )
        session.trust_env = False
        session.proxies = settings["proxies"]
        session.verify = settings["verify"]
        session.headers["User-Agent"] = user_agent()
        return session

    def get_conn(self) -> requests.Session:
        """Return the authenticated-on-demand :class:`requests.Session` the hook uses."""
        return self.session

    @property
    def last_usage(self) -> ApiUsage | None:
        """The account's usage as last reported by Pardot to this process."""
        from airflow_provider_pardot.client.tokens import USAGE

        return USAGE.get(self.config.business_unit_id)

    def usage_summary(self) -> str:
        """``"Pardot API: 37 requests by this task; account usage 1,234/25,000 today"``."""
        from airflow_provider_pardot.client.tokens import USAGE
        from airflow_provider_pardot.client.usage import usage_line

        usage = USAGE.get(self.config.business_unit_id) if "config" in self.__dict__ else None
        return usage_line(self.request_count, usage)

    def log_usage(self) -> None:
        self.log.info("%s", self.usage_summary())

    # Authentication -------------------------------------------------------------------------------
    def _token(self) -> str:
        from airflow_provider_pardot.client.tokens import TOKENS

        token = TOKENS.lookup(self.config)
        if token is None:
            with self._token_lock:  # parallel pages starting together fetch one token
                token = TOKENS.lookup(self.config) or TOKENS.keep(self.config, self._fetch_token())
        return token

    def _fetch_token(self) -> str:
        import requests

        from airflow_provider_pardot.client.auth import token_request

        config = self.config
        fetch = token_request(config)

        self.log.info("Fetching a Salesforce access token (%s flow) from %s", config.auth_type, fetch.endpoint)
        try:
            response = requests.post(
                fetch.endpoint,
                data=fetch.form,
                headers={"Accept": "application/json", "User-Agent": user_agent()},
                timeout=config.timeout,
                verify=config.verify_ssl,
            )
        except requests.RequestException as err:
            raise fetch.unreachable(err) from None
        return fetch.accept(response.status_code, response.content)

    # Requests -------------------------------------------------------------------------------------
    def _count(self) -> None:
        with self._count_lock:
            self.request_count += 1

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | bytes | MultipartFile | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        stream: bool = False,
        action: str | None = None,
        slot_held: bool = False,
        headers: dict[str, str] | None = None,
        redirect: bool = False,
    ) -> Reply:
        """
        Send one request to Pardot with auth, retries, the in-flight cap and the budget check.

        Returns the successful answer as a :class:`~airflow_provider_pardot.client.pipeline.Reply`
        (a streamed download's open response in ``stream``); raises :class:`PardotApiError`
        otherwise. The attempts and what a failure means come from
        :mod:`airflow_provider_pardot.client.pipeline`, shared with :class:`PardotAsyncHook`.

        :param idempotent: whether the request may be repeated (defaults to ``method == "GET"``)
        :param action: what the request does, for messages about requests that may have happened
        :param slot_held: the caller already holds one of the hook's five in-flight slots
        :param redirect: return a redirect (its ``Location`` is the caller's to follow) instead of
            failing on it
        """
        from airflow_provider_pardot.client.form import MultipartFile
        from airflow_provider_pardot.client.pipeline import TOKEN, Exchange, Pause, Reply

        exchange = Exchange.start(self.config, method, path, idempotent=idempotent, action=action)
        body = {"params": params, "data": data, "json": json}
        options: dict[str, Any] = {"stream": stream, "slot_held": slot_held, "headers": headers, "redirect": redirect}
        steps = exchange.attempts(self.log)
        answer: Any = None  # what the last step asked for
        while not isinstance(step := steps.send(answer), Reply):
            if step is TOKEN:
                answer = self._token()
            elif isinstance(step, Pause):
                answer = None
                time.sleep(step.seconds)
            else:
                if isinstance(data, MultipartFile):
                    data.seek(0)  # a stream is sent whole by every attempt
                answer = self._send_once(exchange, step, body, **options)
        return step

    def _send_once(
        self,
        exchange: Exchange,
        attempt: Attempt,
        body: dict[str, Any],
        stream: bool,
        slot_held: bool,
        headers: dict[str, str] | None,
        redirect: bool,
    ) -> Reply | SendFailed:
        """Send one attempt over requests: its :class:`Reply`, or how it failed."""
        import requests

        from airflow_provider_pardot.client.pipeline import Reply, record_usage
        from airflow_provider_pardot.client.retry import Failure

        with nullcontext() if slot_held else self._in_flight:
            self._count()
            try:
                response = self.session.request(
                    exchange.method,
                    exchange.url,
                    **body,
                    headers=exchange.headers(attempt.token, headers),
                    timeout=self.config.timeout,
                    stream=stream,
                    allow_redirects=False,
                )
            except requests.RequestException as err:
                return exchange.transport_failed(_failure_of(err), err)
            if (redirect and response.is_redirect) or (
                stream and response.status_code < 300 and "json" not in response.headers.get("Content-Type", "")
            ):
                record_usage(self.config, response.headers)
                return Reply(response.status_code, response.headers, stream=response)
            try:
                raw = response.content
            except requests.RequestException as err:
                return exchange.transport_failed(Failure.DROPPED, err, "answer cut off")
        reply = exchange.reply(response.status_code, response.headers, raw)
        return replace(reply, stream=response) if stream and isinstance(reply, Reply) else reply

    def call(self, method: str, path: str, **options: Unpack[CallOptions]) -> Any:
        """
        Send a request and return its parsed body (``None`` for an empty answer, e.g. HTTP 204).

        Takes the keyword arguments of :class:`~airflow_provider_pardot.client.pipeline.CallOptions`
        (``params``, ``data``, ``json``, ``idempotent``, ``action``).
        """
        return self.request(method, path, **options).body

    def _v(self) -> int:
        return self.config.api_version

    def _object_call(
        self, method: str, object_name: str, operation: str, id_field: str | None = None, id_value=None, **kw
    ) -> Any:
        path = endpoints.object_path(object_name, self._v(), operation, id_field, id_value)
        return self.call(method, path, params=endpoints.v4_params(kw.pop("params", None)), **kw)

    # Objects --------------------------------------------------------------------------------------
    def query(
        self,
        object_name: str,
        *,
        fields: list[str] | str | None = None,
        max_records: int | None = None,
        concurrency: int = 1,
        **criteria: Any,
    ) -> Iterator[dict[str, Any]]:
        """
        Return an iterator over every record of ``object_name`` matching ``criteria``, each exactly once.

        A v5 name (``lists``, ``list-memberships``, ``lifecycle-histories``, ``prospects``, ...)
        queries ``/api/v5/objects/<name>``: 1,000 records a call, v5 field names and filters
        (``createdAtAfterOrEqualTo``, ``idGreaterThan``, ``deleted``, ...), and ``concurrency``
        parallel id ranges (see :mod:`airflow_provider_pardot.api.v5_paging`). A v3/v4 name
        (``list``, ``listMembership``, ...) pages the v3/v4 endpoints, 200 records a call.
        Everything is validated before any request is sent.

        :param object_name: a v5 name, or a v3/v4 name
        :param fields: v5 only: the fields to return, in this order (default: every documented
            standard field of the object; custom fields end in ``__c``)
        :param max_records: stop after this many records
        :param concurrency: v5 only: id ranges paged in parallel, 1 to 5. Records then come page by
            page as they are answered: ids ascend within a page, not across pages. The parallel
            requests use the account's five concurrent-request slots, shared with every other
            client of the account.
        """
        from airflow_provider_pardot.api import v5

        if v5.is_v5_object(object_name):
            return self._query_v5(object_name, fields, max_records, concurrency, criteria)
        v5.check_query(object_name, fields, concurrency, criteria)  # at the call, not at the first page
        return self._query_v4(object_name, max_records=max_records, **criteria)

    def _query_v5(
        self, object_name: str, fields: Any, max_records: Any, concurrency: Any, criteria: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        from airflow_provider_pardot.api import v5
        from airflow_provider_pardot.api.v5_paging import v5_records

        query = v5.validate_v5_query(object_name, fields, criteria)
        concurrency = v5.validate_concurrency(concurrency)
        max_records = v5.validate_max_records(max_records)
        self._report_input(object_name)
        return v5_records(
            self._v5_fetch(object_name), query, concurrency=concurrency, max_records=max_records
        )

    def _v5_fetch(self, object_name: str):
        """``fetch(params) -> V5Page``: one GET on the object's v5 collection."""
        from airflow_provider_pardot.api.v5 import v5_path
        from airflow_provider_pardot.api.v5_paging import V5Page

        path = v5_path(object_name)

        def fetch(params: dict[str, str]) -> V5Page:
            reply = self.request("GET", path, params=params)
            return V5Page.from_body(reply.body, reply.headers.get("Pardot-Warning"))

        return fetch

    def _query_v4(
        self, object_name: str, *, max_records: int | None = None, **criteria: Any
    ) -> Iterator[dict[str, Any]]:
        """
        Yield every record of a v3/v4 object matching ``criteria``, each exactly once.

        Pages with ``id_greater_than`` (``sort_by=id``, ascending, 200 rows a page) until a short
        page, so records added or changed between pages are neither lost nor repeated. Criteria
        are validated against the object's documented criteria before any request is sent.
        ``sort_by``/``sort_order`` other than id ascending are applied after the pull. Pages are
        asked for with ``output=bulk`` unless ``output`` is given, as Pardot advises for bulk pulls
        (no ``total_results`` to count; pass ``output="full"`` for the related objects too).

        :param object_name: e.g. ``list``, ``listMembership``, ``dynamicContent``, ``lifecycleHistory``
        :param max_records: stop after this many records
        """
        from airflow_provider_pardot.api.criteria import QUERY_CRITERIA, validate_query

        params = validate_query(object_name, criteria)
        self._report_input(object_name)
        params.setdefault("output", BULK_OUTPUT)
        sort_by = params.pop("sort_by", "id")
        sort_order = params.pop("sort_order", None)
        if max_records is not None and (isinstance(max_records, bool) or int(max_records) < 0):
            raise PardotValidationError(f"max_records must be a positive integer, not {max_records!r}.")
        records = self._query_by_id(
            object_name, params, descending=sort_by == "id" and sort_order == "descending"
        )
        if sort_by != "id":
            order = sort_order or QUERY_CRITERIA[object_name].sorts[sort_by]
            records = iter(
                sorted(
                    records,
                    key=lambda r: (r.get(sort_by) is None, r.get(sort_by)),
                    reverse=order == "descending",
                )
            )
        for count, row in enumerate(records):
            if max_records is not None and count >= int(max_records):
                return
            yield row

    def _query_by_id(
        self, object_name: str, params: dict[str, Any], *, descending: bool
    ) -> Iterator[dict[str, Any]]:
        from airflow_provider_pardot.client import responses

        path = endpoints.object_path(object_name, self._v(), "query")
        cursor_name = "id_less_than" if descending else "id_greater_than"
        cursor = params.pop(cursor_name, None)
        bound = params.get("id_greater_than" if descending else "id_less_than")
        while True:
            order = {"sort_by": "id", "sort_order": "descending" if descending else "ascending"}
            page_params = endpoints.v4_params({**params, **order, "limit": PAGE_SIZE})
            if cursor is not None:
                page_params[cursor_name] = cursor
            rows = responses.query_rows(self.call("GET", path, params=page_params), object_name)
            fresh = 0
            for row in rows:
                row_id = row.get("id")
                if row_id is None:
                    continue
                if cursor is not None and (row_id <= cursor if not descending else row_id >= cursor):
                    continue  # a server that ignores the cursor must not make us repeat records
                if bound is not None and (row_id <= bound if descending else row_id >= bound):
                    continue
                cursor = row_id
                fresh += 1
                yield row
            if len(rows) < PAGE_SIZE or fresh == 0:
                return

    def read(
        self, object_name: str, record_id: int | str, fields: list[str] | str | None = None, **params: Any
    ) -> dict[str, Any]:
        """
        Return one record: ``/api/v5/objects/<name>/<id>`` for a v5 name (``fields`` as in
        :meth:`query`), else ``/api/{object}/version/{v}/do/read/id/{id}``.
        """
        from airflow_provider_pardot.api import v5
        from airflow_provider_pardot.client import responses
        from airflow_provider_pardot.client.form import form_values

        if v5.is_v5_object(object_name):
            return self._read_v5(object_name, record_id, fields, params)
        v5.refuse_v5_options(object_name, fields, None)
        if object_name not in endpoints.RESULT_KEYS or object_name == "export":
            # the name becomes part of the path: an unknown (or "../x") name never leaves the machine
            raise v5.unknown_object(object_name, "read", [k for k in endpoints.RESULT_KEYS if k != "export"])
        require_id(f"{object_name} id", record_id)
        self._report_input(object_name)
        body = self._object_call("GET", object_name, "read", "id", record_id, params=form_values(params))
        return responses.record(body, object_name)

    def _read_v5(
        self, object_name: str, record_id: int | str, fields: Any, params: dict[str, Any]
    ) -> dict[str, Any]:
        from airflow_provider_pardot.api import v5

        if params:
            raise PardotValidationError(
                f"read() of the v5 object {object_name} takes fields= only, not {', '.join(sorted(params))}."
            )
        require_id(f"{object_name} id", record_id)
        asked = v5.validate_fields(object_name, fields)
        self._report_input(object_name)
        body = self.call("GET", v5.v5_path(object_name, record_id), params={"fields": ",".join(asked)})
        return v5.shape(body if isinstance(body, dict) else {}, asked)

    # Emails ---------------------------------------------------------------------------------------
    def get_email(self, email_id: int | str, include_message: bool = True) -> dict[str, Any]:
        """Return an email; without its text and HTML bodies when ``include_message`` is false."""
        return self.read("email", email_id, include_message=include_message)

    def get_email_stats(self, email_id: int | str) -> dict[str, Any]:
        """Return the statistics of a list email, with rates as numbers (``"42.00%"`` -> ``42.0``)."""
        from airflow_provider_pardot.client import responses

        require_id("email_id", email_id)
        body = self._object_call("GET", "email", "stats", "id", email_id)
        stats = body.get("stats", body) if isinstance(body, dict) else {}
        return {k: responses.to_number(v) for k, v in stats.items()}

    def get_email_template(self, template_id: int | str, archived: bool = False) -> dict[str, Any]:
        """Return an email template; archived templates only with ``archived=True``."""
        return self.read("emailTemplate", template_id, archived=archived)

    def list_one_to_one_templates(self, archived: bool = False) -> list[dict[str, Any]]:
        """Return the templates enabled for one-to-one emails, always as a list."""
        from airflow_provider_pardot.client import responses
        from airflow_provider_pardot.client.form import form_values

        params = form_values({"archived": archived})
        body = self._object_call("GET", "emailTemplate", "listOneToOne", params=params)
        container = body.get("emailTemplates", body) if isinstance(body, dict) else {}
        return responses.as_list(container.get("templates") if isinstance(container, dict) else None)

    def send_list_email(self, **params: Any) -> dict[str, Any]:
        """
        Send a list email (``POST /api/email/version/4/do/send``) and return the created email.

        Validated before sending; never repeated after an ambiguous failure.
        """
        from airflow_provider_pardot.api.emails import validate_list_send

        validate_list_send(params)
        return self._send(endpoints.email_send_path(self._v()), params, "The list email send")

    def send_one_to_one_email(
        self, *, prospect_id: int | str | None = None, prospect_email: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """Send an email to one prospect, by Pardot id or by email address; return the created email."""
        from airflow_provider_pardot.api.emails import validate_one_to_one_send

        validate_one_to_one_send(prospect_id=prospect_id, prospect_email=prospect_email, params=params)
        path = endpoints.email_send_path(self._v(), prospect_id=prospect_id, prospect_email=prospect_email)
        who = f"prospect {prospect_id}" if prospect_id is not None else "the prospect email"
        return self._send(path, params, f"The one-to-one email send to {who}")

    def _send(self, path: str, params: dict[str, Any], action: str) -> dict[str, Any]:
        from airflow_provider_pardot.api.emails import send_params
        from airflow_provider_pardot.client import responses

        body = self.call(
            "POST", path, params=endpoints.v4_params(), data=send_params(params), idempotent=False, action=action
        )
        return responses.record(body, "email")

    # Lists ----------------------------------------------------------------------------------------
    def create_list(self, **fields: Any) -> dict[str, Any]:
        """Create a list (``name`` required) and return it."""
        from airflow_provider_pardot.client import responses
        from airflow_provider_pardot.client.form import form_values

        validate_list_fields(fields, creating=True)
        body = self._object_call(
            "POST",
            "list",
            "create",
            data=form_values(fields, BOOLEAN_LIST_FIELDS),
            idempotent=False,
            action=f"Creating list {fields.get('name')!r}",
        )
        return responses.record(body, "list")

    def update_list(self, list_id: int | str, **fields: Any) -> dict[str, Any]:
        """Update a list's fields and return the updated list."""
        from airflow_provider_pardot.client import responses
        from airflow_provider_pardot.client.form import form_values

        require_id("list_id", list_id)
        validate_list_fields(fields, creating=False)
        body = self._object_call(
            "POST",
            "list",
            "update",
            "id",
            list_id,
            data=form_values(fields, BOOLEAN_LIST_FIELDS),
            idempotent=True,
        )
        return responses.record(body, "list")

    def delete_list(self, list_id: int | str) -> None:
        """Delete a list (Pardot answers HTTP 204 with no body)."""
        require_id("list_id", list_id)
        self._object_call("POST", "list", "delete", "id", list_id, idempotent=True)

    # Exports --------------------------------------------------------------------------------------
    @property
    def export_api_version(self) -> int:
        return self.config.export_api_version

    def create_export(
        self,
        object_name: str,
        procedure: str,
        arguments: dict[str, Any],
        fields: list[str] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """
        Validate and create an export; return it normalised (``id``, ``state``, ``resultRefs``...).

        :param options: v5 create options (``includeByteOrderMark``, ``maxFileSizeBytes``, ``legacyDateFormat``)
        """
        from airflow_provider_pardot.api.exports import export_create_body, validate_export

        version = self.export_api_version
        validate_export(object_name, procedure, arguments, fields, options, api_version=version)
        body = export_create_body(object_name, procedure, arguments, fields, options, api_version=version)
        export = self._export_call("create", json=body, action=f"Creating the {object_name} export")
        self._export_objects.created(export, object_name, self.config.host)
        return export

    def get_export(self, export_id: int | str) -> dict[str, Any]:
        """Return an export's current state, normalised."""
        export = self._export_call("read", export_id)
        self._export_objects.read(export, self.config.host)
        return export

    def query_exports(self, **filters: Any) -> list[dict[str, Any]]:
        """Return the account's exports matching ``filters`` (admins only), normalised."""
        return self._export_call("query", params=filters)

    def cancel_export(self, export_id: int | str) -> dict[str, Any]:
        """Cancel an unfinished export and return it."""
        return self._export_call("cancel", export_id)

    def _export_call(self, operation: str, export_id: int | str | None = None, **options: Any) -> Any:
        from airflow_provider_pardot.api.exports import export_call

        call = export_call(self.export_api_version, operation, export_id, **options)
        return call.answer(self.call(call.method, call.path, **call.options))

    def check_result_url(self, ref: str) -> str:
        """Return the absolute URL of a result file; refuse any host but the configured Pardot host."""
        url = urljoin(f"{self.config.host}/", ref)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != self.config.api_netloc:
            raise PardotValidationError(
                f"Refusing to download export result {parts.scheme}://{parts.netloc}{parts.path}: it is not on the "
                f"configured Pardot host {self.config.host}, and the access token is only ever sent there."
            )
        return url

    def iter_result(
        self, ref: str, chunk_size: int = DOWNLOAD_CHUNK, *, object_name: str | None = None
    ) -> Iterator[bytes]:
        """
        Stream one export result file as byte chunks, never holding it whole.

        A dropped connection or 5xx in the middle resumes from the byte reached (retries up to
        ``max_retries``), so every byte is yielded exactly once.

        :param object_name: The export's object, for hook lineage; by default the object of the
            export when this hook created it (an export's record does not name its object).
        """
        url = self.check_result_url(ref)
        self._report_input(object_name or self._export_objects.of(ref))
        with self._in_flight:  # a download holds its slot for as long as it streams
            yield from self._stream(url, chunk_size)

    def _stream(self, url: str, chunk_size: int) -> Iterator[bytes]:
        import requests

        from airflow_provider_pardot.client.retry import backoff_seconds

        delivered = 0
        failures = 0
        while True:
            # After a break, ask for the rest; a server that ignores Range resends it all, and the
            # bytes already delivered are skipped.
            resume = {"Range": f"bytes={delivered}-"} if delivered else None
            reply = self.request("GET", url, stream=True, idempotent=True, slot_held=True, headers=resume)
            response = reply.stream
            ranged = reply.status == 206
            if ranged and not reply.headers.get("Content-Range", "").startswith(f"bytes {delivered}-"):
                response.close()
                raise PardotApiError(
                    f"Pardot resumed {urlsplit(url).path} at the wrong byte; expected {delivered}."
                )
            skip = 0 if ranged else delivered
            try:
                for chunk in response.iter_content(chunk_size):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]
                        skip = 0
                    delivered += len(chunk)
                    yield chunk
                return
            except (requests.RequestException, OSError) as err:
                failures += 1
                if failures > self.config.max_retries:
                    raise PardotApiError(
                        f"Download of {urlsplit(url).path} broke off after {delivered} bytes "
                        f"{failures} times ({type(err).__name__}); giving up."
                    ) from None
                self.log.warning(
                    "Download of %s broke off after %d bytes (%s); resuming",
                    urlsplit(url).path,
                    delivered,
                    type(err).__name__,
                )
                time.sleep(backoff_seconds(failures - 1, self.config.retry_backoff))
            finally:
                response.close()

    # Imports --------------------------------------------------------------------------------------
    def create_import(self, **options: Any) -> dict[str, Any]:
        """
        Create an Open import of prospects (``POST /api/v5/imports``, an Upsert); return it normalised.

        Nothing is imported until :meth:`submit_import`: an import left Open expires unused.

        :param options: ``createOnNoMatch``, ``restoreDeleted`` (booleans) and ``fields``
            (per-field ``overwrite`` / ``nullOverwrite``), as Pardot names them
        """
        from airflow_provider_pardot.api.imports import IMPORT_FIELDS, import_create_body, normalise_import

        body = import_create_body(**options)
        response = self.request(
            "POST",
            endpoints.import_path(),
            params={"fields": ",".join(IMPORT_FIELDS)},
            json=body,
            idempotent=False,
            action="Creating a Pardot import",
        )
        record = normalise_import(response.body)
        if record["id"] is None:  # 204: the id is only in the Location header
            record["id"] = require_id(
                "the new import's id", response.headers.get("Location", "").rstrip("/").rpartition("/")[2]
            )
        return record

    def add_import_batch(self, import_id: int | str, data: bytes | BinaryIO) -> None:
        """
        Upload one CSV batch (at most 10 MB, header first) to an Open import, as the multipart part ``file``.

        ``data`` is the batch's bytes, or a binary file open at its start: the file is streamed
        (read a block at a time as it is sent), not read into memory.

        Never repeated after an ambiguous failure (:class:`PardotAmbiguousSendError`): the batch may
        have landed, and the same rows must not be in the import twice.
        """
        from airflow_provider_pardot.client.form import MultipartFile

        import_id = require_id("import_id", import_id)
        body = MultipartFile("file", "batch.csv", data, "text/csv; charset=utf-8")
        self.request(
            "POST",
            endpoints.import_path(import_id, "batches"),
            data=body,
            headers={"Content-Type": body.content_type},
            idempotent=False,
            action=f"Uploading a batch to Pardot import {import_id}",
        )

    def submit_import(self, import_id: int | str) -> dict[str, Any]:
        """Submit an Open import for processing (``PATCH`` ``{"status": "Ready"}``); return it normalised."""
        from airflow_provider_pardot.api.imports import (
            IMPORT_FIELDS,
            PROSPECTS_OBJECT,
            READY,
            normalise_import,
        )

        import_id = require_id("import_id", import_id)
        body = self.call(
            "PATCH",
            endpoints.import_path(import_id),
            params={"fields": ",".join(IMPORT_FIELDS)},
            json={"status": READY},
            idempotent=False,
            action=f"Submitting Pardot import {import_id}",
        )
        self._report_output(PROSPECTS_OBJECT)
        return normalise_import(body if body else {"id": import_id})

    def get_import(self, import_id: int | str) -> dict[str, Any]:
        """Return an import's current state, normalised (``status``, counts, ``errorsRef``...)."""
        from airflow_provider_pardot.api.imports import IMPORT_FIELDS, normalise_import

        import_id = require_id("import_id", import_id)
        body = self.call("GET", endpoints.import_path(import_id), params={"fields": ",".join(IMPORT_FIELDS)})
        return normalise_import(body)

    def iter_import_errors(self, import_id: int | str) -> Iterator[dict[str, str]]:
        """
        Yield the rows a Complete import rejected, each a dict of the error file's columns (Pardot's reason among them).

        Pardot answers with a redirect to the stored file: the one redirect is followed, and the
        access token goes along only while the file is on the Pardot host.
        """
        from airflow_provider_pardot.files.streams import ChunkStream

        import_id = require_id("import_id", import_id)
        path = endpoints.import_path(import_id, "errors")
        reply = self.request("GET", path, stream=True, redirect=True)
        if reply.stream is None:  # an answer read whole (a JSON content type): no file, no rows
            return
        if reply.stream.is_redirect:
            url = urljoin(reply.stream.url, reply.headers.get("Location", ""))
            reply.stream.close()
            chunks: Iterator[bytes] = self._stream(url, DOWNLOAD_CHUNK)
        else:
            chunks = _closing_chunks(reply.stream)
        text = io.TextIOWrapper(io.BufferedReader(ChunkStream(chunks)), encoding="utf-8-sig", newline="")
        yield from csv.DictReader(text)

    def _report_input(self, object_name: str | None) -> None:
        """Hook lineage: this hook reads ``object_name`` (``pardot://<business unit>/<object>``)."""
        from airflow_provider_pardot.lineage.openlineage import report_hook_input

        report_hook_input(self, self.config.business_unit_id, object_name)

    def _report_output(self, object_name: str) -> None:
        """Hook lineage: this hook writes ``object_name`` (``pardot://<business unit>/<object>``)."""
        from airflow_provider_pardot.lineage.openlineage import report_hook_output

        report_hook_output(self, self.config.business_unit_id, object_name)

    # Connection test ------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Fetch a token and make one cheap read; used by the connection form's Test button."""
        try:
            config = self.config
            list(self.query("list", max_records=1))
        except Exception as err:
            return False, str(err)
        return True, f"Connected to Pardot at {config.host} as business unit {config.business_unit_id}."


class PardotAsyncHook(BaseHook):
    """
    The asynchronous Pardot client used by triggers (httpx).

    Every client of one connection in one event loop shares at most five requests in flight,
    so hundreds of waiting triggers never meet error 66.

    :param pardot_conn_id: The Pardot connection to use.
    """

    conn_name_attr = "pardot_conn_id"
    default_conn_name = DEFAULT_CONN_ID
    conn_type = "pardot"
    hook_name = "Pardot (async)"

    _slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
        weakref.WeakKeyDictionary()
    )
    _clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
        weakref.WeakKeyDictionary()
    )
    _token_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, pardot_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pardot_conn_id = pardot_conn_id
        self.request_count = 0
        self._config: PardotConnectionConfig | None = None

    @property
    def last_usage(self) -> ApiUsage | None:
        """The account's usage as last reported to this process (``None`` before any answer)."""
        from airflow_provider_pardot.client.tokens import USAGE

        return USAGE.get(self._config.business_unit_id) if self._config else None

    async def get_config(self) -> PardotConnectionConfig:
        if self._config is None:
            from airflow.providers.common.compat.connection import (
                get_async_connection,
                get_async_extra_dejson,
            )

            try:
                conn = await get_async_connection(conn_id=self.pardot_conn_id, hook=self)
            except AirflowNotFoundException:
                raise PardotConnectionNotFoundError.for_conn_id(self.pardot_conn_id) from None
            extra = await get_async_extra_dejson(conn)
            self._config = config_from_connection(conn, extra)
        return self._config

    def _slot(self, config: PardotConnectionConfig) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        per_loop = self._slots.setdefault(loop, {})
        return per_loop.setdefault(config.business_unit_id, asyncio.Semaphore(MAX_IN_FLIGHT))

    def _client(self, config: PardotConnectionConfig) -> httpx.AsyncClient:
        import httpx

        loop = asyncio.get_running_loop()
        per_loop = self._clients.setdefault(loop, {})
        key = f"{config.verify_ssl}"
        client = per_loop.get(key)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                verify=config.verify_ssl,
                limits=httpx.Limits(
                    max_connections=MAX_IN_FLIGHT * 2, max_keepalive_connections=MAX_IN_FLIGHT
                ),
                headers={"User-Agent": user_agent()},
                follow_redirects=False,
            )
            per_loop[key] = client
        return client

    async def _token(self, config: PardotConnectionConfig) -> str:
        from airflow_provider_pardot.client.tokens import TOKENS, cache_key

        token = TOKENS.lookup(config)
        if token is None:
            # One fetch per credentials and event loop: hundreds of triggers starting together
            # would otherwise each fetch (and mask) a token of their own.
            per_loop = self._token_locks.setdefault(asyncio.get_running_loop(), {})
            async with per_loop.setdefault(cache_key(config), asyncio.Lock()):
                token = TOKENS.lookup(config) or TOKENS.keep(config, await self._fetch_token(config))
        return token

    async def _fetch_token(self, config: PardotConnectionConfig) -> str:
        import httpx

        from airflow_provider_pardot.client.auth import token_request

        fetch = token_request(config)
        try:
            response = await self._client(config).post(fetch.endpoint, data=fetch.form, timeout=config.timeout)
        except httpx.HTTPError as err:
            raise fetch.unreachable(err) from None
        return fetch.accept(response.status_code, response.content)

    async def call(self, method: str, path: str, **options: Unpack[CallOptions]) -> Any:
        """
        Send a request with auth, retries, the budget check and the shared in-flight cap; return its parsed body.

        The same keyword arguments (:class:`~airflow_provider_pardot.client.pipeline.CallOptions`) and the
        same attempts (:meth:`~airflow_provider_pardot.client.pipeline.Exchange.attempts`) as
        :meth:`PardotHook.call`.
        """
        from airflow_provider_pardot.client.pipeline import TOKEN, Exchange, Pause, Reply

        config = await self.get_config()
        idempotent, action = options.get("idempotent"), options.get("action")
        exchange = Exchange.start(config, method, path, idempotent=idempotent, action=action)
        steps = exchange.attempts(self.log)
        answer: Any = None  # what the last step asked for
        while not isinstance(step := steps.send(answer), Reply):
            if step is TOKEN:
                answer = await self._token(config)
            elif isinstance(step, Pause):
                answer = None
                await asyncio.sleep(step.seconds)
            else:
                answer = await self._send_once(exchange, step, options)
        return step.body

    async def _send_once(self, exchange: Exchange, attempt: Attempt, options: CallOptions) -> Reply | SendFailed:
        """Send one attempt over httpx: its :class:`Reply`, or how it failed."""
        import httpx

        config = exchange.config
        async with self._slot(config):
            self.request_count += 1
            try:
                response = await self._client(config).request(
                    exchange.method,
                    exchange.url,
                    params=options.get("params"),
                    data=options.get("data"),
                    json=options.get("json"),
                    headers=exchange.headers(attempt.token),
                    timeout=config.timeout,
                )
            except httpx.HTTPError as err:
                return exchange.transport_failed(_httpx_failure(err), err)
        return exchange.reply(response.status_code, response.headers, response.content)

    async def cancel_export(self, export_id: int | str) -> dict[str, Any]:
        """Cancel an unfinished export (a cancel may be repeated safely)."""
        from airflow_provider_pardot.api.exports import export_call

        call = export_call((await self.get_config()).export_api_version, "cancel", export_id)
        return call.answer(await self.call(call.method, call.path, **call.options))

    async def get_export(self, export_id: int | str) -> dict[str, Any]:
        """Return an export's current state, normalised."""
        from airflow_provider_pardot.api.exports import export_call

        call = export_call((await self.get_config()).export_api_version, "read", export_id)
        return call.answer(await self.call(call.method, call.path, **call.options))

    async def get_import(self, import_id: int | str) -> dict[str, Any]:
        """Return an import's current state, normalised (as :meth:`PardotHook.get_import`)."""
        from airflow_provider_pardot.api.imports import IMPORT_FIELDS, normalise_import

        import_id = require_id("import_id", import_id)
        params = {"fields": ",".join(IMPORT_FIELDS)}
        return normalise_import(await self.call("GET", endpoints.import_path(import_id), params=params))


def config_from_connection(conn: Any, extra: dict[str, Any]) -> PardotConnectionConfig:
    """Validate a ``pardot`` connection and register its secrets with Airflow's masker."""
    from airflow.providers.common.compat.sdk import mask_secret

    from airflow_provider_pardot.client.connection import SECRET_EXTRAS, build_config

    for name in SECRET_EXTRAS:
        value = extra.get(name)
        if value:
            mask_secret(value)
    if conn.password:
        mask_secret(conn.password)
    return build_config(host=conn.host, login=conn.login, password=conn.password, extra=extra)


def user_agent() -> str:
    from airflow_provider_pardot import __version__

    return f"airflow-provider-pardot/{__version__}"


def _closing_chunks(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(DOWNLOAD_CHUNK)
    finally:
        response.close()


def _failure_of(err: requests.RequestException) -> Failure:
    import requests

    from airflow_provider_pardot.client.retry import Failure

    if isinstance(err, requests.exceptions.ConnectTimeout):
        return Failure.NOT_CONNECTED
    if isinstance(err, requests.exceptions.Timeout):
        return Failure.TIMEOUT
    if isinstance(err, requests.exceptions.ConnectionError):
        from urllib3.exceptions import NewConnectionError

        reason = err.args[0] if err.args else None
        inner = getattr(reason, "reason", reason)
        if isinstance(inner, NewConnectionError) or isinstance(reason, NewConnectionError):
            return Failure.NOT_CONNECTED
        return Failure.DROPPED
    return Failure.DROPPED


def _httpx_failure(err: httpx.HTTPError) -> Failure:
    import httpx

    from airflow_provider_pardot.client.retry import Failure

    if isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout)):
        return Failure.NOT_CONNECTED
    if isinstance(err, httpx.TimeoutException):
        return Failure.TIMEOUT
    return Failure.DROPPED
