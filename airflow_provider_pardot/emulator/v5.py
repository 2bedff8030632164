"""v5 object queries and reads: ``GET /api/v5/objects/<object>[/<id>]`` (Pardot's v5 object reference pages).

The same records as the v3/v4 endpoints (one store, v4 field names), shown in v5's shape:
camelCase names, ISO 8601 date-times with the account's offset (UTC here), JSON booleans.

* ``fields`` is required on every call (error 13); an unknown field is error 51. Dotted names
  reach a related record (``campaign.name`` -> ``{"campaign": {"name": ...}}``).
* Filters are ``<field>``, ``<field>GreaterThan[OrEqualTo]``, ``<field>LessThan[OrEqualTo]`` for
  integers, ``<field>``, ``<field>After[OrEqualTo]``, ``<field>Before[OrEqualTo]`` for date-times,
  ``<field>`` for strings, ``idList`` (comma-separated ids); filters may touch at most three
  distinct fields (error 209). ``deleted`` (``true``/``false``/``all``) only where the object has a
  recycle bin. ``limit`` 1..1000 (default 200), ``orderBy`` over the object's sortable fields
  (``id ASC`` by default), ``offset`` (deprecated) up to 2000.
* Paging is by keyset: ``nextPageToken`` is base64 JSON holding the query and the last record's
  sort key (as Pardot's own tokens do), so records inserted or deleted between pages are seen or
  not as they stand when each page is read, and no record that stays is skipped or repeated. A
  token is given whenever a page is full (Pardot's rule: the last one can be empty). With a token,
  only ``fields`` may be sent beside it. Tokens expire after ``v5_token_ttl`` seconds (4 h: error
  210); an unreadable one is error 211.
* One token sequence serves at most ``v5_record_cap`` records (100,000): the page that reaches it
  carries no token and ``Pardot-Warning: 203;Record count for nextPageToken sequence has been
  exceeded. No page token returned.``
* Errors the docs leave open are answered as 51 "Invalid parameter: ..." (the pattern of the one
  real message): a bad limit, filter, orderBy, deleted or date, a parameter sent with a token.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import datetime as dt
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .dates import fmt_v5, parse_datetime, utcnow, v4_to_v5
from .errors import PardotError
from .params import get

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    Getter = Callable[[dict], Any]

MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
MAX_OFFSET = 2000
MAX_FILTERED_FIELDS = 3
CAP_WARNING = "203;Record count for nextPageToken sequence has been exceeded. No page token returned."
RECYCLE_BIN_WARNING = "201;Record In Recycle Bin"
#: query parameters that are not filters (``format`` is ignored, as clients add it out of habit)
SHARED = {"fields", "limit", "offset", "orderBy", "deleted", "nextPageToken", "format"}

INT, DATETIME, STRING = "integer", "datetime", "string"
INT_OPS = {
    "": "eq",
    "GreaterThan": "gt",
    "GreaterThanOrEqualTo": "ge",
    "LessThan": "lt",
    "LessThanOrEqualTo": "le",
}
DATE_OPS = {"": "eq", "After": "gt", "AfterOrEqualTo": "ge", "Before": "lt", "BeforeOrEqualTo": "le"}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a is not None and a > b,
    "ge": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "le": lambda a, b: a is not None and a <= b,
    "in": lambda a, b: a in b,
}


# ---------------------------------------------------------------------------- field getters
def _col(key: str) -> Getter:
    return lambda r: r.get(key)


def _date(key: str) -> Getter:
    return lambda r: v4_to_v5(r.get(key))


def _flag(key: str) -> Getter:
    return lambda r: bool(r.get(key))


def _null(r: dict) -> None:
    return None


def _in_recycle_bin(r: dict) -> bool:
    return bool(r.get("_deleted"))


def twins(spec: str) -> dict[str, str | None]:
    """``"id name:name folderId="`` -> ``{"id": "id", "name": "name", "folderId": None}``.

    Each v5 name and the store column it reads (None: the emulator holds no data for it).
    """
    out: dict[str, str | None] = {}
    for item in spec.split():
        name, sep, twin = item.partition(":")
        if name.endswith("="):
            out[name[:-1]] = None
        else:
            out[name] = twin if sep else name
    return out


def _fields(spec: str, **special: Getter) -> dict[str, Getter]:
    """``"id name:name isPublic:is_public folderId="``: v5 name, ``:`` its v4 twin, ``=`` always null.

    A name ending in ``At`` is a date-time, one starting with ``is`` (or ``optedOut``, ``doNotSell``)
    a boolean; ``isDeleted`` is the recycle bin. ``special`` getters win.
    """
    out: dict[str, Getter] = {}
    for name, key in twins(spec).items():
        getter: Getter
        if key is None:
            getter = _null
        elif name == "isDeleted":
            getter = _in_recycle_bin
        else:
            if name.endswith("At"):
                getter = _date(key)
            elif name.startswith("is") or name in ("optedOut", "doNotSell"):
                getter = _flag(key)
            else:
                getter = _col(key)
        out[name] = special.get(name, getter)
    for name, getter in special.items():
        out.setdefault(name, getter)
    return out


def _type_of(name: str) -> str:
    if name.endswith("At"):
        return DATETIME
    if name == "id" or name.endswith("Id") or name in ("position", "score", "secondsElapsed", "type"):
        return INT
    return STRING


@dataclass(frozen=True)
class V5Object:
    """How a v5 object is served from the store's ``table`` (None: an object the emulator holds no data for)."""

    table: str | None
    fields: dict[str, Getter]
    sortable: tuple[str, ...]
    filters: tuple[str, ...]
    recycle_bin: bool
    #: relation name -> (v5 object, the field holding its id): ``campaign.name``
    relations: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the account's custom fields (``<name>__c``)
    custom: dict[str, Getter] = field(default_factory=dict)


# the v4 label "Default Field: City" -> v5's enum and the prospect field it is based on
def _based_on(r: dict) -> str:
    label = (r.get("basedOn") or "").lower()
    for kind in ("custom", "grade", "score"):
        if label.startswith(kind):
            return kind
    return "default"


def _based_on_field(r: dict) -> str | None:
    label = r.get("basedOn") or ""
    return label.split(":", 1)[1].strip().lower() if ":" in label and _based_on(r) == "default" else None


def _custom(name: str, default: Getter) -> Getter:
    """A custom field: the value an import set (kept in the row's ``_custom``), else ``default``."""

    def value(r: dict) -> Any:
        own = r.get("_custom") or {}
        return own[name] if name in own else default(r)

    return value


def _hobby(r: dict) -> str | None:
    return ("swimming", None, "chess", None, None)[r["id"] % 5]


PROSPECT_FIELDS = (
    "id email firstName:first_name lastName:last_name salutation company jobTitle:job_title department "
    "phone fax website addressOne:address_one addressTwo:address_two city state zip country territory "
    "annualRevenue:annual_revenue employees industry yearsInBusiness:years_in_business comments notes "
    "source score grade recentInteraction:recent_interaction lastActivityAt:last_activity_at "
    "campaignId:campaign_id prospectAccountId= profileId= userId= assignedToId= lifecycleStageId= "
    "optedOut:opted_out isDoNotEmail:is_do_not_email isDoNotCall:is_do_not_call isReviewed:is_reviewed "
    "isStarred:is_starred isDeleted isEmailHardBounced emailBouncedAt= emailBouncedReason= doNotSell "
    "password salesforceId:salesforce_fid salesforceLeadId:crm_lead_fid salesforceContactId:crm_contact_fid "
    "salesforceAccountId:crm_account_fid salesforceOwnerId:crm_owner_fid salesforceCampaignId= "
    "salesforceUrl:crm_url salesforceLastSync:crm_last_sync campaignParameter= mediumParameter= "
    "sourceParameter= contentParameter= termParameter= firstActivityAt= firstAssignedAt= "
    "firstReferrerQuery= firstReferrerType= firstReferrerUrl= convertedAt= convertedFromObjectName= "
    "convertedFromObjectType= createdAt:created_at updatedAt:updated_at createdById= updatedById="
)
# salesforceLastSync is a date-time whose v4 twin is crm_last_sync: _fields dates every "...At" only
_PROSPECT_SPECIAL: dict[str, Getter] = {"salesforceLastSync": _date("crm_last_sync")}

OBJECTS: dict[str, V5Object] = {
    "lists": V5Object(
        "list",
        _fields(
            "id name title description isPublic:is_public isDynamic:is_dynamic isSalesforceVisible:is_crm_visible "
            "isDeleted folderId= campaignId= createdAt:created_at updatedAt:updated_at createdById= updatedById="
        ),
        sortable=("id", "name", "createdAt", "updatedAt"),
        filters=("id", "name", "createdAt", "updatedAt"),
        recycle_bin=True,
        relations={"campaign": ("campaigns", "campaignId")},
    ),
    "list-memberships": V5Object(
        "listMembership",
        _fields(
            "id listId:list_id prospectId:prospect_id optedOut:opted_out isDeleted createdAt:created_at "
            "updatedAt:updated_at createdById= updatedById="
        ),
        sortable=("id", "createdAt", "updatedAt"),
        filters=("id", "listId", "prospectId", "createdAt", "updatedAt"),
        recycle_bin=True,
        relations={"list": ("lists", "listId"), "prospect": ("prospects", "prospectId")},
    ),
    "lifecycle-histories": V5Object(
        "lifecycleHistory",
        _fields(
            "id prospectId:prospect_id previousStageId:previous_stage_id nextStageId:next_stage_id "
            "secondsElapsed:seconds_elapsed createdAt:created_at"
        ),
        sortable=("id", "createdAt"),  # V5-OBJ(lifecycle-history), read directly
        filters=("id", "prospectId", "createdAt"),
        recycle_bin=False,
        relations={
            "prospect": ("prospects", "prospectId"),
            "previousStage": ("lifecycle-stages", "previousStageId"),
            "nextStage": ("lifecycle-stages", "nextStageId"),
        },
    ),
    "lifecycle-stages": V5Object(
        "lifecycleStage",
        _fields(
            "id name position isLocked:is_locked isDeleted createdAt:_created_at updatedAt:_created_at",
            matchType=lambda r: "all" if r.get("is_locked") else "any",
        ),
        sortable=("id", "name", "position", "createdAt", "updatedAt"),
        filters=("id", "createdAt", "updatedAt"),
        recycle_bin=True,
    ),
    "dynamic-contents": V5Object(
        "dynamicContent",
        _fields(
            "id name basedOn basedOnProspectApiFieldId baseContent embedCode embedUrl folderId= "
            "trackerDomainId= tagReplacementLanguage isDeleted createdAt:created_at updatedAt:updated_at "
            "createdById= updatedById=",
            basedOn=_based_on,
            basedOnProspectApiFieldId=_based_on_field,
            tagReplacementLanguage=lambda r: "hml",
        ),
        sortable=("id", "createdAt", "updatedAt"),
        filters=("id", "createdAt", "updatedAt"),
        recycle_bin=True,
    ),
    "emails": V5Object(
        "email",
        _fields(
            "id name subject type sentAt:created_at clientType isOperational campaignId:_campaign_id "
            "prospectId:_prospect_id listId= listEmailId= emailTemplateId:_email_template_id folderId= "
            "trackerDomainId= salesforceCmsId= createdById= updatedAt:created_at",
            type=lambda r: "htmlAndText" if (r.get("message") or {}).get("html") else "text",
            clientType=lambda r: "Web",
            isOperational=_flag("_operational"),
        ),
        sortable=("id", "sentAt", "updatedAt"),
        filters=("id", "sentAt", "updatedAt", "prospectId", "listEmailId", "campaignId"),
        recycle_bin=False,
        relations={"campaign": ("campaigns", "campaignId"), "prospect": ("prospects", "prospectId")},
    ),
    "email-templates": V5Object(
        "emailTemplate",
        _fields(
            "id name subject htmlMessage textMessage isOneToOneEmail isListEmail isAutoResponderEmail "
            "isDripEmail isDeleted type= campaignId= folderId= trackerDomainId= tagReplacementLanguage "
            "createdAt:created_at updatedAt:created_at createdById= updatedById=",
            isDeleted=lambda r: bool(r.get("_deleted") or r.get("isArchived")),
            tagReplacementLanguage=lambda r: "hml",
        ),
        sortable=("id", "createdAt", "updatedAt"),
        filters=("id", "createdAt", "updatedAt"),
        recycle_bin=True,
    ),
    "prospects": V5Object(
        "prospect",
        _fields(PROSPECT_FIELDS, **_PROSPECT_SPECIAL),
        sortable=("id", "createdAt", "updatedAt", "lastActivityAt"),
        filters=("id", "email", "createdAt", "updatedAt", "lastActivityAt", "userId", "assignedToId"),
        recycle_bin=True,
        relations={"campaign": ("campaigns", "campaignId")},
        custom={"biography__c": _custom("biography__c", _null), "hobby__c": _custom("hobby__c", _hobby)},
    ),
    "visitor-activities": V5Object(
        "visitorActivity",
        _fields(
            "id visitId= visitorId:visitor_id prospectId:prospect_id type typeName:type_name details "
            "campaignId:campaign_id customRedirectId= emailId:email_id emailTemplateId= fileId= formHandlerId= "
            "formId= landingPageId= listEmailId= multivariateTestVariationId= opportunityId= paidSearchAdId= "
            "siteSearchQueryId= visitorPageViewId= createdAt:created_at updatedAt:updated_at"
        ),
        sortable=("id", "createdAt", "updatedAt"),
        filters=("id", "prospectId", "visitorId", "type", "createdAt", "updatedAt"),
        recycle_bin=False,
        relations={"campaign": ("campaigns", "campaignId"), "prospect": ("prospects", "prospectId")},
    ),
    "campaigns": V5Object(
        "campaign",
        _fields(
            "id name cost folderId= parentCampaignId= salesforceId= isDeleted createdAt:created_at "
            "updatedAt:created_at createdById= updatedById="
        ),
        sortable=("id", "name", "createdAt", "updatedAt"),
        filters=("id", "name", "createdAt", "updatedAt"),
        recycle_bin=True,
    ),
    # objects the emulator holds no data for: queries answer no rows, reads 404
    "visitors": V5Object(
        None,
        _fields(
            "id campaignParameter= contentParameter= createdAt= doNotSell hostname= ipAddress= "
            "mediumParameter= pageViewCount= prospectId= campaignId= sourceParameter= termParameter= "
            "updatedAt= isIdentified"
        ),
        sortable=("id", "createdAt", "updatedAt"),
        filters=("id", "prospectId", "createdAt", "updatedAt"),
        recycle_bin=False,
    ),
    "visits": V5Object(
        None,
        _fields(
            "id visitorId= prospectId= visitorPageViewCount= firstVisitorPageViewAt= lastVisitorPageViewAt= "
            "durationInSeconds= campaignParameter= mediumParameter= sourceParameter= contentParameter= "
            "termParameter= createdAt= updatedAt="
        ),
        sortable=("id", "prospectId", "createdAt", "updatedAt"),  # V5-OBJ(visit)
        filters=("id", "visitorId", "prospectId", "createdAt", "updatedAt"),
        recycle_bin=False,
    ),
}


def _bad(name: str, why: str) -> PardotError:
    return PardotError(51, f"{name}. {why}")


# ---------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class Projection:
    """The requested fields of one object: own fields and related ones (``campaign.name``)."""

    raw: str
    own: tuple[str, ...]
    related: dict[str, tuple[str, ...]]


def parse_fields(spec: V5Object, params: dict) -> Projection:
    raw = get(params, "fields")
    if raw is None or raw.strip() == "":
        raise PardotError(13, "fields")
    own: list[str] = []
    related: dict[str, list[str]] = {}
    for name in (n.strip() for n in raw.split(",")):
        rel, dot, sub = name.partition(".")
        if dot and rel in spec.relations and sub in OBJECTS[spec.relations[rel][0]].fields:
            related.setdefault(rel, []).append(sub)
        elif not dot and (name in spec.fields or name in spec.custom):
            own.append(name)
        else:
            raise _bad("fields", f"It contains an invalid or unknown field: {name}")
    return Projection(
        raw, tuple(dict.fromkeys(own)), {k: tuple(dict.fromkeys(v)) for k, v in related.items()}
    )


def _order_keys(names: Iterable[str]) -> list[str]:
    """``id`` first, then standard fields alphabetically, custom ``__c`` fields last (as recorded)."""
    return sorted(names, key=lambda n: (n != "id", n.endswith("__c"), n))


def render(spec: V5Object, rows: list[dict], proj: Projection, store) -> list[dict]:
    """The requested fields of each row, in the order Pardot answers them (worked out once)."""
    getters: dict[str, Callable[[dict], Any]] = {}
    for name in proj.own:
        getters[name] = spec.fields.get(name) or spec.custom[name]
    for rel, subs in proj.related.items():
        getters[rel] = _related(spec, rel, subs, store)
    ordered = [(k, getters[k]) for k in _order_keys(getters)]
    return [{k: g(r) for k, g in ordered} for r in rows]


def _related(spec: V5Object, rel: str, subs: tuple[str, ...], store) -> Callable[[dict], Any]:
    target_name, fk = spec.relations[rel]
    target = OBJECTS[target_name]
    fk_of = spec.fields[fk]
    by_id = store.tables[target.table].by_id if target.table else {}

    def related(row: dict) -> dict | None:
        trow = by_id.get(fk_of(row))
        return None if trow is None else {s: target.fields[s](trow) for s in subs}

    return related


# ---------------------------------------------------------------------------- criteria
@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: Any


def _filter_names(spec: V5Object) -> dict[str, tuple[str, str]]:
    """Every filter parameter of the object -> (field, operation)."""
    out: dict[str, tuple[str, str]] = {}
    for f in spec.filters:
        kind = _type_of(f)
        ops = INT_OPS if kind == INT else DATE_OPS if kind == DATETIME else {"": "eq"}
        for suffix, op in ops.items():
            out[f + suffix] = (f, op)
    if "id" in spec.filters:
        out["idList"] = ("id", "in")
    return out


def _filter_value(name: str, kind: str, op: str, raw: str) -> Any:
    try:
        if op == "in":
            return frozenset(int(x) for x in raw.split(",") if x.strip())
        if kind == INT:
            return int(raw)
        if kind == DATETIME:
            if not raw[:4].isdigit():
                raise ValueError(raw)
            return fmt_v5(parse_datetime(raw))  # to UTC, then in the form the rows are compared in
    except (ValueError, OverflowError):
        expected = "an ISO 8601 date-time with its offset" if kind == DATETIME else "an integer"
        raise _bad(name, f"It must be {expected}: {raw!r}") from None
    return raw


def parse_filters(spec: V5Object, pairs: Iterable[tuple[str, str]]) -> list[Filter]:
    names = _filter_names(spec)
    out: list[Filter] = []
    for name, raw in pairs:
        if name not in names:
            valid = ", ".join(sorted(names))
            raise _bad(name, f"It is not a filter of this object; filters: {valid}")
        f, op = names[name]
        out.append(Filter(f, op, _filter_value(name, _type_of(f), op, raw)))
    if len({f.field for f in out}) > MAX_FILTERED_FIELDS:
        raise PardotError(209)
    return out


def parse_order(spec: V5Object, raw: str | None) -> list[tuple[str, bool]]:
    """``"updatedAt DESC, id"`` -> [("updatedAt", True), ("id", False)]; id ascending last as a tie-break."""
    order: list[tuple[str, bool]] = []
    for part in (raw or "").split(","):
        words = part.split()
        if not words:
            continue
        direction = words[1].upper() if len(words) > 1 else "ASC"
        if words[0] not in spec.sortable or direction not in ("ASC", "DESC") or len(words) > 2:
            raise _bad("orderBy", f"Sortable fields: {', '.join(spec.sortable)}, each optionally ASC or DESC")
        order.append((words[0], direction == "DESC"))
    if not any(f == "id" for f, _ in order):
        order.append(("id", False))
    return order


# ---------------------------------------------------------------------------- tokens
def encode_token(state: dict) -> str:
    # urlsafe alphabet: nextPageUrl carries the token unencoded, as Pardot's does ('=' padding kept)
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode("ascii")


def decode_token(raw: str, now: dt.datetime) -> dict:
    try:
        text = raw.strip().replace(" ", "+")  # a '+' of the standard alphabet sent unencoded
        state = json.loads(base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True))
        expires = dt.datetime.fromisoformat(state["expireTime"]).astimezone(dt.UTC).replace(tzinfo=None)
        _ = (state["filters"], state["limit"], state["resumeValue"], state["recCount"], state["page"])
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        raise PardotError(211) from None
    if expires <= now:
        raise PardotError(210)
    return state


# ---------------------------------------------------------------------------- the query
@dataclass
class Page:
    body: dict
    headers: list[tuple[str, str]]


def _new_state(spec: V5Object, params: dict) -> dict:
    pairs = [(k, v[-1]) for k, v in params.items() if k not in SHARED]
    parse_filters(spec, pairs)  # validate now; pages re-read them from the token
    parse_order(spec, get(params, "orderBy"))
    limit_raw = get(params, "limit", str(DEFAULT_LIMIT))
    try:
        limit = int(limit_raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", f"It must be a positive integer up to {MAX_LIMIT}: {limit_raw!r}")
    deleted = get(params, "deleted")
    if deleted is not None:
        if not spec.recycle_bin:
            raise _bad("deleted", "This object has no recycle bin")
        if deleted.lower() not in ("true", "false", "all"):
            raise _bad("deleted", f"It must be true, false or all: {deleted!r}")
        deleted = deleted.lower()
    offset_raw = get(params, "offset", "0")
    if not offset_raw.isdigit() or int(offset_raw) > MAX_OFFSET:
        raise _bad("offset", f"It must be an integer from 0 to {MAX_OFFSET}: {offset_raw!r}")
    return {
        "orderBy": get(params, "orderBy") or "",
        "filters": pairs,
        "limit": limit,
        "resumeValue": None,
        "page": 1,
        "recCount": 0,
        "deleted": deleted,
        "offset": int(offset_raw),
    }


def query(emu, name: str, params: dict, url: str) -> Page:
    """One page of ``GET /api/v5/objects/<name>``; ``url`` is the collection's absolute URL."""
    spec = OBJECTS[name]
    proj = parse_fields(spec, params)
    now = utcnow()
    token = get(params, "nextPageToken")
    if token is not None:
        extra = sorted(k for k in params if k not in ("fields", "nextPageToken", "format"))
        if extra:
            raise _bad(extra[0], "No parameter but fields may be sent with nextPageToken")
        state = decode_token(token, now)
    else:
        state = _new_state(spec, params)
    filters = parse_filters(spec, [tuple(p) for p in state["filters"]])
    order = parse_order(spec, state["orderBy"])
    cap = int(emu.config["v5_record_cap"])
    size = max(min(int(state["limit"]), cap - int(state["recCount"])), 0)
    store = emu.store
    with store.lock:
        rows = select(spec, store, filters, order, state, size)
        values = render(spec, rows, proj, store)
    served = int(state["recCount"]) + len(rows)
    headers: list[tuple[str, str]] = []
    next_token = None
    if size and len(rows) == size:
        if served >= cap:
            headers.append(("Pardot-Warning", CAP_WARNING))
        else:
            ttl = float(emu.config["v5_token_ttl"])
            expires = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)).replace(microsecond=0)
            last = rows[-1]
            next_token = encode_token(
                {
                    "orderBy": state["orderBy"],
                    "filters": state["filters"],
                    "limit": state["limit"],
                    "resumeValue": {f: spec.fields[f](last) for f, _ in order},
                    "page": int(state["page"]) + 1,
                    "recCount": served,
                    "expireTime": expires.isoformat(),
                    "deleted": state["deleted"],
                }
            )
    next_url = None
    if next_token is not None:
        next_url = f"{url}?fields={urllib.parse.quote(proj.raw, safe=',.')}&nextPageToken={next_token}"
    return Page({"nextPageToken": next_token, "nextPageUrl": next_url, "values": values}, headers)


def _live(spec: V5Object, deleted: str | None) -> Callable[[dict], bool]:
    if not spec.recycle_bin or deleted in (None, "false"):
        return lambda r: not r.get("_deleted")
    if deleted == "true":
        return lambda r: bool(r.get("_deleted"))
    return lambda r: True


def select(spec: V5Object, store, filters: list[Filter], order, state: dict, size: int) -> list[dict]:
    """The next ``size`` rows after the token's resume value, in ``order``."""
    if spec.table is None or size <= 0:
        return []
    rows = store.tables[spec.table].rows  # ascending id
    keep = _live(spec, state.get("deleted"))
    checks = [(spec.fields[f.field], COMPARE[f.op], f.value) for f in filters]

    def ok(r: dict) -> bool:
        return keep(r) and all(cmp(get_(r), v) for get_, cmp, v in checks)

    resume = state.get("resumeValue")
    skip = int(state.get("offset") or 0)
    if [f for f, _ in order] == ["id"]:
        matches = _by_id(rows, filters, order[0][1], resume, ok)
    else:
        table = store.tables[spec.table]
        cache_key = (table.uid, table.version, tuple(order), state.get("deleted"), tuple(filters))
        matches = _sorted(spec, rows, order, resume, ok, cache_key)
    out: list[dict] = []
    for r in matches:
        if skip:
            skip -= 1
            continue
        out.append(r)
        if len(out) == size:
            break
    return out


def _by_id(rows: list[dict], filters: list[Filter], desc: bool, resume, ok) -> Iterator[dict]:
    """Id order: a slice of the id-sorted table (bisect), read lazily -- never a scan per page."""
    lo, hi = 0, len(rows)
    for f in filters:
        if f.field != "id" or f.op == "in":
            continue
        if f.op in ("gt", "ge", "eq"):
            cut = bisect.bisect_right if f.op == "gt" else bisect.bisect_left
            lo = max(lo, cut(rows, f.value, key=_row_id))
        if f.op in ("lt", "le", "eq"):
            cut = bisect.bisect_left if f.op == "lt" else bisect.bisect_right
            hi = min(hi, cut(rows, f.value, key=_row_id))
    if resume:
        if desc:
            hi = min(hi, bisect.bisect_left(rows, resume["id"], key=_row_id))
        else:
            lo = max(lo, bisect.bisect_right(rows, resume["id"], key=_row_id))
    indices = range(hi - 1, lo - 1, -1) if desc else range(lo, hi)
    return (rows[i] for i in indices if ok(rows[i]))


def _row_id(row: dict) -> int:
    return row["id"]


class _Desc:
    """Reverses the order of a sort key part (for ``DESC`` fields mixed with ``ASC`` ones)."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v

    __hash__ = None  # type: ignore[assignment]


def _key(order: list[tuple[str, bool]], values: dict) -> tuple:
    """The sort key of a record's v5 values (nulls first)."""
    return tuple(
        _Desc((values[f] is not None, values[f])) if desc else (values[f] is not None, values[f])
        for f, desc in order
    )


#: (table uid, table version, order, deleted, filters) -> the matching rows sorted, and their keys
_SORTED: dict[tuple, tuple[list[dict], list[tuple]]] = {}
_SORTED_KEEP = 8


def _sorted(spec: V5Object, rows: list[dict], order, resume, ok, cache_key: tuple) -> Iterator[dict]:
    """Any other order: the matching rows sorted once per table version, then a keyset bisect.

    The store's lock is held (select), so the cache needs none of its own.
    """
    hit = _SORTED.get(cache_key)
    if hit is None:
        keyed = sorted(
            ((_key(order, {f: spec.fields[f](r) for f, _ in order}), r) for r in rows if ok(r)),
            key=lambda pair: pair[0],
        )
        hit = [r for _, r in keyed], [k for k, _ in keyed]
        while len(_SORTED) >= _SORTED_KEEP:
            del _SORTED[next(iter(_SORTED))]
        _SORTED[cache_key] = hit
    matches, keys = hit
    start = bisect.bisect_right(keys, _key(order, resume)) if resume else 0
    return (matches[i] for i in range(start, len(matches)))


# ---------------------------------------------------------------------------- read
def read(emu, name: str, raw_id: str, params: dict) -> Page:
    spec = OBJECTS[name]
    proj = parse_fields(spec, params)
    extra = sorted(k for k in params if k not in ("fields", "format"))
    if extra:
        raise _bad(extra[0], "A read takes fields only")
    if spec.table is None or not raw_id.isdigit():
        raise PardotError(109)
    store = emu.store
    with store.lock:
        row = store.tables[spec.table].by_id.get(int(raw_id))
        if row is None or (row.get("_deleted") and not spec.recycle_bin):
            raise PardotError(109)
        headers = [("Pardot-Warning", RECYCLE_BIN_WARNING)] if row.get("_deleted") else []
        return Page(render(spec, [row], proj, store)[0], headers)
