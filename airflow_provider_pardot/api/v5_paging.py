"""
Paging a v5 object query: every matching record exactly once, in 1,000-record pages, on up to five
parallel id ranges that follow the records.

One id range is paged upwards by a :class:`Span`: the first page asks ``limit=1000&orderBy=id ASC``
with the caller's filters and ``idGreaterThan``/``idLessThan`` for the range; later pages send only
``fields`` and ``nextPageToken``, as Pardot requires. When a token sequence ends at Pardot's
100,000-record cap (``Pardot-Warning``: "Record count for nextPageToken sequence has been
exceeded") or a token expires (error 210, or 211 unreadable), the range starts again with
``idGreaterThan`` the last id seen. Pages come in ascending id order (the query asks for it), so a
page is checked by its first and last ids only: records at or below the last id delivered, or at
or above the range's end, are dropped, so nothing is repeated whatever the server does; nothing is
lost because the next query always starts right after the last id delivered. A short page (fewer
records than the limit, and no warning) ends the range, as in v3/v4 paging. :func:`page_range` is
concurrency 1: one span over the whole query.

:class:`ParallelPages` pages on ``concurrency`` threads, in ranges that follow the records rather
than the width of the id span (records come in bursts: an import, a campaign, the last year of five
of activity, so a few percent of the span may hold nearly all of them). Its first page and the ids
of the last page (``fields=id``, highest first) go out together; :class:`~.v5_ranges.Ranges` plans
from them which ranges the threads page and from which end (a range may be read from both ends, the
second reader downwards with ``orderBy=id DESC``, restarting with ``idLessThan`` its lowest id), and
where a thread goes when its range ends. The threads hold one lock while they ask the plan for a
request or hand it an answer; the plan decides what of a page is new, so that ranges never overlap.
The last range is open above, so records added during the pull are read too.

Calls: at most ``ceil(N / 1000) + 7`` (token failures aside; :mod:`~.v5_ranges` says why). Memory
holds a few pages whatever the number of records: the threads put pages into one bounded queue.
Threads stop when the consumer stops iterating or any range fails; the failure is raised in the
consumer.
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
from airflow_provider_pardot.api.v5_ranges import NO_MORE, Ranges, Reader, continues, first_params, in_range
from airflow_provider_pardot.exceptions import PardotApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterator

#: How long a blocked or idle thread waits before it checks again whether the consumer has gone.
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


class Span:
    """One id range ``after < id < before`` (``before`` None: open above), paged upwards on one token chain."""

    def __init__(self, after: int | None, before: int | None) -> None:
        self.after = after
        self.before = before
        self.token: str | None = None
        self.stale = 0  # token failures in a row without a new record
        self.done = False

    def request(self, query: V5Query, limit: int) -> dict[str, str]:
        """The next request's parameters (the token's, or a new query right after the last id)."""
        if self.token:
            return {"fields": query.request_fields, "nextPageToken": self.token}
        return first_params(query, self.after, self.before, limit)

    def failed(self, err: PardotApiError) -> None:
        """A request failed: go on past the last id after one token failure, otherwise raise."""
        if self.token is None or err.code not in (TOKEN_EXPIRED_CODE, TOKEN_INVALID_CODE) or self.stale:
            raise err
        self.stale, self.token = self.stale + 1, None

    def take(self, page: V5Page, limit: int) -> list[dict[str, Any]]:
        """Take an answered page: return its new records in range; note where the span goes on."""
        fresh, _, crossed = in_range(page.values, self.after, self.before)
        if fresh:
            self.stale, self.after = 0, fresh[-1]["id"]
        if crossed or not continues(page, limit) or (page.capped and not fresh):
            # (a new query past the same last id would answer the same page again)
            self.done = True
        # at the cap a new query starts past the last id; otherwise the token goes on
        self.token = None if page.capped else page.token
        return fresh


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
    span = Span(after, before)
    while not span.done:
        if first is not None:
            page, first = first, None
        else:
            params = span.request(query, limit)
            try:
                page = fetch(params)
            except PardotApiError as err:
                span.failed(err)
                continue
        fresh = span.take(page, limit)
        if fresh:
            yield fresh


class ParallelPages:
    """
    Page one query on ``concurrency`` threads, in the segments :class:`~.v5_ranges.Ranges` plans;
    :meth:`pages` yields pages as they arrive.

    Order: the first page (the lowest ids), the new records of the highest page, then the pages of
    the segments interleaved in the order they are answered; within a page, ids ascend.
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
        self._changed = threading.Condition()  # guards the plan
        self._plan = Ranges(query, concurrency, limit)

    def pages(self) -> Generator[list[dict[str, Any]], None, None]:
        query = self.query
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pardot-v5-max-id") as pool:
            highest = pool.submit(self._highest_ids)
            first = self.fetch(first_params(query, query.id_after, query.id_before, self.limit))
            top_ids = highest.result()
        head, _, _ = in_range(first.values, query.id_after, query.id_before)
        if not continues(first, self.limit) or not head:
            # one page holds it all (or a warned page with no record: page the range on one thread)
            yield from page_range(self.fetch, query, query.id_after, query.id_before, self.limit, first=first)
            return
        yield head
        with self._changed:
            readers = self._plan.begin(first, top_ids)
        try:
            yield from self._run(readers)
        finally:
            self._close()

    def _highest_ids(self) -> list[int]:
        """The ids of the last page, highest first (``fields=id``: a few kB)."""
        params = {
            **first_params(self.query, self.query.id_after, self.query.id_before, self.limit, down=True),
            "fields": "id",
        }
        values = self.fetch(params).values
        ids = [v.get("id") if isinstance(v, dict) else None for v in values]
        return [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]

    def _run(self, readers: list[Reader]) -> Iterator[list[dict[str, Any]]]:
        starts: list[Reader | None] = [*readers, *[None] * (self.concurrency - len(readers))]
        for number, reader in enumerate(starts):
            thread = threading.Thread(
                target=self._work, args=(reader,), name=f"pardot-v5-{number}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        running = len(starts)
        while running:
            item = self._pages.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item

    def _work(self, reader: Reader | None) -> None:
        try:
            while True:
                reader = reader or self._next_reader()
                if reader is None or not self._page(reader):
                    break
                reader = None
            self._put(None)
        except BaseException as err:  # surfaced in the consumer's thread
            self._put(err)

    def _page(self, reader: Reader) -> bool:
        """Page ``reader`` to its end; False once the consumer has gone."""
        while not self._stop.is_set():
            with self._changed:
                params = self._plan.request(reader)
                if params is None:
                    self._changed.notify_all()
                    return True
            try:
                page = self.fetch(params)
            except PardotApiError as err:
                with self._changed:
                    self._plan.failed(reader, err)
                continue
            with self._changed:
                fresh = self._plan.take(reader, page)
                self._changed.notify_all()
            if fresh and not self._put(fresh):
                return False
        return False

    def _next_reader(self) -> Reader | None:
        """The next reader :meth:`Ranges.assign` gives, once there is one; None when all is done."""
        with self._changed:
            while not self._stop.is_set():
                got = self._plan.assign()
                if got is NO_MORE:
                    return None
                if isinstance(got, Reader):
                    return got
                self._changed.wait(_PUT_POLL_SECONDS)
        return None

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
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()


def _shaped(page: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """
    The page's records with the caller's fields in their order, looked at once for the whole page.

    Pardot answers the fields in its own order, and ``id`` also when the caller did not ask for it
    (the paging needs it): a page whose first record has exactly those keys is put in order by one
    comprehension a record; anything else (related objects, a field missing) goes through
    :func:`~airflow_provider_pardot.api.v5.shape`.
    """
    keys = list(page[0])
    if keys == fields:
        return page  # already as asked
    if len(keys) - ("id" in keys and "id" not in fields) == len(fields) and set(fields) <= set(keys):
        try:
            return [{name: record[name] for name in fields} for record in page]
        except (KeyError, TypeError):
            pass  # records of other shapes in the page: one at a time
    return [shape(record, fields) for record in page]


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
    room = max_records
    try:
        for page in pages:
            page = _shaped(page, query.fields)
            if room is not None and len(page) >= room:
                yield from page[:room]
                return
            yield from page
            if room is not None:
                room -= len(page)
    finally:
        pages.close()  # stops and joins the threads of a parallel query
