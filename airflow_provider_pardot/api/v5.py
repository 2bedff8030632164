"""
Pardot API v5 object queries: the per-object field and filter tables, and their validation.

One table (:data:`V5_OBJECTS`) holds what the provider knows of each v5 object: its documented
standard fields (the default ``fields``), the relations a dotted field name may reach, the fields
it can be filtered on and how, and whether it has a recycle bin (``deleted``), as Pardot's v5
object reference pages list them; where a source only shows a filter in use, it is taken as
documented. ``id`` range filters are accepted on every object: Pardot's own page tokens
page by id, and the hook goes on past the 100,000-record cap with ``idGreaterThan``.

:func:`validate_v5_query` turns a call's ``fields`` and criteria into request parameters, or
raises :class:`~airflow_provider_pardot.exceptions.PardotValidationError` before any request.
The paging engine lives in :mod:`airflow_provider_pardot.api.v5_paging`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from airflow_provider_pardot.client.form import iso_datetime
from airflow_provider_pardot.exceptions import PardotValidationError

#: Records per page: v5's maximum (its default is 200).
V5_PAGE_LIMIT = 1000
#: One nextPageToken sequence serves at most this many records (then ``Pardot-Warning``).
V5_TOKEN_CAP = 100_000
#: Filters may touch at most this many distinct fields in one query (error 209).
MAX_FILTERED_FIELDS = 3
#: The parallel page streams a query may use: Pardot's concurrent-request limit.
MAX_CONCURRENCY = 5
#: Page token expired (after 4 hours) / unreadable: the hook goes on past the last id instead.
TOKEN_EXPIRED_CODE = 210
TOKEN_INVALID_CODE = 211
#: The text of the warning on the page where a token sequence reaches the cap.
CAP_WARNING_TEXT = "record count for nextpagetoken sequence has been exceeded"

V5_PATH = "/api/v5/objects"

# Filter kinds (plain name = equality; BAL documents each suffix's meaning).
INT_RANGE = "integer range"
DATETIME = "date-time range"
EQUALS_INT = "integer"
EQUALS_TEXT = "text"
#: The filter names each kind of field takes: ``<field><suffix>``.
SUFFIXES: dict[str, tuple[str, ...]] = {
    INT_RANGE: ("", "GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo"),
    DATETIME: ("", "After", "AfterOrEqualTo", "Before", "BeforeOrEqualTo"),
    EQUALS_INT: ("",),
    EQUALS_TEXT: ("",),
}


@dataclass(frozen=True)
class V5Object:
    """What one v5 object answers and accepts."""

    #: documented standard fields, the default ``fields`` (``id`` first)
    fields: tuple[str, ...]
    #: filtered field -> its kind (INT_RANGE, DATETIME, EQUALS_INT, EQUALS_TEXT)
    filters: dict[str, str]
    #: the v3/v4 name of the same object
    v4_name: str
    #: accepted in ``fields`` but not asked by default (write-only or slow)
    optional: tuple[str, ...] = ()
    #: related objects a dotted field name may reach (``prospect.email``)
    relations: tuple[str, ...] = ()
    #: the object goes to the recycle bin: ``deleted`` = true / false / all
    recycle_bin: bool = False

    def accepts(self, name: str) -> bool:
        if name in self.fields or name in self.optional or CUSTOM_FIELD.fullmatch(name):
            return True
        relation, dot, rest = name.partition(".")
        return bool(dot) and relation in self.relations and bool(FIELD_NAME.fullmatch(rest))


CUSTOM_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*__c")
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_AUDIT = ("createdAt", "updatedAt", "createdById", "updatedById")

V5_OBJECTS: dict[str, V5Object] = {
    "lists": V5Object(
        fields=(
            "id", "name", "title", "description", "isPublic", "isDynamic", "isSalesforceVisible",
            "isDeleted", "folderId", "campaignId", *_AUDIT,
        ),
        filters={"id": INT_RANGE, "name": EQUALS_TEXT, "createdAt": DATETIME, "updatedAt": DATETIME},
        relations=("campaign",),
        v4_name="list",
        recycle_bin=True,
    ),
    "list-memberships": V5Object(
        fields=("id", "listId", "prospectId", "optedOut", "isDeleted", *_AUDIT),
        filters={"id": INT_RANGE, "updatedAt": DATETIME, "listId": EQUALS_INT, "prospectId": EQUALS_INT},
        v4_name="listMembership",
        relations=("prospect", "list", "createdBy", "updatedBy"),
        recycle_bin=True,
    ),
    "lifecycle-histories": V5Object(
        fields=("id", "prospectId", "previousStageId", "nextStageId", "secondsElapsed", "createdAt"),
        filters={"id": INT_RANGE, "createdAt": DATETIME, "prospectId": EQUALS_INT},
        v4_name="lifecycleHistory",
        relations=("prospect", "previousStage", "nextStage"),
    ),
    "lifecycle-stages": V5Object(
        fields=("id", "name", "position", "isLocked", "isDeleted", "matchType", "createdAt", "updatedAt"),
        filters={"id": INT_RANGE, "updatedAt": DATETIME},
        v4_name="lifecycleStage",
        recycle_bin=True,
    ),
    "dynamic-contents": V5Object(
        fields=(
            "id", "name", "basedOn", "basedOnProspectApiFieldId", "baseContent", "embedCode", "embedUrl",
            "folderId", "trackerDomainId", "tagReplacementLanguage", "isDeleted", *_AUDIT,
        ),
        filters={"id": INT_RANGE, "updatedAt": DATETIME},
        v4_name="dynamicContent",
        recycle_bin=True,
    ),
    "emails": V5Object(
        fields=(
            "id", "name", "subject", "type", "sentAt", "clientType", "isOperational", "campaignId",
            "prospectId", "listId", "listEmailId", "emailTemplateId", "folderId", "trackerDomainId",
            "salesforceCmsId", "createdById", "updatedAt",
        ),
        filters={"id": INT_RANGE, "sentAt": DATETIME, "prospectId": EQUALS_INT, "listEmailId": EQUALS_INT},
        v4_name="email",
        relations=("campaign", "senderOptions", "replyToOptions"),
    ),
    "email-templates": V5Object(
        fields=(
            "id", "name", "subject", "htmlMessage", "textMessage", "isOneToOneEmail", "isListEmail",
            "isAutoResponderEmail", "isDripEmail", "isDeleted", "type", "campaignId", "folderId",
            "trackerDomainId", "tagReplacementLanguage", *_AUDIT,
        ),
        filters={"id": INT_RANGE, "updatedAt": DATETIME},
        relations=("campaign",),
        v4_name="emailTemplate",
        recycle_bin=True,
    ),
    "prospects": V5Object(
        fields=(
            "id", "email", "firstName", "lastName", "salutation", "company", "jobTitle", "department",
            "phone", "fax", "website", "addressOne", "addressTwo", "city", "state", "zip", "country",
            "territory", "annualRevenue", "employees", "industry", "yearsInBusiness", "comments",
            "notes", "source", "score", "grade", "recentInteraction", "lastActivityAt", "campaignId",
            "prospectAccountId", "profileId", "userId", "assignedToId", "lifecycleStageId",
            "optedOut", "isDoNotEmail", "isDoNotCall", "isReviewed", "isStarred", "isDeleted",
            "isEmailHardBounced", "emailBouncedAt", "emailBouncedReason", "doNotSell",
            "salesforceId", "salesforceLeadId", "salesforceContactId", "salesforceAccountId",
            "salesforceOwnerId", "salesforceCampaignId", "salesforceUrl", "salesforceLastSync",
            "campaignParameter", "mediumParameter", "sourceParameter", "contentParameter",
            "termParameter", "firstActivityAt", "firstAssignedAt", "firstReferrerQuery",
            "firstReferrerType", "firstReferrerUrl", "convertedAt", "convertedFromObjectName",
            "convertedFromObjectType", *_AUDIT,
        ),
        optional=("password",),  # write-only: never asked by default
        filters={
            "id": INT_RANGE,
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
            "lastActivityAt": DATETIME,
            "userId": INT_RANGE,
            "assignedToId": INT_RANGE,
            "email": EQUALS_TEXT,
        },
        relations=("campaign",),
        v4_name="prospect",
        recycle_bin=True,
    ),
    "visitor-activities": V5Object(
        fields=(
            "id", "visitId", "visitorId", "prospectId", "type", "typeName", "details", "campaignId",
            "customRedirectId", "emailId", "emailTemplateId", "fileId", "formHandlerId", "formId",
            "landingPageId", "listEmailId", "multivariateTestVariationId", "opportunityId",
            "paidSearchAdId", "siteSearchQueryId", "visitorPageViewId", "createdAt", "updatedAt",
        ),
        filters={
            "id": INT_RANGE,
            "createdAt": DATETIME,
            "updatedAt": DATETIME,
            "prospectId": EQUALS_INT,
            "visitorId": EQUALS_INT,
        },
        relations=("campaign",),
        v4_name="visitorActivity",
    ),
    "campaigns": V5Object(
        fields=(
            "id", "name", "cost", "folderId", "parentCampaignId", "salesforceId", "isDeleted", *_AUDIT,
        ),
        filters={"id": INT_RANGE, "name": EQUALS_TEXT, "createdAt": DATETIME, "updatedAt": DATETIME},
        v4_name="campaign",
        recycle_bin=True,
    ),
}  # fmt: skip

#: The v5 name of each v3/v4 object name, for messages that point the way.
V5_NAME_OF = {spec.v4_name: name for name, spec in V5_OBJECTS.items()}


def is_v5_object(object_name: str) -> bool:
    return object_name in V5_OBJECTS


def v5_path(object_name: str, record_id: int | str | None = None) -> str:
    """``/api/v5/objects/<object>[/<id>]`` (the name is one of :data:`V5_OBJECTS`, the id numeric)."""
    path = f"{V5_PATH}/{object_name}"
    return path if record_id is None else f"{path}/{int(record_id)}"


def unknown_object(object_name: str, operation: str, v4_names: list[str]) -> PardotValidationError:
    """The error for a name that is neither a v5 nor a v3/v4 object."""
    return PardotValidationError(
        f"Unknown Pardot object {object_name!r} for {operation}. v5 objects (1,000 records a call): "
        f"{', '.join(V5_OBJECTS)}; v3/v4 objects: {', '.join(sorted(v4_names))}."
    )


def refuse_v5_options(object_name: str, fields: Any, concurrency: Any) -> None:
    """``fields`` and ``concurrency`` are v5 options: refuse them on a v3/v4 name, naming its v5 twin."""
    if fields is None and concurrency in (None, 1):
        return
    twin = V5_NAME_OF.get(object_name)
    hint = f" Use the v5 name {twin!r} instead of {object_name!r}." if twin else ""
    raise PardotValidationError(
        f"fields= and concurrency= apply to v5 object names only; {object_name!r} is a v3/v4 name.{hint}"
    )


# Validation -----------------------------------------------------------------------------------------
@dataclass
class V5Query:
    """A validated v5 query: what to ask for, and the id range the hook pages through."""

    object_name: str
    #: the fields the caller asked for, in their order
    fields: list[str]
    #: the non-id filters and ``deleted``, as request parameters
    params: dict[str, str]
    #: records have ids strictly between these (``None`` = unbounded)
    id_after: int | None = None
    id_before: int | None = None

    @property
    def request_fields(self) -> str:
        """The ``fields`` parameter: the caller's fields, plus ``id`` (the hook pages by it)."""
        asked = self.fields if "id" in self.fields else ["id", *self.fields]
        return ",".join(asked)

    def id_params(self, after: int | None, before: int | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if after is not None:
            out["idGreaterThan"] = str(after)
        if before is not None:
            out["idLessThan"] = str(before)
        return out


def validate_fields(object_name: str, fields: Any) -> list[str]:
    """Return ``fields`` as a list (default: every documented standard field), or raise."""
    spec = V5_OBJECTS[object_name]
    if fields is None:
        return list(spec.fields)
    names = [n.strip() for n in fields.split(",")] if isinstance(fields, str) else fields
    if not isinstance(names, (list, tuple)) or not names:
        raise PardotValidationError(
            f"fields must be a non-empty list of {object_name} field names (or a comma-separated string), "
            f"not {fields!r}."
        )
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not spec.accepts(name):
            raise PardotValidationError(
                f"{name!r} is not a field of {object_name}. Fields: {', '.join(spec.fields + spec.optional)}; "
                "custom fields end in __c"
                + (
                    f"; related objects: {', '.join(spec.relations)} (e.g. {spec.relations[0]}.id)."
                    if spec.relations
                    else "."
                )
            )
        if name in out:
            raise PardotValidationError(f"fields lists {name!r} twice.")
        out.append(name)
    return out


def filter_names(spec: V5Object) -> list[str]:
    names = [f"{base}{suffix}" for base, kind in spec.filters.items() for suffix in SUFFIXES[kind]]
    return [*names, "deleted"] if spec.recycle_bin else names


def _split_filter(spec: V5Object, name: str) -> tuple[str, str] | None:
    """``createdAtAfterOrEqualTo`` -> (``createdAt``, ``AfterOrEqualTo``); ``None`` if not a filter."""
    for base, kind in spec.filters.items():
        if name.startswith(base) and name[len(base) :] in SUFFIXES[kind]:
            return base, name[len(base) :]
    return None


def validate_v5_query(object_name: str, fields: Any, criteria: dict[str, Any]) -> V5Query:
    """
    Validate a v5 query's ``fields`` and criteria; return what to send.

    Criteria are v5's filter names (``idGreaterThan``, ``createdAtAfterOrEqualTo``,
    ``updatedAtBefore``, ``listId``, ``deleted``, ...). Integers must be whole numbers; date-times
    take a :class:`~datetime.datetime`, a :class:`~datetime.date` or an ISO 8601 string and go out
    with their offset (a value without one is taken as UTC). ``deleted`` takes ``True``, ``False``
    or ``"all"`` on objects with a recycle bin. Filters may touch at most three fields, and ``id``
    counts as one of them: the hook pages past Pardot's 100,000-record cap with an id filter.
    """
    spec = V5_OBJECTS[object_name]
    query = V5Query(object_name, validate_fields(object_name, fields), {})
    touched: set[str] = set()
    for name, value in criteria.items():
        if value is None:
            continue
        if name == "deleted" and spec.recycle_bin:
            query.params["deleted"] = _deleted_value(value)
            continue
        split = _split_filter(spec, name)
        if split is None:
            raise PardotValidationError(_unknown_criterion(object_name, spec, name))
        base, suffix = split
        touched.add(base)
        if base == "id":
            _bound_ids(query, suffix, _whole_number(name, value))
        elif spec.filters[base] == DATETIME:
            query.params[name] = format_v5_datetime(name, value, suffix)
        elif spec.filters[base] in (INT_RANGE, EQUALS_INT):
            query.params[name] = str(_whole_number(name, value))
        else:
            query.params[name] = _text(name, value)
    others = sorted(touched - {"id"})
    if len(others) >= MAX_FILTERED_FIELDS:
        raise PardotValidationError(
            f"Filters on {', '.join(others)}: Pardot v5 filters at most {MAX_FILTERED_FIELDS} fields in one "
            f"query, and the hook needs one of them for id (it pages past Pardot's {V5_TOKEN_CAP:,}-record cap "
            f"with idGreaterThan). Filter on at most {MAX_FILTERED_FIELDS - 1} fields besides id."
        )
    if query.id_after is not None and query.id_before is not None and query.id_before - query.id_after < 2:
        raise PardotValidationError(
            f"The id filters leave no id to match (above {query.id_after} and below {query.id_before})."
        )
    return query


def _unknown_criterion(object_name: str, spec: V5Object, name: str) -> str:
    hint = ""
    if "_" in name:
        hint = " v5 criteria are camelCase (createdAtAfter, idGreaterThan), not v3/v4's snake_case."
    elif name == "deleted":
        hint = f" {object_name} has no recycle bin."
    elif name in ("limit", "offset", "orderBy", "nextPageToken", "fields"):
        hint = " The hook pages by itself (limit=1000, ordered by id); use max_records= to stop early."
    return f"{name!r} is not a query criterion of {object_name}.{hint} Criteria: {', '.join(filter_names(spec))}."


def _bound_ids(query: V5Query, suffix: str, value: int) -> None:
    """Fold every id filter into one open interval (ids are integers, so each form is exact)."""
    after = {"": value - 1, "GreaterThan": value, "GreaterThanOrEqualTo": value - 1}.get(suffix)
    before = {"": value + 1, "LessThan": value, "LessThanOrEqualTo": value + 1}.get(suffix)
    if after is not None:
        query.id_after = after if query.id_after is None else max(query.id_after, after)
    if before is not None:
        query.id_before = before if query.id_before is None else min(query.id_before, before)


def _deleted_value(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    text = str(value).strip().lower()
    if text not in ("true", "false", "all"):
        raise PardotValidationError(f"deleted must be True, False or 'all', not {value!r}.")
    return text


def _whole_number(name: str, value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"\d{1,19}", text):
        raise PardotValidationError(f"{name} must be a whole number (an id), not {value!r}.")
    return int(text)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PardotValidationError(f"{name} must be a non-empty string, not {value!r}.")
    return value


# Date-times ---------------------------------------------------------------------------------------------
def format_v5_datetime(name: str, value: Any, suffix: str = "") -> str:
    """
    A v5 date-time filter value: ISO 8601 with seconds and an offset (``2024-05-01T00:00:00+00:00``).

    Accepts an aware or naive :class:`~datetime.datetime` (naive = UTC), a :class:`~datetime.date`
    (midnight UTC), or an ISO 8601 string (``Z`` and fractions accepted; no offset = UTC). Pardot
    keeps whole seconds, so a fraction is rounded the way that keeps the filter's meaning:
    ``After``/``BeforeOrEqualTo`` round down, ``AfterOrEqualTo``/``Before`` round up; an equality
    filter with a fraction matches nothing and is refused.
    """
    moment = _as_datetime(name, value)
    if moment.microsecond:
        if suffix == "":
            raise PardotValidationError(f"{name}={value!r}: Pardot keeps whole seconds; drop the fraction.")
        up = suffix in ("AfterOrEqualTo", "Before")
        whole = math.floor(moment.timestamp()) + (1 if up else 0)
        moment = datetime.fromtimestamp(whole, moment.tzinfo)
    return moment.isoformat(timespec="seconds")


def _as_datetime(name: str, value: Any) -> datetime:
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = iso_datetime(value)
    if moment is None:
        raise PardotValidationError(
            f"{name}={value!r} is not a date-time. Use a datetime or an ISO 8601 string such as "
            "'2024-05-01T00:00:00+00:00' (a value without an offset is taken as UTC)."
        )
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def validate_concurrency(concurrency: Any) -> int:
    if (
        isinstance(concurrency, bool)
        or not isinstance(concurrency, int)
        or not 1 <= concurrency <= MAX_CONCURRENCY
    ):
        raise PardotValidationError(
            f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY} (Pardot's concurrent-request "
            f"limit per account), not {concurrency!r}."
        )
    return concurrency


def validate_max_records(max_records: Any) -> int | None:
    if max_records is None:
        return None
    if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 0:
        raise PardotValidationError(f"max_records must be a positive integer, not {max_records!r}.")
    return max_records


def shape(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The record with the caller's fields first, in their order (``id`` dropped unless asked)."""
    out = {name: record[name] for name in fields if name in record}
    for key, value in record.items():
        if key not in out and (key != "id" or "id" in fields):
            out[key] = value
    return out


def check_query(object_name: str, fields: Any, concurrency: Any, criteria: dict[str, Any]) -> list[str]:
    """
    Validate a query call on either API without sending anything; return a v5 query's fields.

    Raises :class:`PardotValidationError` for an unknown object, bad criteria, or ``fields`` /
    ``concurrency`` on a v3/v4 name. Returns ``[]`` for a v3/v4 name (its columns come from the data).
    """
    from airflow_provider_pardot.api.criteria import QUERY_CRITERIA, validate_query

    if is_v5_object(object_name):
        validate_concurrency(concurrency)
        return validate_v5_query(object_name, fields, criteria).fields
    if object_name not in QUERY_CRITERIA:
        raise unknown_object(object_name, "query", list(QUERY_CRITERIA))
    refuse_v5_options(object_name, fields, concurrency)
    validate_query(object_name, criteria)
    return []
