"""v3/v4 object endpoints: ``/api/{object}/version/{v}/do/{op}[/{id_field}/{value}]``."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import threading
from typing import TYPE_CHECKING, Any

from .dates import fmt, parse_datetime, utcnow
from .errors import PardotError
from .params import get, get_multi, parse_int, php_bool, strict_bool
from .render import one_or_many
from .store import ID_BASE, public

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

MAX_PAGE = 200

# object -> (row key in responses, sort_by -> default order, date criteria prefixes, extra criteria)
QUERY_SPEC: dict[str, dict] = {
    "list": {
        "key": "list",
        "sorts": {
            "created_at": "descending",
            "id": "ascending",
            "name": "ascending",
            "updated_at": "descending",
        },
        "dates": ("created", "updated"),
    },
    "listMembership": {
        "key": "list_membership",
        "sorts": {"created_at": "descending", "id": "ascending", "updated_at": "descending"},
        "dates": ("created", "updated"),
    },
    "dynamicContent": {
        "key": "dynamicContent",
        "sorts": {"created_at": "descending", "id": "ascending", "updated_at": "descending"},
        "dates": ("created", "updated"),
    },
    "lifecycleHistory": {
        "key": "lifecycleHistory",
        "sorts": {"created_at": "ascending", "id": "ascending"},
        "dates": ("created",),
    },
    "lifecycleStage": {
        "key": "lifecycleStage",
        "sorts": {"id": "ascending", "name": "ascending", "position": "ascending"},
        "dates": (),
    },
    "prospect": {
        "key": "prospect",
        "sorts": {
            "created_at": "descending",
            "id": "ascending",
            "last_activity_at": "descending",
            "updated_at": "descending",
        },
        "dates": ("created", "updated", "last_activity"),
    },
    "visitorActivity": {
        "key": "visitor_activity",
        "sorts": {"created_at": "descending", "id": "ascending"},
        "dates": ("created", "updated"),
    },
    "campaign": {
        "key": "campaign",
        "sorts": {"created_at": "descending", "id": "ascending", "name": "ascending"},
        "dates": (),
    },
}

# Objects the emulator knows but holds no data for: a query answers 0 rows, a read "Invalid ID".
# (tap-pardot and PyPardot4 stream these; answering keeps those clients working unchanged.)
EMPTY_OBJECTS = {
    "opportunity": "opportunity",
    "user": "user",
    "visitor": "visitor",
    "visit": "visit",
    "prospectAccount": "prospectAccount",
    "emailClick": "emailClick",
    "customField": "customField",
    "customRedirect": "customRedirect",
    "tag": "tag",
    "tagObject": "tagObject",
    "form": "form",
    "account": "account",
}

LIST_FIELDS = ("name", "is_public", "title", "description", "is_crm_visible")
READ_NOT_FOUND = {"list": 55, "prospect": 3}
#: the boolean form fields of a send, read with PHP truthiness and recorded with the send
SEND_FLAGS = ("operational_email", "from_assigned_user", "from_account_owner")


def date_param(params: dict, name: str) -> str | None:
    v = get(params, name)
    if v is None:
        return None
    try:
        return fmt(parse_datetime(v))
    except (ValueError, OverflowError):
        raise PardotError(7, name) from None


# ---------------------------------------------------------------------------- queries
def run_query(emu, obj: str, params: dict) -> dict:
    spec = QUERY_SPEC[obj]
    output = (get(params, "output") or "full").lower()
    if output not in ("full", "simple", "mobile", "bulk"):
        raise PardotError(5, "output")
    conds: list[Callable[..., Any]] = []
    for prefix in spec["dates"]:
        field = f"{prefix}_at"
        after = date_param(params, f"{prefix}_after")
        before = date_param(params, f"{prefix}_before")
        if after is not None:
            conds.append(lambda r, f=field, a=after: (r.get(f) or "") > a)
        if before is not None:
            conds.append(lambda r, f=field, b=before: r.get(f) is not None and r.get(f) < b)
    # id bounds select a slice of the id-ordered table (bisect), not a scan
    id_bounds = {}
    for pname in ("id_greater_than", "id_less_than"):
        v = get(params, pname)
        if v is not None:
            id_bounds[pname] = parse_int(v, 16, pname)
    deleted_mode = "false"
    if obj == "list" and get(params, "name") is not None:
        name = get(params, "name")
        conds.append(lambda r, n=name: r["name"] == n)
    if obj == "listMembership":
        if get(params, "list_id") is not None:
            lid = parse_int(get(params, "list_id"), 55, "list_id")
            conds.append(lambda r, v=lid: r["list_id"] == v)
        if get(params, "prospect_id") is not None:
            pid = parse_int(get(params, "prospect_id"), 3, "prospect_id")
            conds.append(lambda r, v=pid: r["prospect_id"] == v)
        d = get(params, "deleted")
        if d is not None:
            d = d.strip().lower()
            if d not in ("true", "false", "all"):
                raise PardotError(27)
            deleted_mode = d
    if obj == "visitorActivity":
        pids = get_multi(params, "prospect_ids") + get_multi(params, "prospect_id")
        if pids:
            s = {parse_int(p, 3, "prospect_ids") for p in pids}
            conds.append(lambda r, s=s: r.get("prospect_id") in s)
        types = get_multi(params, "type")
        if types:
            ts = {parse_int(t, 5, "type") for t in types}
            conds.append(lambda r, ts=ts: r.get("type") in ts)
    if obj == "prospect" and get(params, "email") is not None:
        em = get(params, "email").lower()
        conds.append(lambda r, e=em: (r.get("email") or "").lower() == e)

    sort_by = get(params, "sort_by")
    sort_order = get(params, "sort_order")
    if sort_by is not None and sort_by not in spec["sorts"]:
        raise PardotError(19)
    if sort_order is not None and sort_order not in ("ascending", "descending"):
        raise PardotError(20)
    limit_raw = get(params, "limit")
    if limit_raw is not None:
        limit = parse_int(limit_raw, 23)
        if limit < 1:
            raise PardotError(23)
    else:
        limit = None
    offset = parse_int(get(params, "offset", "0"), 21)
    if offset < 0:
        raise PardotError(21)

    with emu.store.lock:
        table_rows = emu.store.tables[obj].rows  # kept in ascending id order (inserts get higher ids)
        lo, hi = 0, len(table_rows)
        if "id_greater_than" in id_bounds:
            lo = bisect.bisect_right(table_rows, id_bounds["id_greater_than"], key=_row_id)
        if "id_less_than" in id_bounds:
            hi = bisect.bisect_left(table_rows, id_bounds["id_less_than"], key=_row_id)
        candidates = table_rows[lo:hi]
        id_descending = (sort_by == "id" and (sort_order or spec["sorts"]["id"]) == "descending") or (
            not sort_by and sort_order == "descending"
        )
        page_size = min(limit or MAX_PAGE, MAX_PAGE)
        if output == "bulk" and sort_by in (None, "id"):
            # No total_results in bulk output, so the matches need not all be counted: the page
            # ends at its last row (why Pardot calls bulk output the fastest).
            matches = _matching(reversed(candidates) if id_descending else candidates, deleted_mode, conds)
            page = list(itertools.islice(matches, offset, offset + page_size))
            total = None
        else:
            if deleted_mode == "false":
                rows = [r for r in candidates if not r.get("_deleted")]
            elif deleted_mode == "true":
                rows = [r for r in candidates if r.get("_deleted")]
            else:
                rows = candidates
            if conds:
                rows = [r for r in rows if all(c(r) for c in conds)]
            if id_descending:
                rows.reverse()
            elif sort_by and sort_by != "id":
                order = sort_order or spec["sorts"][sort_by]
                rows.sort(key=lambda r: r["id"])  # stable tie-break by id
                rows.sort(
                    key=lambda r: (r.get(sort_by) is None, r.get(sort_by) or ""),
                    reverse=(order == "descending"),
                )
            total = len(rows)
            if output == "mobile":
                # "This limit is not enforced for responses formatted for mobile devices."
                page = rows[offset : offset + limit] if limit else rows[offset:]
            else:
                page = rows[offset : offset + page_size]
        page = [shape_row(obj, r, output) for r in page]
    result: dict = {}
    if total is not None:
        result["total_results"] = total
    data = one_or_many(page)
    if data is not None:
        result[spec["key"]] = data
    # Empty bulk page: Pardot converts an empty <result/> to null (tap-pardot's mocks use
    # {"result": null}; no document shows the real shape).
    if output == "bulk" and not result:
        return {"result": None}
    return {"result": result}


def _row_id(row: dict) -> int:
    return row["id"]


def _matching(rows: Iterable[dict], deleted_mode: str, conds: list[Callable[..., Any]]) -> Iterator[dict]:
    """The rows that pass the deleted filter and every condition, lazily and in order (bulk pages)."""
    if deleted_mode == "false":
        rows = (r for r in rows if not r.get("_deleted"))
    elif deleted_mode == "true":
        rows = (r for r in rows if r.get("_deleted"))
    if conds:
        rows = (r for r in rows if all(c(r) for c in conds))
    return iter(rows)


def shape_row(obj: str, row: dict, output: str) -> dict:
    r = public(row)
    if obj == "prospect":
        if output == "mobile":
            return {k: r.get(k) for k in ("id", "first_name", "last_name", "email", "company")}
        if output in ("bulk", "simple"):
            r.pop("campaign", None)
    if obj == "visitorActivity" and output in ("bulk", "simple", "mobile"):
        r.pop("campaign", None)
    if obj == "visitorActivity":
        # drop null relation ids (the XML recordings only carry the ids that are set)
        r = {k: v for k, v in r.items() if not (k.endswith("_id") and v is None and k != "prospect_id")}
    return r


# ---------------------------------------------------------------------------- reads and lists
def read(emu, obj: str, params: dict) -> dict:
    key = QUERY_SPEC[obj]["key"]
    table = emu.store.tables[obj]
    with emu.store.lock:
        if obj == "prospect" and get(params, "id") is None and get(params, "email") is not None:
            email = get(params, "email").lower()
            for r in table.rows:
                if not r.get("_deleted") and (r.get("email") or "").lower() == email:
                    return {key: public(r)}
            raise PardotError(4)
        not_found = READ_NOT_FOUND.get(obj, 16)
        raw = get(params, "id")
        if raw is None:
            raise PardotError(not_found if obj != "prospect" else 3)
        row = table.by_id.get(parse_int(raw, not_found))
        if row is None or row.get("_deleted"):
            raise PardotError(not_found)
        return {key: public(row)}


def _list_values(params: dict) -> dict:
    values: dict = {}
    for f in LIST_FIELDS:
        v = get(params, f)
        if v is not None:
            values[f] = php_bool(v) if f.startswith("is_") else v
    return values


def list_create(emu, params: dict) -> dict:
    values = _list_values(params)
    if not (values.get("name") or "").strip():
        raise PardotError(13, "name")
    table = emu.store.tables["list"]
    with emu.store.lock:
        now = fmt(utcnow())
        row = {
            "id": table.new_id(),
            "name": values["name"],
            "is_public": values.get("is_public", False),
            "is_dynamic": False,
            "title": values.get("title"),
            "description": values.get("description"),
            "is_crm_visible": values.get("is_crm_visible", False),
            "created_at": now,
            "updated_at": now,
        }
        table.add(row)
        return {"list": public(row)}


def _live_list(emu, params: dict) -> dict:
    raw = get(params, "id")
    if raw is None:
        raise PardotError(55)
    row = emu.store.tables["list"].by_id.get(parse_int(raw, 55))
    if row is None or row.get("_deleted"):
        raise PardotError(55)
    return row


def list_update(emu, params: dict) -> dict:
    values = _list_values(params)
    with emu.store.lock:
        row = _live_list(emu, params)
        if "name" in values and not values["name"].strip():
            raise PardotError(36, "name")
        row.update(values)
        row["updated_at"] = fmt(utcnow())
        emu.store.tables["list"].changed()
        return {"list": public(row)}


def list_delete(emu, params: dict) -> None:
    """The list goes to the recycle bin, and its memberships with it."""
    with emu.store.lock:
        row = _live_list(emu, params)
        row["_deleted"] = True
        row["updated_at"] = fmt(utcnow())
        for m in emu.store.tables["listMembership"].rows:
            if m["list_id"] == row["id"]:
                m["_deleted"] = True
        emu.store.tables["list"].changed()
        emu.store.tables["listMembership"].changed()


# ---------------------------------------------------------------------------- emails
def email_read(emu, params: dict) -> dict:
    include = php_bool(get(params, "include_message"), default=True)
    raw = get(params, "id")
    if raw is None:
        raise PardotError(16)
    with emu.store.lock:
        row = emu.store.tables["email"].by_id.get(parse_int(raw, 16))
        if row is None:
            raise PardotError(16)
        r = public(row)
    if not include:
        r.pop("message", None)
    return {"email": r}


def _pct(num: int, den: int) -> str:
    return f"{(100.0 * num / den) if den else 0.0:.2f}%"


def email_stats(emu, params: dict) -> dict:
    raw = get(params, "id")
    if raw is None:
        raise PardotError(16)
    eid = parse_int(raw, 16)
    with emu.store.lock:
        if eid not in emu.store.tables["email"].by_id:
            raise PardotError(16)
        s = dict(
            emu.store.stats.get(eid)
            or {
                k: 0
                for k in (
                    "sent",
                    "delivered",
                    "total_clicks",
                    "unique_clicks",
                    "soft_bounced",
                    "hard_bounced",
                    "opt_outs",
                    "spam_complaints",
                    "opens",
                    "unique_opens",
                )
            }
        )
    d = s["delivered"]
    # Rates are strings with a percent sign, as in the recorded XML; derived from the counts.
    s.update(
        {
            "delivery_rate": _pct(d, s["sent"]),
            "opens_rate": _pct(s["unique_opens"], d),
            "click_through_rate": _pct(s["total_clicks"], d),
            "unique_click_through_rate": _pct(s["unique_clicks"], d),
            "click_open_ratio": _pct(s["unique_clicks"], s["unique_opens"]),
            "opt_out_rate": _pct(s["opt_outs"], d),
            "spam_complaint_rate": _pct(s["spam_complaints"], d),
        }
    )
    return {"stats": s}


def _template(emu, raw, archived: bool, bad_code=86) -> dict:
    tid = parse_int(raw, bad_code, "email_template_id")
    row = emu.store.tables["emailTemplate"].by_id.get(tid)
    if row is None or row.get("_deleted") or (row.get("isArchived") and not archived):
        raise PardotError(68)
    return row


def template_repr(row: dict, full: bool) -> dict:
    r: dict[str, Any] = {"error": 0} if full else {}
    if full:
        r["sendOptions"] = None
    r.update({"id": row["id"], "name": row["name"]})
    if full:
        r.update(
            {
                "htmlMessage": row["htmlMessage"],
                "textMessage": row["textMessage"],
                "trackedTextMessage": None,
                "trackedHtmlMessage": None,
            }
        )
    for k in (
        "fromName",
        "isOneToOneEmail",
        "isArchived",
        "isAutoResponderEmail",
        "isDripEmail",
        "isListEmail",
        "subject",
        "emailType",
        "type",
    ):
        r[k] = row.get(k)
    return r


def template_read(emu, params: dict) -> dict:
    archived = strict_bool(get(params, "archived"), 145, default=False)
    raw = get(params, "id")
    if raw is None:
        raise PardotError(68)
    with emu.store.lock:
        return {"emailTemplate": template_repr(_template(emu, raw, archived, 68), True)}


def templates_one_to_one(emu, params: dict) -> dict:
    archived = strict_bool(get(params, "archived"), 145, default=False)
    with emu.store.lock:
        rows = [
            template_repr(r, False)
            for r in emu.store.tables["emailTemplate"].rows
            if r.get("isOneToOneEmail") and not r.get("_deleted") and (archived or not r.get("isArchived"))
        ]
    body: dict = {}
    data = one_or_many(rows)
    if data is not None:
        body["templates"] = data
    body["error"] = 0
    body["count"] = len(rows)
    return {"emailTemplates": body}


_send_lock = threading.Lock()
UNSUB_TAGS = ("%%unsubscribe%%", "%%email_preference_center%%")


def _parse_iso(value: str) -> str:
    try:
        d = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PardotError(7, "scheduled_time") from None
    if d.tzinfo is not None:
        d = d.astimezone(dt.UTC).replace(tzinfo=None)
    return fmt(d)


def email_send(emu, params: dict) -> dict:
    """List and one-to-one sends, validated as the email docs describe ("Email List Send", "Email One-to-One Send")."""
    store = emu.store
    pid_raw = get(params, "prospect_id")
    pemail = get(params, "prospect_email")
    kind = "prospect_id" if pid_raw is not None else "prospect_email" if pemail is not None else "list"

    camp = get(params, "campaign_id")
    if camp is None or camp.strip() == "":
        raise PardotError(13, "campaign_id")
    campaign_id = parse_int(camp, 38)
    if campaign_id <= 0:
        raise PardotError(38)

    flags = {b: php_bool(get(params, b)) for b in SEND_FLAGS}
    scheduled = get(params, "scheduled_time")
    if scheduled:
        _parse_iso(scheduled)

    with store.lock:
        prospect = None
        list_ids: list[int] = []
        suppression: list[int] = []
        lists = store.tables["list"].by_id
        if kind == "list":
            raw_ids = get_multi(params, "list_ids")
            if not raw_ids:
                raise PardotError(13, "list_ids[]")
            for v in raw_ids:
                i = parse_int(v, 55)
                if i not in lists or lists[i].get("_deleted"):
                    raise PardotError(55, str(i))
                list_ids.append(i)
            for v in get_multi(params, "suppression_list_ids"):
                i = parse_int(v, 55)
                if i not in lists or lists[i].get("_deleted"):
                    raise PardotError(55, str(i))
                suppression.append(i)
        else:
            if pid_raw is not None:
                prospect = store.tables["prospect"].by_id.get(parse_int(pid_raw, 3))
                if prospect is None or prospect.get("_deleted"):
                    raise PardotError(3)
                if pemail is not None and pemail.lower() != (prospect.get("email") or "").lower():
                    raise PardotError(44)
            else:
                for r in store.tables["prospect"].rows:
                    if not r.get("_deleted") and (r.get("email") or "").lower() == pemail.lower():
                        prospect = r
                        break
                if prospect is None:
                    raise PardotError(4)

        tmpl_raw = get(params, "email_template_id")
        text = get(params, "text_content")
        html = get(params, "html_content")
        name = get(params, "name")
        subject = get(params, "subject")
        if tmpl_raw is not None and tmpl_raw.strip() != "":
            if text is not None or html is not None:
                raise PardotError(51, "give either email_template_id or text_content, not both")
            tmpl = _template(emu, tmpl_raw, archived=False)
            name = name or tmpl["name"]
            subject = subject or tmpl["subject"]
            text, html = tmpl["textMessage"], tmpl["htmlMessage"]
        else:
            missing = [p for p, v in (("text_content", text), ("name", name), ("subject", subject)) if not v]
            if not get(params, "from_user_id"):
                # way (2) needs from_email + from_name, way (3) from_user_id
                if not get(params, "from_email"):
                    missing.append("from_email")
                if not get(params, "from_name"):
                    missing.append("from_name")
            if missing:
                raise PardotError(13, ", ".join(missing))
            for content in (text, html):
                if content is not None and not any(t in content for t in UNSUB_TAGS):
                    raise PardotError(64, "%%unsubscribe%% or %%email_preference_center%%")

        table = store.tables["email"]
        now = fmt(utcnow())
        row = {
            "id": table.new_id(),
            "name": name,
            "isOneToOne": kind != "list",
            "subject": subject,
            "message": {"text": text, "html": html},
            "created_at": now,
            # v5 only (emails): what the send said
            "_campaign_id": campaign_id,
            "_prospect_id": prospect["id"] if prospect else None,
            "_email_template_id": int(tmpl_raw) if tmpl_raw and tmpl_raw.strip() else None,
            "_operational": flags["operational_email"],
        }
        table.add(row)
        if kind == "list":
            store.stats[row["id"]] = {
                k: 0
                for k in (
                    "sent",
                    "delivered",
                    "total_clicks",
                    "unique_clicks",
                    "soft_bounced",
                    "hard_bounced",
                    "opt_outs",
                    "spam_complaints",
                    "opens",
                    "unique_opens",
                )
            }
        flat = {
            k: (v if len(v) > 1 or k.endswith("[]") else v[-1])
            for k, v in params.items()
            if k not in ("format", "api_key", "user_key", "access_token", "id")
        }
        entry = {
            "id": row["id"],
            "email_id": row["id"],
            "kind": kind,
            "campaign_id": campaign_id,
            "list_ids": list_ids,
            "suppression_list_ids": suppression,
            "tags": get_multi(params, "tags"),
            "prospect_id": prospect["id"] if prospect else None,
            "prospect_email": prospect["email"] if prospect else None,
            "email_template_id": tmpl_raw,
            "scheduled_time": scheduled,
            "flags": flags,
            "time": now,
            "params": flat,
        }
        emu.record_send(entry)
    return {"email": public(row)}


def default_id_base(obj: str) -> int:
    return ID_BASE.get(obj, 1)
