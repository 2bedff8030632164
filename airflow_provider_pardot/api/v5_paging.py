"""
Paging a v5 object query: every matching record exactly once, in 1,000-record pages, on up to five
parallel id ranges.

One id range is paged by :func:`page_range`: the first page asks ``limit=1000&orderBy=id ASC``
with the caller's filters and ``idGreaterThan``/``idLessThan`` for the range; later pages send only
``fields`` and ``nextPageToken``, as Pardot requires. When a token sequence ends at Pardot's
100,000-record cap (``Pardot-Warning``: "Record count for nextPageToken sequence has been
exceeded") or a token expires (error 210, or 211 unreadable), the range starts again with
``idGreaterThan`` the last id seen. Every record whose id is not above the last one, or is outside
the range, is dropped, so nothing is repeated whatever the server does; nothing is lost because the
next query always starts right after the last id delivered. A short page (fewer records than the
limit, and no warning) ends the range, as in v3/v4 paging.

:class:`ParallelPages` splits the id range: its first page and a one-record query for the highest
id go out together; the ids above the first page are then cut into ``concurrency`` equal parts,
each paged by its own thread into one bounded queue (memory holds at most a few pages, whatever the
number of records). Threads stop when the consumer stops iterating or any part fails; the failure
is raised in the consumer.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_pardot.api.v5 import (
    CAP_WARNING_TEXT,
    TOKEN_EXPIRED_CODE,
    TOKEN_INVALID_CODE,
    V5_PAGE_LIMIT,
    V5Query,
    shape,
)
from airflow_provider_pardot.exceptions import PardotApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

#: How long a blocked producer waits before it checks again whether the consumer has gone.
_PUT_POLL_SECONDS = 0.05


@dataclass
class V5Page:
    """One answered query page."""

    values: list[dict[str, Any]]
    token: str | None
    warning: str

    @property
    def capped(self) -> bool:
        return CAP_WARNING_TEXT in self.warning.lower()

    @classmethod
    def from_body(cls, body: Any, warning: str | None) -> V5Page:
        body = body if isinstance(body, dict) else {}
        token = body.get("nextPageToken") or _token_in(body.get("nextPageUrl"))
        values = body.get("values") or []
        return cls(
            values=values if isinstance(values, list) else [], token=token or None, warning=warning or ""
        )


def _token_in(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    found = parse_qs(urlsplit(url).query).get("nextPageToken")
    return found[0] if found else None


def first_params(query: V5Query, after: int | None, before: int | None, limit: int) -> dict[str, str]:
    return {
        "fields": query.request_fields,
        "limit": str(limit),
        "orderBy": "id ASC",
        **query.params,
        **query.id_params(after, before),
    }


def page_range(
    fetch: Callable[[dict[str, str]], V5Page],
    query: V5Query,
    after: int | None,
    before: int | None,
    limit: int,
    first: V5Page | None = None,
) -> Generator[list[dict[str, Any]], None, None]:
    """
    Yield the pages of records with ``after < id < before``, ascending by id, each record once.

    :param first: the range's first page when it was already fetched (with ``first_params``)
    """
    last = after
    token: str | None = None
    stale = 0  # token failures in a row without a new record
    while True:
        if first is not None:
            page, first = first, None
        else:
            params = {"fields": query.request_fields, "nextPageToken": token} if token else None
            try:
                page = fetch(params or first_params(query, last, before, limit))
            except PardotApiError as err:
                if token is None or err.code not in (TOKEN_EXPIRED_CODE, TOKEN_INVALID_CODE) or stale:
                    raise
                stale, token = stale + 1, None  # start again right after the last id delivered
                continue
        fresh = _in_range(page.values, last, before)
        if fresh:
            stale = 0
            last = fresh[-1]["id"]
            yield fresh
        if not continues(page, limit) or (page.capped and not fresh):
            return  # (a new query past the same last id would answer the same page again)
        # at the cap a new query starts past the last id; otherwise the token goes on
        token = None if page.capped else page.token


def continues(page: V5Page, limit: int) -> bool:
    """Whether more records may follow ``page``: it hit the cap, or it has a token and is full (or warned)."""
    if page.capped:
        return bool(page.values)
    return bool(page.token) and (len(page.values) >= limit or bool(page.warning))


def _in_range(values: list[dict[str, Any]], after: int | None, before: int | None) -> list[dict[str, Any]]:
    out = []
    for record in values:
        record_id = record.get("id") if isinstance(record, dict) else None
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise PardotApiError(f"Pardot answered a record without a numeric id: {str(record)[:200]}")
        if (after is None or record_id > after) and (before is None or record_id < before):
            out.append(record)
            after = record_id
    return out


def split_ids(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """Cut the ids ``low < id <= high`` into at most ``parts`` ranges ``(after, last)``, equal in width."""
    width = high - low
    parts = max(1, min(parts, width))
    edges = [low + (width * k) // parts for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts)]


class ParallelPages:
    """
    Page one query's id range on ``concurrency`` threads; :meth:`pages` yields pages as they arrive.

    Order: the first page (the lowest ids), then the pages of the parts interleaved in the order
    they are answered; within a page, ids ascend.
    """

    def __init__(
        self, fetch: Callable[[dict[str, str]], V5Page], query: V5Query, concurrency: int, limit: int
    ) -> None:
        self.fetch = fetch
        self.query = query
        self.concurrency = concurrency
        self.limit = limit
        self._pages: queue.Queue[Any] = queue.Queue(maxsize=concurrency)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def pages(self) -> Generator[list[dict[str, Any]], None, None]:
        query = self.query
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pardot-v5-max-id") as pool:
            highest = pool.submit(self._highest_id)
            first = self.fetch(first_params(query, query.id_after, query.id_before, self.limit))
            top = highest.result()
        head = _in_range(first.values, query.id_after, query.id_before)
        if not continues(first, self.limit) or not head:
            # one page holds it all (or a warned page with no record: page the range on one thread)
            yield from page_range(self.fetch, query, query.id_after, query.id_before, self.limit, first=first)
            return
        yield head
        low = head[-1]["id"]
        parts = split_ids(low, top, self.concurrency) if top is not None and top > low else [(low, low)]
        try:
            yield from self._run(parts)
        finally:
            self._close()

    def _highest_id(self) -> int | None:
        params = {
            **first_params(self.query, self.query.id_after, self.query.id_before, 1),
            "fields": "id",
            "orderBy": "id DESC",
        }
        values = self.fetch(params).values
        record_id = values[0].get("id") if values and isinstance(values[0], dict) else None
        return record_id if isinstance(record_id, int) else None

    def _run(self, parts: list[tuple[int, int]]) -> Iterator[list[dict[str, Any]]]:
        for number, (after, last) in enumerate(parts):
            # the last part is open above: records added during the pull are read too
            before = self.query.id_before if number == len(parts) - 1 else last + 1
            thread = threading.Thread(
                target=self._work, args=(after, before), name=f"pardot-v5-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        running = len(parts)
        while running:
            item = self._pages.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item

    def _work(self, after: int, before: int | None) -> None:
        try:
            for page in page_range(self.fetch, self.query, after, before, self.limit):
                if not self._put(page):
                    return
            self._put(None)
        except BaseException as err:  # surfaced in the consumer's thread
            self._put(err)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=_PUT_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _close(self) -> None:
        """Stop the producers and wait for them (a request under way finishes or times out first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join()


def v5_records(
    fetch: Callable[[dict[str, str]], V5Page], query: V5Query, *, concurrency: int, max_records: int | None
) -> Iterator[dict[str, Any]]:
    """Yield the query's records (shaped to the fields asked), stopping after ``max_records``."""
    if max_records == 0:
        return
    limit = min(V5_PAGE_LIMIT, max_records) if max_records else V5_PAGE_LIMIT
    pages: Generator[list[dict[str, Any]], None, None]
    if concurrency == 1:
        pages = page_range(fetch, query, query.id_after, query.id_before, limit)
    else:
        pages = ParallelPages(fetch, query, concurrency, limit).pages()
    count = 0
    try:
        for page in pages:
            for record in page:
                yield shape(record, query.fields)
                count += 1
                if count == max_records:
                    return
    finally:
        pages.close()  # stops and joins the threads of a parallel query
