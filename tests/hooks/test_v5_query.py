"""PardotHook.query / read on Pardot API v5 object names, over real HTTP against the emulator."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from airflow_provider_pardot.api.v5 import V5_OBJECTS
from airflow_provider_pardot.exceptions import (
    PardotApiError,
    PardotAuthError,
    PardotRateLimitError,
    PardotValidationError,
)
from airflow_provider_pardot.hooks.pardot import PardotHook

V5 = "/api/v5/objects/"


def v5_requests(emulator, since=0):
    return [r for r in emulator.requests(since) if r["path"].startswith(V5)]


def api_requests(emulator):
    return [r for r in emulator.requests() if r["path"].startswith("/api/")]


def q(request: dict, name: str):
    """One query parameter of a logged request (the log keeps parse_qs lists)."""
    value = request["query"].get(name)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def set_v5(emulator, *, cap: int | None = None, token_ttl: float | None = None) -> None:
    """The emulator's v5 knobs: the record cap of a token sequence and the token lifetime (seconds)."""
    values = {}
    if cap is not None:
        values["v5_record_cap"] = cap
    if token_ttl is not None:
        values["v5_token_ttl"] = token_ttl
    emulator.config(**values)


def ids_of(records):
    return [r["id"] for r in records]


def threads_named_pardot():
    return [t for t in threading.enumerate() if t.name.startswith("pardot-v5")]


def assert_one_error_stops_every_range(emulator, hook, skip: int) -> None:
    """An error on the query page after ``skip`` others is raised and no thread is left."""
    emulator.faults(
        {"match": "^/api/v5/", "kind": "error", "code": 51, "status": 400, "skip": skip, "times": 1}
    )
    with pytest.raises(PardotApiError) as err:
        list(hook.query("lists", fields=["id"], concurrency=5))
    assert err.value.code == 51
    assert threads_named_pardot() == []


# Validation: refused before anything leaves the machine ------------------------------------------
class TestValidation:
    @pytest.mark.parametrize(
        ("object_name", "kwargs", "match"),
        [
            ("listz", {}, "Unknown Pardot object 'listz'.*lifecycle-histories.*listMembership"),
            ("Lists", {}, "Unknown Pardot object"),
            ("../lists", {}, "Unknown Pardot object"),
            ("lists", {"fields": ["id", "nmae"]}, "'nmae' is not a field of lists. Fields: id, name, title"),
            ("lists", {"fields": ["id", "id"]}, "twice"),
            ("lists", {"fields": []}, "non-empty list"),
            ("lists", {"fields": "id,is_public"}, "'is_public' is not a field"),
            ("list-memberships", {"fields": ["prospect"]}, "related objects: prospect, list"),
            ("lists", {"created_after": "2024-01-01"}, "camelCase.*Criteria: id, idGreaterThan"),
            ("lists", {"createdAtAfterr": "2024-01-01"}, "'createdAtAfterr' is not a query criterion"),
            ("lists", {"limit": 10}, "pages by itself"),
            ("lists", {"nextPageToken": "abc"}, "pages by itself"),
            ("lists", {"createdAtAfter": "yesterday"}, "not a date-time"),
            ("lists", {"createdAtAfter": "2024-02-30T00:00:00Z"}, "not a date-time"),
            ("lists", {"createdAt": "2024-01-01T00:00:00.5Z"}, "whole seconds"),
            ("lists", {"idGreaterThan": "12a"}, "whole number"),
            ("lists", {"idGreaterThan": True}, "whole number"),
            ("lists", {"idGreaterThan": 10, "idLessThan": 11}, "no id to match"),
            ("lists", {"deleted": "maybe"}, "True, False or 'all'"),
            ("lifecycle-histories", {"deleted": True}, "no recycle bin"),
            ("lifecycle-histories", {"updatedAtAfter": "2024-01-01"}, "Criteria: id.*createdAtAfter"),
            ("lists", {"name": ""}, "non-empty string"),
            (
                "prospects",
                {"createdAtAfter": "2024-01-01", "updatedAtAfter": "2024-01-01", "email": "a@b.c"},
                "at most 3 fields.*besides id",
            ),
            ("lists", {"concurrency": 0}, "from 1 to 5"),
            ("lists", {"concurrency": 6}, "from 1 to 5"),
            ("lists", {"concurrency": "2"}, "from 1 to 5"),
            ("lists", {"max_records": -1}, "positive integer"),
            ("list", {"fields": ["id"]}, "v5 object names only.*'lists'"),
            ("list", {"concurrency": 3}, "v5 object names only.*'lists'"),
        ],
    )
    def test_refused_before_any_request(self, emulator, hook, object_name, kwargs, match):
        with pytest.raises(PardotValidationError, match=match):
            hook.query(object_name, **kwargs)  # raised at the call, before the first page
        assert api_requests(emulator) == []
        assert emulator.state()["tokens_issued"] == 0

    def test_valid_names_are_listed(self, emulator, hook):
        with pytest.raises(PardotValidationError) as err:
            hook.query("lifecycle-histories", createdAtAfterOrEqual="2024-01-01")
        for name in ("createdAtAfterOrEqualTo", "createdAtBeforeOrEqualTo", "prospectId", "idLessThan"):
            assert name in str(err.value)

    def test_two_fields_besides_id_are_accepted(self, emulator, hook):
        records = list(
            hook.query(
                "prospects",
                fields=["id"],
                createdAtAfter="2000-01-01T00:00:00Z",
                updatedAtBefore="2100-01-01T00:00:00Z",
                idGreaterThan=1,
            )
        )
        assert len(records) == len(emulator.records("prospect"))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"record_id": "12a"}, "must be a Pardot id"),
            ({"record_id": 1, "fields": ["bogus"]}, "not a field"),
            ({"record_id": 1, "archived": True}, "fields= only"),
        ],
    )
    def test_read_refused_before_any_request(self, emulator, hook, kwargs, match):
        with pytest.raises(PardotValidationError, match=match):
            hook.read("lists", **kwargs)
        assert api_requests(emulator) == []

    def test_every_default_field_is_accepted(self):
        from airflow_provider_pardot.api.v5 import validate_v5_query

        for name, spec in V5_OBJECTS.items():
            assert validate_v5_query(name, None, {}).fields == list(spec.fields)
            assert spec.fields[0] == "id"


# What goes out, and what comes back ---------------------------------------------------------------
class TestRequests:
    def test_first_page_asks_1000_by_id_with_the_fields(self, emulator, hook):
        records = list(hook.query("lists", fields=["name", "isPublic"]))
        first = v5_requests(emulator)[0]
        assert first["method"] == "GET"
        assert first["path"] == "/api/v5/objects/lists"
        assert q(first, "limit") == "1000"
        assert q(first, "orderBy") == "id ASC"
        assert q(first, "fields") == "id,name,isPublic"  # id added: the hook pages by it
        assert first["has_authorization"]
        assert first["has_business_unit_id"]
        assert "format" not in first["query"]
        # the caller's fields, in the caller's order; no id since it was not asked
        assert {tuple(r) for r in records} == {("name", "isPublic")}
        assert all(isinstance(r["isPublic"], bool) for r in records)

    def test_same_records_as_v4(self, emulator, hook):
        v5 = list(hook.query("lists"))
        v4 = list(hook.query("list"))
        assert ids_of(v5) == sorted(emulator.records("list"))
        assert ids_of(v5) == ids_of(v4)
        by_id = {r["id"]: r for r in v4}
        for record in v5:
            twin = by_id[record["id"]]
            assert list(record) == list(V5_OBJECTS["lists"].fields)
            assert record["name"] == twin["name"]
            assert record["createdAt"][:10] == str(twin["created_at"])[:10]
            assert datetime.fromisoformat(record["createdAt"]).utcoffset() is not None

    @pytest.mark.parametrize(
        ("value", "sent"),
        [
            (datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7))), "2024-05-01T12:00:00-07:00"),
            (datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00+00:00"),  # naive = UTC
            (date(2024, 5, 1), "2024-05-01T00:00:00+00:00"),
            ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00"),
            ("2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00+02:00"),
            ("2024-05-01T12:00:00.250+02:00", "2024-05-01T12:00:01+02:00"),  # AfterOrEqualTo rounds up
        ],
    )
    def test_datetimes_go_out_with_their_offset(self, emulator, hook, value, sent):
        list(hook.query("lists", fields=["id"], createdAtAfterOrEqualTo=value))
        (first,) = v5_requests(emulator)
        assert q(first, "createdAtAfterOrEqualTo") == sent

    def test_filters_select_on_the_server(self, emulator, hook):
        every = list(hook.query("lifecycle-histories", fields=["id", "createdAt"]))
        times = sorted({r["createdAt"] for r in every})
        cut = times[len(times) // 2]
        later = list(
            hook.query("lifecycle-histories", fields=["id", "createdAt"], createdAtAfterOrEqualTo=cut)
        )
        assert later
        assert len(later) < len(every)
        assert all(datetime.fromisoformat(r["createdAt"]) >= datetime.fromisoformat(cut) for r in later)
        expected = [
            r["id"] for r in every if datetime.fromisoformat(r["createdAt"]) >= datetime.fromisoformat(cut)
        ]
        assert ids_of(later) == expected

    def test_deleted_goes_out_as_v5_wants(self, emulator, hook):
        list(hook.query("lists", fields=["id"], deleted=True))
        list(hook.query("lists", fields=["id"], deleted="all"))
        assert [q(r, "deleted") for r in v5_requests(emulator)] == ["true", "all"]

    def test_id_filters_bound_the_paging(self, emulator, hook):
        emulator.seed(list=2600)
        ids = sorted(emulator.records("list"))
        low, high = ids[100], ids[2300]
        for concurrency in (1, 5):
            got = ids_of(
                hook.query(
                    "lists",
                    fields=["id"],
                    idGreaterThanOrEqualTo=low,
                    idLessThanOrEqualTo=high,
                    concurrency=concurrency,
                )
            )
            assert sorted(got) == [i for i in ids if low <= i <= high]
            assert len(set(got)) == len(got)
        got = ids_of(hook.query("lists", fields=["id"], id=ids[7]))
        assert got == [ids[7]]

    def test_max_records_asks_no_more_than_needed(self, emulator, hook):
        assert len(list(hook.query("lists", max_records=3))) == 3
        (first,) = v5_requests(emulator)
        assert q(first, "limit") == "3"
        assert list(hook.query("lists", max_records=0)) == []
        assert len(v5_requests(emulator)) == 1

    def test_custom_and_related_fields_are_asked_as_given(self, emulator, hook):
        # whether the account has them is Pardot's to say: its error 51 is an API error, not ours
        emulator.faults({"match": "^/api/v5/", "kind": "error", "code": 51, "status": 400, "times": 1})
        with pytest.raises(PardotApiError) as err:
            list(hook.query("prospects", fields=["id", "hobby__c", "campaign.name"]))
        assert err.value.code == 51
        assert not isinstance(err.value, PardotValidationError)
        assert q(v5_requests(emulator)[0], "fields") == "id,hobby__c,campaign.name"


class TestRead:
    def test_read_one_record(self, emulator, hook):
        record_id = emulator.records("list")[3]
        record = hook.read("lists", record_id, fields=["name", "id"])
        assert list(record) == ["name", "id"]
        assert record["id"] == record_id
        (req,) = v5_requests(emulator)
        assert req["path"] == f"/api/v5/objects/lists/{record_id}"
        assert q(req, "fields") == "name,id"
        assert hook.read("lists", record_id) == next(r for r in hook.query("lists") if r["id"] == record_id)

    def test_missing_record_is_an_api_error(self, emulator, hook):
        with pytest.raises(PardotApiError) as err:
            hook.read("lists", 999999999)
        assert err.value.code == 109
        assert err.value.http_status == 404


# Paging: every record exactly once ----------------------------------------------------------------
class TestPaging:
    def test_pages_follow_the_token_and_cost_ceil_n_over_1000(self, emulator, hook):
        emulator.seed(list=2500)
        records = list(hook.query("lists", fields=["id"]))
        assert ids_of(records) == sorted(emulator.records("list"))
        pages = v5_requests(emulator)
        assert len(pages) <= 3 + 2
        for later in pages[1:]:
            assert set(later["query"]) == {"fields", "nextPageToken"}  # nothing else beside a token
            assert q(later, "fields") == "id"

    @pytest.mark.parametrize("concurrency", [1, 5])
    def test_inserts_and_deletes_between_pages(self, emulator, hook, concurrency):
        emulator.seed(list=4200)
        before = sorted(emulator.records("list"))
        records = iter(hook.query("lists", fields=["id", "name"], concurrency=concurrency))
        seen = [next(records)["id"] for _ in range(1000)]
        unseen = sorted(set(before) - set(seen))
        deleted_seen, deleted_unseen = seen[10:15], unseen[-40:-35] + unseen[5:10]
        emulator.mutate("list", insert=7, delete=deleted_seen + deleted_unseen)
        inserted = sorted(set(emulator.records("list")) - set(before))
        assert len(inserted) == 7
        seen += [r["id"] for r in records]
        assert len(seen) == len(set(seen)), "a record came twice"
        kept = set(before) - set(deleted_unseen)
        assert kept <= set(seen), f"lost {sorted(kept - set(seen))[:10]}"
        assert not set(deleted_unseen) & set(seen)
        assert set(inserted) <= set(seen)  # added above the highest id: the last range is open

    def test_cap_goes_on_past_the_last_id(self, emulator, hook):
        emulator.seed(list=2600)
        set_v5(emulator, cap=700)
        records = list(hook.query("lists", fields=["id"]))
        assert ids_of(records) == sorted(emulator.records("list"))
        restarts = [r for r in v5_requests(emulator)[1:] if "idGreaterThan" in r["query"]]
        assert restarts, "the hook never went on past the cap"
        assert all(q(r, "orderBy") == "id ASC" and q(r, "limit") == "1000" for r in restarts)

    def test_cap_with_parallel_ranges(self, emulator, hook):
        emulator.seed(list=6000)
        set_v5(emulator, cap=450)
        got = ids_of(hook.query("lists", fields=["id"], concurrency=4))
        assert sorted(got) == sorted(emulator.records("list"))
        assert len(got) == len(set(got))

    def test_expired_token_goes_on_past_the_last_id(self, emulator, hook):
        emulator.seed(list=3500)
        set_v5(emulator, token_ttl=0)  # every token has expired by the time it comes back
        records = list(hook.query("lists", fields=["id"]))
        assert ids_of(records) == sorted(emulator.records("list"))
        assert emulator.state()["errors"].get("210", 0) >= 1

    def test_a_token_error_that_persists_is_raised(self, emulator, hook):
        emulator.seed(list=2500)
        emulator.faults({"match": "^/api/v5/", "kind": "error", "code": 211, "status": 400, "skip": 1})
        with pytest.raises(PardotApiError) as err:
            list(hook.query("lists", fields=["id"]))
        assert err.value.code == 211


# Concurrency ------------------------------------------------------------------------------------------
class TestConcurrency:
    def test_parallel_ranges_exactly_once_within_the_call_budget(self, emulator, hook):
        emulator.seed(list=12_345)
        expected = sorted(emulator.records("list"))
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        assert len(v5_requests(emulator)) <= -(-len(expected) // 1000) + 7
        assert hook.request_count == len(v5_requests(emulator))
        assert emulator.state()["tokens_issued"] == 1  # the parallel first requests share one token
        assert threads_named_pardot() == []

    def test_never_more_than_five_in_flight(self, emulator, hook):
        emulator.seed(list=8000)
        emulator.faults({"match": "^/api/v5/", "kind": "delay", "seconds": 0.05})
        results: list[list[int]] = [[], []]

        def pull(slot: int) -> None:
            results[slot] = ids_of(hook.query("lists", fields=["id"], concurrency=5))

        threads = [threading.Thread(target=pull, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        state = emulator.state()
        assert state["max_in_flight"] == 5  # parallel: five at once
        assert state["max_attempted_in_flight"] == 5  # and never a sixth, not even one refused with 66
        assert "66" not in state["errors"]
        for got in results:
            assert sorted(got) == sorted(emulator.records("list"))

    def test_stopping_early_leaves_no_thread(self, emulator, hook):
        emulator.seed(list=9000)
        emulator.faults({"match": "^/api/v5/", "kind": "delay", "seconds": 0.02})
        records = hook.query("lists", fields=["id"], concurrency=5)
        taken = [next(records) for _ in range(2500)]
        assert len({r["id"] for r in taken}) == 2500
        records.close()
        assert threads_named_pardot() == []
        calls = len(v5_requests(emulator))
        assert calls < 9 + 7

    def test_an_error_in_one_range_surfaces_and_stops_the_others(self, emulator, hook):
        emulator.seed(list=9000)
        assert_one_error_stops_every_range(emulator, hook, skip=4)

    def test_daily_budget_stops_a_parallel_pull(self, emulator, make_conn):
        emulator.seed(list=9000)
        hook = PardotHook(pardot_conn_id=make_conn(daily_request_budget=emulator.state()["daily_used"] + 4))
        with pytest.raises(PardotRateLimitError, match="budget"):
            list(hook.query("lists", fields=["id"], concurrency=5))
        assert threads_named_pardot() == []
        assert len(v5_requests(emulator)) <= 4 + 5  # the requests already under way when it was reached


# Ranges that follow the records ---------------------------------------------------------------------
def peaks_in_flight(emulator, since: int = 0) -> list[int]:
    """For each v5 query page of the log, in order, the most requests in flight while it was."""
    return [r["in_flight_peak"] for r in v5_requests(emulator, since) if "in_flight_peak" in r]


class TestClusteredIds:
    """Nine records in ten in the last 3% of the id span: an equal-width split leaves one range all the work."""

    N = 20_000

    def seed(self, emulator, n: int = N, layout: str = "clustered", latency_ms: float = 40) -> list[int]:
        emulator.seed(list=n, id_layout=layout)
        # the latency holds each page in flight, so pages of different ranges overlap
        emulator.config(latency_ms=latency_ms)
        emulator.reset_peak()
        return sorted(emulator.records("list"))

    @pytest.mark.parametrize("concurrency", [2, 3, 5])
    def test_every_record_once_within_the_call_budget(self, emulator, hook, concurrency):
        expected = self.seed(emulator, latency_ms=10)
        got = ids_of(hook.query("lists", fields=["id"], concurrency=concurrency))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        assert len(v5_requests(emulator)) <= -(-self.N // 1000) + 7
        assert hook.request_count == len(v5_requests(emulator))
        assert threads_named_pardot() == []

    @pytest.mark.parametrize("concurrency", [2, 5])
    @pytest.mark.parametrize("layout", ["clustered", "early"])
    def test_records_added_during_the_pull(self, emulator, hook, layout, concurrency):
        """Bunched at either end: every record once, and what is added above the highest id meanwhile too."""
        before = self.seed(emulator, layout=layout, latency_ms=10)
        records = hook.query("lists", fields=["id"], concurrency=concurrency)
        seen = [next(records)["id"] for _ in range(1000)]
        emulator.mutate("list", insert=7)
        inserted = sorted(set(emulator.records("list")) - set(before))
        seen += [r["id"] for r in records]
        assert len(seen) == len(set(seen)), "a record came twice"
        assert set(before) <= set(seen)
        assert set(inserted) <= set(seen)
        assert len(v5_requests(emulator)) <= -(-(self.N + 7) // 1000) + 7

    def test_a_range_below_a_burst_is_read_from_both_ends(self, emulator, hook):
        """Where the burst begins is unknown: the range below it is joined from above, and the two meet."""
        expected = self.seed(emulator, latency_ms=10)
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        requests = v5_requests(emulator)
        downward = [r for r in requests if q(r, "orderBy") == "id DESC" and "idLessThan" in r["query"]]
        assert downward, "no range was read from above"
        assert all(int(q(r, "idLessThan")) <= expected[-1] for r in downward)

    @pytest.mark.parametrize("layout", ["clustered", "even", "early"])
    def test_five_slots_stay_busy_to_the_end(self, emulator, hook, layout):
        n = 50_000  # the benchmark's pull
        expected = self.seed(emulator, n, layout)
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5))
        assert sorted(got) == expected
        assert len(v5_requests(emulator)) <= n // 1000 + 7
        peaks = peaks_in_flight(emulator)
        # nearly every page was in flight beside four others (an equal-width split of the clustered
        # layout pages nine records in ten on one range: one page at a time)
        assert sum(1 for p in peaks if p == 5) >= 0.8 * len(peaks), peaks
        # until the end: after the first page and the highest ids, only the last pages of the last
        # ranges went out with fewer than four others
        assert all(p >= 4 for p in peaks[2:-4]), peaks

    def test_id_filters_bound_the_ranges(self, emulator, hook):
        ids = self.seed(emulator, latency_ms=10)
        low, high = ids[len(ids) // 20], ids[-len(ids) // 4]  # sparse below, the burst's lower part above
        expected = [i for i in ids if low < i < high]
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5, idGreaterThan=low, idLessThan=high))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        assert len(v5_requests(emulator)) <= -(-len(expected) // 1000) + 7
        assert all(int(q(r, "idLessThan")) <= high for r in v5_requests(emulator) if "idLessThan" in r["query"])

    def test_cap_during_splits(self, emulator, hook):
        expected = self.seed(emulator, latency_ms=10)
        set_v5(emulator, cap=1500)  # every range meets the cap in the middle of its pages
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        restarts = [r for r in v5_requests(emulator) if "idGreaterThan" in r["query"]]
        assert len(restarts) > 5 + 4  # the ranges, the cuts and the restarts past the cap

    def test_expired_tokens_during_splits(self, emulator, hook):
        expected = self.seed(emulator, latency_ms=10)
        set_v5(emulator, token_ttl=0)  # every token has expired by the time it comes back
        got = ids_of(hook.query("lists", fields=["id"], concurrency=5))
        assert sorted(got) == expected
        assert len(got) == len(set(got))
        assert emulator.state()["errors"].get("210", 0) >= 5

    def test_stopping_early_stops_every_thread(self, emulator, hook):
        self.seed(emulator)
        records = hook.query("lists", fields=["id"], concurrency=5)
        taken = [next(records)["id"] for _ in range(4500)]
        assert len(set(taken)) == 4500
        records.close()
        assert threads_named_pardot() == []
        calls = len(v5_requests(emulator))
        assert calls < 5 + 10 + 7  # what was taken, the queue (five pages) and those under way

    def test_an_error_while_splitting_surfaces_and_stops_the_others(self, emulator, hook):
        self.seed(emulator, latency_ms=10)
        assert_one_error_stops_every_range(emulator, hook, skip=9)  # the ranges are being cut by then


# v5 errors --------------------------------------------------------------------------------------------
class TestErrors:
    @pytest.mark.parametrize(
        ("code", "status", "exception"),
        [
            (66, 400, PardotRateLimitError),
            (122, 400, PardotRateLimitError),
            (181, 400, PardotAuthError),
            (182, 400, PardotAuthError),
            (51, 400, PardotApiError),
            (109, 404, PardotApiError),
        ],
    )
    def test_v5_error_bodies_map_to_the_same_classes(self, emulator, hook, code, status, exception):
        emulator.faults({"match": "^/api/v5/", "kind": "error", "code": code, "status": status})
        with pytest.raises(exception) as err:
            list(hook.query("lists", fields=["id"]))
        assert type(err.value) is exception
        assert err.value.code == code
        assert err.value.http_status == status

    def test_expired_access_token_is_refreshed_once(self, emulator, hook):
        list(hook.query("lists", fields=["id"], max_records=1))
        emulator.expire_tokens()
        assert len(list(hook.query("lists", fields=["id"]))) == len(emulator.records("list"))
        assert emulator.state()["tokens_issued"] == 2

    def test_daily_limit_is_not_retried(self, emulator, hook):
        emulator.config(daily_limit=emulator.state()["daily_used"])
        with pytest.raises(PardotRateLimitError, match="daily API limit"):
            list(hook.query("lists"))
        assert len(v5_requests(emulator)) == 1


def test_naive_datetime_is_utc():
    from airflow_provider_pardot.api.v5 import format_v5_datetime

    assert format_v5_datetime("x", datetime(2024, 1, 1, 5), "After") == "2024-01-01T05:00:00+00:00"
    aware = datetime(2024, 1, 1, 5, 0, 0, 900_000, tzinfo=UTC)
    assert format_v5_datetime("x", aware, "After") == "2024-01-01T05:00:00+00:00"
    assert format_v5_datetime("x", aware, "Before") == "2024-01-01T05:00:01+00:00"
