"""The control API (``/_emulator/...``) handlers :mod:`routes` points at.

Bodies are JSON; a ``ValueError``, ``TypeError`` or ``KeyError`` raised here is answered
``400 {"error": ...}`` by the server, a :class:`Missing` ``404 {"error": ...}``. Control requests are not counted, limited or faulted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .errors import PardotError
from .params import get
from .store import canonical_object, public

if TYPE_CHECKING:
    from .routes import Call
    from .server import Handler


class Missing(Exception):
    """An unknown object or export: 404."""


def _data(c: Call):
    try:
        return json.loads(c.body) if c.body.strip() else {}
    except ValueError:
        raise ValueError("body must be JSON") from None


def health(h: Handler, c: Call) -> None:
    h.send_json(200, {"ok": True})


def state(h: Handler, c: Call) -> None:
    h.send_json(200, h.emu.state())


def identities(h: Handler, c: Call) -> None:
    h.send_json(200, h.emu.identities)


def reset(h: Handler, c: Call) -> None:
    h.emu.reset()
    h.send_json(200, {"ok": True})


def config(h: Handler, c: Call) -> None:
    emu = h.emu
    if h.command == "POST":
        emu.set_config(_data(c))
    cfg = {k: v for k, v in emu.config.items() if k != "jwt_public_key"}
    cfg["daily_used"] = emu.daily_used
    cfg["max_in_flight"] = emu.max_in_flight
    h.send_json(200, cfg)


def seed(h: Handler, c: Call) -> None:
    counts = h.emu.reseed(_data(c))
    h.send_json(200, {"counts": counts, "id_layout": h.emu.store.id_layout})


def expire_tokens(h: Handler, c: Call) -> None:
    h.send_json(200, {"expired": h.emu.auth.expire_all()})


def requests(h: Handler, c: Call) -> None:
    h.send_json(200, h.emu.requests_since(int(get(c.query, "since", "0"))))


def sends(h: Handler, c: Call) -> None:
    h.send_json(200, h.emu.state()["sends"])


def _object(c: Call) -> str:
    name = canonical_object(c.vars["object"])
    if name is None:
        raise Missing(f"unknown object {c.vars['object']!r}")
    return name


def records(h: Handler, c: Call) -> None:
    name = _object(c)
    store = h.emu.store
    with store.lock:
        rows = store.tables[name].rows
        if get(c.query, "rows", "0") in ("1", "true"):
            return h.send_json(200, {"rows": [public(r) for r in rows if not r.get("_deleted")]})
        h.send_json(
            200,
            {
                "ids": [r["id"] for r in rows if not r.get("_deleted")],
                "deleted_ids": [r["id"] for r in rows if r.get("_deleted")],
            },
        )


def mutate(h: Handler, c: Call) -> None:
    name = _object(c)
    data, store, out = _data(c), h.emu.store, {}
    if data.get("insert"):
        out["inserted"] = store.insert(name, int(data["insert"]))
    if data.get("update"):
        out["updated"] = store.touch(name, data["update"])
    if data.get("delete"):
        out["deleted"] = store.delete(name, data["delete"])
    h.send_json(200, out)


def _export(h: Handler, c: Call):
    try:
        return h.emu.exports.get(c.vars["id"])
    except PardotError:
        raise Missing(f"unknown export {c.vars['id']}") from None


def export(h: Handler, c: Call) -> None:
    exp = _export(h, c)
    ex = h.emu.exports
    if h.command == "POST":
        data = _data(c)
        ex.force(exp, data.get("state"), data.get("isExpired"), pinned=data.get("pinned", True))
    h.send_json(200, ex.repr_v5(exp, h.base_url) | {"state": exp.state, "pinned": exp.pinned})


def export_files(h: Handler, c: Call) -> None:
    h.send_json(200, h.emu.exports.file_info(_export(h, c), h.base_url))


def faults(h: Handler, c: Call) -> None:
    emu = h.emu
    if h.command == "POST":
        data = _data(c)
        emu.faults.set(data if isinstance(data, list) else data.get("rules", []))
    elif h.command == "DELETE":
        emu.faults.clear()
    h.send_json(200, {"rules": emu.faults.describe(), "faults_injected": emu.faults.injected})


def import_status(h: Handler, c: Call) -> None:
    im = h.emu.imports
    try:
        imp = im.get(c.vars["id"])
    except PardotError:
        raise Missing(f"unknown import {c.vars['id']}") from None
    if h.command == "POST":
        data = _data(c)
        im.force(imp, data.get("status"), data.get("isExpired"), pinned=data.get("pinned", True))
    h.send_json(200, im.control_view(imp, h.base_url))


def imports_list(h: Handler, c: Call) -> None:
    im = h.emu.imports
    with im.cond:
        rows = sorted(im.imports.values(), key=lambda i: i.id)
    h.send_json(200, [im.control_view(i, h.base_url) for i in rows])
