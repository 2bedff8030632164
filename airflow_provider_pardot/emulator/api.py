"""The API handlers :mod:`routes` points at: each takes the request handler and the matched call.

They read the call, ask :mod:`objects`, :mod:`exports` or :mod:`auth` for the answer and send it
in the caller's shape (v3/v4 JSON or XML, v5 JSON). A :class:`PardotError` raised here is answered
by the server as Pardot's error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import imports, multipart, objects, render, v5
from .auth import OAuthError
from .errors import PardotError
from .params import get, json_object

if TYPE_CHECKING:
    from .routes import Call
    from .server import Handler


# ---------------------------------------------------------------------------- OAuth and pages
def token(h: Handler, c: Call) -> None:
    try:
        body = h.emu.auth.token_endpoint(c.params, h.basic_auth(), h.base_url)
    except OAuthError as e:
        status, body = e.status, {"error": e.error, "error_description": e.description}
    else:
        status = 200
    h.send(status, render.plain_dumps(body), "application/json;charset=UTF-8")


def app_page(h: Handler, c: Call) -> None:
    if not c.vars["id"].isdigit():
        return h.send(404, b"Not Found", "text/plain")
    h.send(200, render.ui_page(c.vars["page"], c.vars["id"]), "text/html; charset=utf-8")


def legacy_login(h: Handler, c: Call) -> None:
    if not h.emu.config["legacy_auth"]:
        raise PardotError(199)
    key = h.emu.auth.legacy_login(
        get(c.params, "email"), get(c.params, "password"), get(c.params, "user_key")
    )
    h.ok({"api_key": key, "version": 4})


# ---------------------------------------------------------------------------- v3/v4 objects
def v4_query(h: Handler, c: Call) -> None:
    h.ok(objects.run_query(h.emu, c.vars["object"], c.params))


def v4_read(h: Handler, c: Call) -> None:
    h.ok(objects.read(h.emu, c.vars["object"], c.params))


def v4_empty_query(h: Handler, c: Call) -> None:
    bulk = (get(c.params, "output") or "") == "bulk"
    h.ok({"result": None} if bulk else {"result": {"total_results": 0}})


def v4_empty_read(h: Handler, c: Call) -> None:
    raise PardotError(16)


def list_create(h: Handler, c: Call) -> None:
    h.ok(objects.list_create(h.emu, c.params))


def list_update(h: Handler, c: Call) -> None:
    h.ok(objects.list_update(h.emu, c.params))


def list_delete(h: Handler, c: Call) -> None:
    objects.list_delete(h.emu, c.params)
    # recorded: delete answers 204, empty body, text/html even with format=json
    h.send(204, b"", "text/html; charset=utf-8")


def email_send(h: Handler, c: Call) -> None:
    h.ok(objects.email_send(h.emu, c.params))


def email_read(h: Handler, c: Call) -> None:
    h.ok(objects.email_read(h.emu, c.params))


def email_stats(h: Handler, c: Call) -> None:
    h.ok(objects.email_stats(h.emu, c.params))


def template_read(h: Handler, c: Call) -> None:
    h.ok(objects.template_read(h.emu, c.params))


def templates_one_to_one(h: Handler, c: Call) -> None:
    h.ok(objects.templates_one_to_one(h.emu, c.params))


# ---------------------------------------------------------------------------- v3/v4 exports
def export_create(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    exp = ex.create(ex.parse_body(c.body, h.headers.get("Content-Type", ""), c.params), "v4")
    h.ok({"export": ex.repr_v4(exp, h.base_url, c.vars["version"])})


def export_read(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    h.ok({"export": ex.repr_v4(ex.get(get(c.params, "id")), h.base_url, c.vars["version"])})


def export_query(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    rows = ex.query(c.params)
    result: dict = {"total_results": len(rows)}
    data = render.one_or_many([ex.repr_v4(e, h.base_url, c.vars["version"], with_refs=False) for e in rows])
    if data is not None:
        result["export"] = data
    h.ok({"result": result})


def export_cancel(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    exp = ex.cancel(ex.get(get(c.params, "id")))
    h.ok({"export": ex.repr_v4(exp, h.base_url, c.vars["version"])})


def export_download(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    exp = ex.get(get(c.params, "id"))
    h.send_file(ex.download_path(exp, get(c.params, "file")), "text/csv")


# ---------------------------------------------------------------------------- v5 exports
def v5_export_create(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    exp = ex.create(ex.parse_body(c.body, h.headers.get("Content-Type", ""), c.params), "v5")
    h.send_json(201, ex.repr_v5(exp, h.base_url))


def v5_export_query(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    rows = ex.query({k: v for k, v in c.params.items() if k in ("status", "object", "sort_by", "sort_order")})
    h.send_json(
        200, {"nextPageToken": None, "nextPageUrl": None, "values": [ex.repr_v5(e, h.base_url) for e in rows]}
    )


def v5_export_read(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    h.send_json(200, ex.repr_v5(ex.get(c.vars["id"], v5=True), h.base_url))


def v5_export_cancel(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    exp = ex.cancel(ex.get(c.vars["id"], v5=True))
    h.send_json(200, ex.repr_v5(exp, h.base_url))


def v5_export_download(h: Handler, c: Call) -> None:
    ex = h.emu.exports
    h.send_file(ex.download_path(ex.get(c.vars["id"], v5=True), c.vars["n"]), "text/csv")


# ---------------------------------------------------------------------------- v5 objects
def v5_query(h: Handler, c: Call) -> None:
    name = c.vars["object"]
    page = v5.query(h.emu, name, c.params, f"{h.base_url}/api/v5/objects/{name}")
    h.send_json(200, page.body, page.headers)


def v5_read(h: Handler, c: Call) -> None:
    page = v5.read(h.emu, c.vars["object"], c.vars["id"], c.params)
    h.send_json(200, page.body, page.headers)


# ---------------------------------------------------------------------------- v5 imports
def v5_import_create(h: Handler, c: Call) -> None:
    im = h.emu.imports
    fields = imports.parse_fields(c.query, required=False)
    data, file = imports.create_body(c.body, h.headers.get("Content-Type", ""))
    imp = im.create(data, file)
    location = [("Location", f"{h.base_url}/api/v5/imports/{imp.id}")]
    h.send_json(201, im.represent(imp, h.base_url, fields), location)


def v5_import_batch(h: Handler, c: Call) -> None:
    im = h.emu.imports
    imp = im.get(c.vars["id"])
    parts = multipart.parse(c.body, h.headers.get("Content-Type", ""))
    if parts is None:
        raise PardotError(151, "a batch is multipart/form-data with its CSV in a part named file")
    im.add_batch(imp, imports.the_file(parts, required=True) or b"")
    h.send(204, b"", None)


def v5_import_submit(h: Handler, c: Call) -> None:
    im = h.emu.imports
    imp = im.get(c.vars["id"])
    fields = imports.parse_fields(c.query, required=False)
    im.submit(imp, json_object(c.body, h.headers.get("Content-Type", "")))
    h.send_json(200, im.represent(imp, h.base_url, fields))


def v5_import_read(h: Handler, c: Call) -> None:
    im = h.emu.imports
    fields = imports.parse_fields(c.params, required=True)
    extra = sorted(k for k in c.params if k not in ("fields", "format"))
    if extra:
        raise PardotError(51, f"{extra[0]}. A read takes fields only")
    imp = im.advance(im.get(c.vars["id"]), poll=True)
    h.send_json(200, im.represent(imp, h.base_url, fields))


def v5_import_query(h: Handler, c: Call) -> None:
    im = h.emu.imports
    fields = imports.parse_fields(c.params, required=True)
    state = imports.query_state(c.params)
    rows = im.query(state["filters"], state["limit"], state["after"])
    token = imports.next_token(state, rows[-1].id) if len(rows) == state["limit"] else None
    url = None
    if token is not None:
        url = f"{h.base_url}/api/v5/imports?fields={','.join(fields or [])}&nextPageToken={token}"
    values = [im.represent(im.advance(i, poll=False), h.base_url, fields) for i in rows]
    h.send_json(200, {"nextPageToken": token, "nextPageUrl": url, "values": values})


def v5_import_errors(h: Handler, c: Call) -> None:
    im = h.emu.imports
    imp = im.get(c.vars["id"])
    im.errors_file(imp)
    location = f"{h.base_url}/files/imports/{imp.id}/errors/{imp.errors_key}"
    h.send(302, b"", None, [("Location", location)])


def import_errors_file(h: Handler, c: Call) -> None:
    """The stored error file the errors download redirects to (no authentication, as a storage link)."""
    im = h.emu.imports
    try:
        imp = im.get(c.vars["id"])
        path = im.errors_file(imp)
    except PardotError:
        return h.send(404, b"Not Found", "text/plain")
    if c.vars["key"] != imp.errors_key:
        return h.send(404, b"Not Found", "text/plain")
    h.send_file(path, "text/csv; charset=utf-8")
