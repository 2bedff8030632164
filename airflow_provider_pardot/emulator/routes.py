"""What the emulator serves: one table from (method, path pattern) to handler.

Read :data:`ROUTES` to see every endpoint; ``docs/emulator.md`` has a line per route (a test keeps
the two in step). A pattern is a path of literal segments and ``{name}`` variables (one segment
each, URL-decoded; ``where`` limits a variable to a set of values). A v3/v4 pattern ends in
``{*params}``: the segments after the operation are ``/name/value`` pairs read as request
parameters (``/id/7``, ``/email/a%40b.c``, ``/file/1``), and a single trailing segment is the id
(ruby-pardot's ``/do/update/7``).

Before a v3/v4 path is looked up it is put in its canonical form
``/api/<object>/version/<v>/do/<op>/...``: the object name in any case, ``version`` and ``do`` in
either order (Crim's Java client sends ``/api/list/do/read/version/4``), version 4 when absent.

The errors a path alone earns, in the order Pardot's checks meet them:

* v3/v4: a non-numeric version -> 94, a version other than 3 or 4 -> 88, an unknown object -> 198
  (all before authentication); then, once authenticated, no operation or an unknown one -> 2, a
  method the route does not take -> 60.
* v5: authentication first; then an unknown path -> 198, a method the route does not take -> 60
  (HTTP 405).
* control API (``/_emulator``): 404 ``{"error": ...}``; any other path: 404.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import api, control, v5
from .errors import PardotError
from .objects import EMPTY_OBJECTS, QUERY_SPEC

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

GET_POST = ("GET", "POST")
QUERYABLE = frozenset(QUERY_SPEC)
EMPTY = frozenset(EMPTY_OBJECTS)
V5_OBJECTS = frozenset(v5.OBJECTS)
V4_VERSIONS = ("3", "4")


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: str
    handler: Callable
    summary: str
    where: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: False only for the legacy login, which is how a client gets its credentials
    auth: bool = True

    @property
    def segments(self) -> list[str]:
        return [s for s in self.pattern.split("/") if s]

    @property
    def kind(self) -> str:
        """``v5``, ``v4`` (v3/v4 API), ``control``, ``oauth`` or ``page``: how a request is handled."""
        if self.pattern.startswith("/api/v5/"):
            return "v5"
        if self.pattern.startswith("/api/"):
            return "v4"
        if self.pattern.startswith("/_emulator"):
            return "control"
        if self.pattern.startswith("/services/"):
            return "oauth"
        return "page"


V4 = "/api/{object}/version/{version}/do"

ROUTES: list[Route] = [
    # --- Salesforce OAuth
    Route(
        ("POST",), "/services/oauth2/token", api.token, "OAuth token endpoint: every grant (see Strict auth)"
    ),
    # --- v3/v4 objects
    Route(
        ("POST",),
        "/api/login/version/{version}",
        api.legacy_login,
        "retired api_key login (only with --legacy-auth)",
        auth=False,
    ),
    Route(
        GET_POST,
        f"{V4}/query/{{*params}}",
        api.v4_query,
        "query (criteria, sort_by, offset, limit<=200, output=full|simple|mobile|bulk)",
        where={"object": QUERYABLE},
    ),
    Route(
        GET_POST,
        f"{V4}/read/{{*params}}",
        api.v4_read,
        "read one record: /id/{id} (prospects also /email/{email})",
        where={"object": QUERYABLE},
    ),
    Route(
        GET_POST,
        f"{V4}/query/{{*params}}",
        api.v4_empty_query,
        "objects without data: 0 rows",
        where={"object": EMPTY},
    ),
    Route(
        GET_POST,
        f"{V4}/read/{{*params}}",
        api.v4_empty_read,
        "objects without data: error 16",
        where={"object": EMPTY},
    ),
    Route(("POST",), "/api/list/version/{version}/do/create/{*params}", api.list_create, "create a list"),
    Route(
        ("POST",), "/api/list/version/{version}/do/update/{*params}", api.list_update, "update list /id/{id}"
    ),
    Route(
        ("POST", "DELETE"),
        "/api/list/version/{version}/do/delete/{*params}",
        api.list_delete,
        "delete list /id/{id}: 204, its memberships deleted too",
    ),
    Route(
        ("POST",),
        "/api/email/version/{version}/do/send/{*params}",
        api.email_send,
        "list send, or one-to-one with /prospect_id/{id} or /prospect_email/{email}; recorded in sends",
    ),
    Route(
        GET_POST,
        "/api/email/version/{version}/do/read/{*params}",
        api.email_read,
        "read email /id/{id} (include_message)",
    ),
    Route(
        GET_POST,
        "/api/email/version/{version}/do/stats/{*params}",
        api.email_stats,
        "list email stats /id/{id}",
    ),
    Route(
        GET_POST,
        "/api/emailTemplate/version/{version}/do/read/{*params}",
        api.template_read,
        "read template /id/{id} (archived)",
    ),
    Route(
        GET_POST,
        "/api/emailTemplate/version/{version}/do/listOneToOne/{*params}",
        api.templates_one_to_one,
        "one-to-one templates (archived)",
    ),
    # --- v3/v4 exports
    Route(
        ("POST",), "/api/export/version/{version}/do/create/{*params}", api.export_create, "create an export"
    ),
    Route(
        GET_POST, "/api/export/version/{version}/do/read/{*params}", api.export_read, "read export /id/{id}"
    ),
    Route(GET_POST, "/api/export/version/{version}/do/query/{*params}", api.export_query, "query exports"),
    Route(
        ("POST", "DELETE"),
        "/api/export/version/{version}/do/cancel/{*params}",
        api.export_cancel,
        "cancel export /id/{id} (undocumented for v3/v4; as v5)",
    ),
    Route(
        ("GET", "HEAD"),
        "/api/export/version/{version}/do/downloadResults/{*params}",
        api.export_download,
        "result file /id/{id}/file/{n} (Range)",
    ),
    # --- v5 exports
    Route(("POST",), "/api/v5/exports", api.v5_export_create, "create an export (201)"),
    Route(("GET",), "/api/v5/exports", api.v5_export_query, "list exports (status, object, sort_by)"),
    Route(("GET",), "/api/v5/exports/{id}", api.v5_export_read, "read an export"),
    Route(("POST",), "/api/v5/exports/{id}/do/cancel", api.v5_export_cancel, "cancel an export"),
    Route(
        ("GET", "HEAD"), "/api/v5/exports/{id}/results/{n}", api.v5_export_download, "result file n (Range)"
    ),
    # --- v5 imports
    Route(
        ("POST",),
        "/api/v5/imports",
        api.v5_import_create,
        "create an import (201): JSON, or multipart parts input and file (its first batch)",
    ),
    Route(
        ("GET",),
        "/api/v5/imports",
        api.v5_import_query,
        "list imports: fields (required), status, updatedAt filters, limit, nextPageToken",
    ),
    Route(("GET",), "/api/v5/imports/{id}", api.v5_import_read, "read an import (fields required): a poll"),
    Route(("PATCH",), "/api/v5/imports/{id}", api.v5_import_submit, 'submit: {"status": "Ready"}'),
    Route(
        ("POST",),
        "/api/v5/imports/{id}/batches",
        api.v5_import_batch,
        "add a batch: multipart part file, CSV up to 10 MB (204)",
    ),
    Route(
        ("GET",), "/api/v5/imports/{id}/errors", api.v5_import_errors, "rejected rows: 302 to the stored file"
    ),
    # --- v5 objects
    Route(
        ("GET",),
        "/api/v5/objects/{object}",
        api.v5_query,
        "query: fields (required), filters, limit<=1000, orderBy, deleted, nextPageToken; the record cap",
        where={"object": V5_OBJECTS},
    ),
    Route(
        ("GET",),
        "/api/v5/objects/{object}/{id}",
        api.v5_read,
        "read one record (fields required); 404 code 109 when there is none",
        where={"object": V5_OBJECTS},
    ),
    # --- emulator pages and control API
    Route(
        ("GET",),
        "/{page}/read/id/{id}",
        api.app_page,
        "stand-in app page for extra links",
        where={"page": frozenset({"email", "list", "export"})},
    ),
    Route(
        ("GET",),
        "/files/imports/{id}/errors/{key}",
        api.import_errors_file,
        "an import's error file, CSV (Range), no token: the errors download's target",
    ),
    Route(("GET",), "/_emulator/health", control.health, "liveness"),
    Route(("GET",), "/_emulator", control.state, "counters (same as /_emulator/state)"),
    Route(("GET",), "/_emulator/state", control.state, "counters, config, peak in flight"),
    Route(("GET",), "/_emulator/identities", control.identities, "the seeded identities"),
    Route(("POST",), "/_emulator/reset", control.reset, "back to start-up config and data"),
    Route(("GET", "POST"), "/_emulator/config", control.config, "read / change config keys"),
    Route(("POST",), "/_emulator/seed", control.seed, "regenerate data with new counts"),
    Route(("POST",), "/_emulator/tokens/expire", control.expire_tokens, "invalidate every issued token"),
    Route(("GET",), "/_emulator/requests", control.requests, "request log (?since=seq)"),
    Route(("GET",), "/_emulator/sends", control.sends, "email sends recorded"),
    Route(("GET",), "/_emulator/records/{object}", control.records, "ids (or ?rows=1) of an object"),
    Route(("POST",), "/_emulator/records/{object}", control.mutate, "insert / update / delete records"),
    Route(("GET", "POST"), "/_emulator/exports/{id}", control.export, "read / force an export's state"),
    Route(("GET",), "/_emulator/exports/{id}/files", control.export_files, "an export's files"),
    Route(
        ("GET",),
        "/_emulator/imports",
        control.imports_list,
        "every import, as /_emulator/imports/{id} shows it",
    ),
    Route(
        ("GET", "POST"), "/_emulator/imports/{id}", control.import_status, "read / force an import's status"
    ),
    Route(
        ("GET", "POST", "DELETE"), "/_emulator/faults", control.faults, "read / replace / clear fault rules"
    ),
]


@dataclass
class Call:
    """What a handler gets: path variables, the query, every parameter and the raw body."""

    vars: dict[str, str]
    query: dict[str, list[str]]
    #: query + form + (v3/v4) the path's ``/name/value`` pairs, which win
    params: dict[str, list[str]]
    body: bytes


@dataclass
class Found:
    """The route whose pattern matches a path, its variables and (v3/v4) its ``/name/value`` pairs."""

    route: Route | None
    vars: dict[str, str] = field(default_factory=dict)
    pairs: dict[str, str] = field(default_factory=dict)
    #: False when the path matches a route but the method does not
    method_ok: bool = False
    #: an API error to answer once the request is authenticated (unknown operation, wrong method)
    error: PardotError | None = None

    @property
    def auth(self) -> bool:
        return self.route is None or self.route.auth


def split(path: str) -> list[str]:
    return [urllib.parse.unquote(s) for s in path.split("/") if s != ""]


def _match(route: Route, segs: list[str]) -> tuple[dict[str, str], dict[str, str]] | None:
    pat = route.segments
    tail = bool(pat) and pat[-1] == "{*params}"
    if tail:
        pat = pat[:-1]
    if len(segs) < len(pat) or (not tail and len(segs) != len(pat)):
        return None
    found: dict[str, str] = {}
    for p, s in zip(pat, segs, strict=False):
        if p.startswith("{"):
            name = p[1:-1]
            allowed = route.where.get(name)
            if allowed is not None and s not in allowed:
                return None
            found[name] = s
        elif p != s:
            return None
    rest = segs[len(pat) :]
    if len(rest) == 1:
        return found, {"id": rest[0]}
    return found, {rest[j]: rest[j + 1] for j in range(0, len(rest) - 1, 2)}


def _lookup(method: str, segs: list[str], routes: list[Route]) -> Found:
    """The first route whose pattern and method match; else the first whose pattern does."""
    by_path: Found | None = None
    for route in routes:
        m = _match(route, segs)
        if m is None:
            continue
        if method in route.methods or (method == "HEAD" and "GET" in route.methods):
            return Found(route, m[0], m[1], method_ok=True)
        by_path = by_path or Found(route, m[0], m[1])
    return by_path or Found(None)


def _by_kind(*kinds: str) -> list[Route]:
    return [r for r in ROUTES if r.kind in kinds]


_V4_ROUTES = _by_kind("v4")
_V5_ROUTES = _by_kind("v5")
_OTHER_ROUTES = _by_kind("control", "oauth", "page")


def _v4_objects() -> dict[str, str]:
    names: set[str] = set()
    for r in _V4_ROUTES:
        seg = r.segments[1]
        names |= r.where.get("object", set()) if seg == "{object}" else {seg}
    return {n.lower(): n for n in names}


#: every object name a v3/v4 route serves, by its lower-case form
V4_OBJECT_NAMES = _v4_objects()


def _canonical_v4(segs: list[str]) -> list[str]:
    """``[object, ...]`` -> ``["api", Object, "version", v, "do", op, *rest]``; 94/88/198 on the way."""
    version, op, rest = None, None, []
    i = 1
    while i < len(segs):
        if segs[i] == "version" and version is None and i + 1 < len(segs):
            version = segs[i + 1]
            i += 2
        elif segs[i] == "do" and op is None and i + 1 < len(segs):
            op = segs[i + 1]
            i += 2
        else:
            rest.append(segs[i])
            i += 1
    if version is not None:
        if not version.isdigit():
            raise PardotError(94)
        if version not in V4_VERSIONS:
            raise PardotError(88)
    obj = V4_OBJECT_NAMES.get(segs[0].lower())
    if obj is None:
        raise PardotError(198, segs[0])
    if obj == "login":
        return ["api", obj, "version", version or "4"]
    return ["api", obj, "version", version or "4", "do", op or "", *rest]


def _method_error(route: Route, v5_path: bool) -> PardotError:
    if v5_path:
        return PardotError(60, status=405)
    methods = [m for m in route.methods if m != "HEAD"]
    return PardotError(60, f"Use method{'s' if len(methods) > 1 else ''} {' or '.join(methods)}")


def resolve(method: str, path: str) -> Found:
    """The route of a request. Raises the errors that come before authentication (v3/v4 path)."""
    segs = split(path)
    if segs[:1] != ["api"]:
        return _lookup(method, segs, _OTHER_ROUTES)
    if len(segs) == 1:
        return Found(None, error=PardotError(198))
    v5_path = segs[1] == "v5"
    found = _lookup(
        method, segs if v5_path else _canonical_v4(segs[1:]), _V5_ROUTES if v5_path else _V4_ROUTES
    )
    if found.route is None:
        found.error = PardotError(198) if v5_path else PardotError(2)
    elif not found.method_ok:
        found.error = _method_error(found.route, v5_path)
    return found
