"""PardotHook's email, template, list and list-related query methods over real HTTP against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_pardot.exceptions import PardotApiError, PardotValidationError


def api_requests(emulator, since: int = 0) -> list[dict]:
    return [r for r in emulator.requests(since) if r["path"].startswith("/api/")]


def last_seq(emulator) -> int:
    log = emulator.requests()
    return log[-1]["seq"] if log else 0


COUNTS = (
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
RATES = (
    "delivery_rate",
    "opens_rate",
    "click_through_rate",
    "unique_click_through_rate",
    "click_open_ratio",
    "opt_out_rate",
    "spam_complaint_rate",
)


class TestEmailReads:
    def test_read_with_message(self, emulator, hook):
        email_id = emulator.records("email")[0]
        email = hook.get_email(email_id)
        assert email["id"] == email_id
        assert "%%unsubscribe%%" in email["message"]["text"]
        assert email["message"]["html"].startswith("<html>")
        (req,) = api_requests(emulator)
        assert req["method"] == "GET"
        assert req["path"] == f"/api/email/version/4/do/read/id/{email_id}"
        assert req["query"]["include_message"] == ["1"]

    def test_read_without_message(self, emulator, hook):
        email_id = emulator.records("email")[1]
        email = hook.get_email(email_id, include_message=False)
        assert email["id"] == email_id
        assert "message" not in email
        assert email["subject"]
        (req,) = api_requests(emulator)
        assert req["query"]["include_message"] == ["0"]

    def test_unknown_email(self, emulator, hook):
        with pytest.raises(PardotApiError) as err:
            hook.get_email(999999)
        assert err.value.code == 16

    def test_stats_counts_are_ints_and_rates_numbers(self, emulator, hook):
        email_id = emulator.records("email")[0]
        stats = hook.get_email_stats(email_id)
        assert set(COUNTS) | set(RATES) <= set(stats)
        for name in COUNTS:
            assert type(stats[name]) is int, name
        for name in RATES:
            assert type(stats[name]) in (int, float), name
        assert stats["delivery_rate"] == pytest.approx(100 * stats["delivered"] / stats["sent"], abs=0.01)
        assert stats["opens_rate"] == pytest.approx(
            100 * stats["unique_opens"] / stats["delivered"], abs=0.01
        )
        (req,) = api_requests(emulator)
        assert req["path"] == f"/api/email/version/4/do/stats/id/{email_id}"

    def test_stats_bad_id_refused_locally(self, emulator, hook):
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match="email_id"):
            hook.get_email_stats("abc")
        assert emulator.requests(before) == []


class TestEmailTemplates:
    def test_read_template(self, emulator, hook):
        template_id = emulator.records("emailTemplate")[0]
        template = hook.get_email_template(template_id)
        assert template["id"] == template_id
        assert template["error"] == 0  # part of a successful record, not a failure
        assert "%%unsubscribe%%" in template["textMessage"]
        (req,) = api_requests(emulator)
        assert req["path"] == f"/api/emailTemplate/version/4/do/read/id/{template_id}"
        assert req["query"]["archived"] == ["0"]

    def test_archived_template_needs_the_flag(self, emulator, hook):
        archived_id = emulator.records("emailTemplate")[-1]  # the seeded recycle-bin template
        with pytest.raises(PardotApiError) as err:
            hook.get_email_template(archived_id)
        assert err.value.code == 68
        template = hook.get_email_template(archived_id, archived=True)
        assert template["id"] == archived_id
        assert template["isArchived"] == 1
        assert api_requests(emulator)[-1]["query"]["archived"] == ["1"]

    def test_list_one_to_one(self, emulator, hook):
        templates = hook.list_one_to_one_templates()
        assert isinstance(templates, list)
        assert templates
        assert all(t["isOneToOneEmail"] for t in templates)
        assert not any(t["isArchived"] for t in templates)
        with_archived = hook.list_one_to_one_templates(archived=True)
        archived = [t for t in with_archived if t["isArchived"]]
        assert len(with_archived) == len(templates) + len(archived)
        assert archived
        paths = {r["path"] for r in api_requests(emulator)}
        assert paths == {"/api/emailTemplate/version/4/do/listOneToOne"}


class TestBooleansGoOutAsOneOrZero:
    """Pardot reads form values the PHP way (the string "false" is true): booleans go out as 1/0."""

    def test_update_list_to_not_public_leaves_it_not_public(self, emulator, hook):
        created = hook.create_list(name="Was public", is_public=True, is_crm_visible=True)
        assert created["is_public"] is True
        updated = hook.update_list(created["id"], is_public=False, is_crm_visible="false")
        assert updated["is_public"] is False
        assert updated["is_crm_visible"] is False
        assert hook.read("list", created["id"])["is_public"] is False
        create_req, update_req = (r for r in api_requests(emulator) if r["method"] == "POST")
        assert create_req["form"]["is_public"] == ["1"]
        assert update_req["form"] == {"is_public": ["0"], "is_crm_visible": ["0"]}

    def test_every_boolean_form_and_query_value(self, emulator, hook):
        email_id = emulator.records("email")[0]
        hook.get_email(email_id, include_message=False)
        hook.read("email", email_id, include_message=True)
        hook.list_one_to_one_templates(archived=False)
        reads = api_requests(emulator)
        assert [r["query"].get("include_message") for r in reads[:2]] == [["0"], ["1"]]
        assert reads[2]["query"]["archived"] == ["0"]
        values = [v for r in reads for v in (*r["query"].values(), *r["form"].values())]
        assert not [v for v in values if v in (["true"], ["false"], ["True"], ["False"])]

    def test_send_flags_go_out_as_1(self, emulator, hook):
        template_id = emulator.records("emailTemplate")[0]
        prospect_id = emulator.records("prospect")[0]
        hook.send_one_to_one_email(
            prospect_id=prospect_id, campaign_id=1, email_template_id=template_id, operational_email="yes"
        )
        (send,) = [r for r in api_requests(emulator) if r["method"] == "POST"]
        assert send["form"]["operational_email"] == ["1"]

    def test_a_false_send_flag_is_left_out(self, emulator, hook):
        template_id = emulator.records("emailTemplate")[0]
        prospect_id = emulator.records("prospect")[0]
        hook.send_one_to_one_email(
            prospect_id=prospect_id, campaign_id=1, email_template_id=template_id, operational_email=False
        )
        (send,) = [r for r in api_requests(emulator) if r["method"] == "POST"]
        assert "operational_email" not in send["form"]

    def test_a_send_flag_that_is_not_a_boolean_is_refused_before_sending(self, emulator, hook):
        with pytest.raises(PardotValidationError, match="operational_email must be true or false"):
            hook.send_one_to_one_email(
                prospect_id=1, campaign_id=1, email_template_id=1, operational_email="perhaps"
            )
        assert emulator.requests() == []


class TestListCrud:
    def test_create_update_read_delete(self, emulator, hook):
        created = hook.create_list(
            name="Hook CRUD", is_public=True, title="Public title", description="Why", is_crm_visible=False
        )
        list_id = created["id"]
        assert isinstance(list_id, int)
        assert created["name"] == "Hook CRUD"
        assert created["is_public"] is True
        assert created["title"] == "Public title"
        create_req = api_requests(emulator)[-1]
        assert create_req["method"] == "POST"
        assert create_req["path"] == "/api/list/version/4/do/create"
        assert create_req["form"]["is_public"] == ["1"]
        assert create_req["form"]["is_crm_visible"] == ["0"]

        updated = hook.update_list(list_id, description="Updated", is_crm_visible=True)
        assert updated["description"] == "Updated"
        assert updated["is_crm_visible"] is True
        assert updated["name"] == "Hook CRUD"
        update_req = api_requests(emulator)[-1]
        assert update_req["method"] == "POST"
        assert update_req["path"] == f"/api/list/version/4/do/update/id/{list_id}"

        assert hook.read("list", list_id)["description"] == "Updated"
        assert hook.delete_list(list_id) is None
        delete_req = api_requests(emulator)[-1]
        assert (delete_req["method"], delete_req["status"]) == ("POST", 204)
        assert list_id not in emulator.records("list")
        with pytest.raises(PardotApiError) as err:
            hook.read("list", list_id)
        assert err.value.code == 55

    def test_delete_unknown_list(self, emulator, hook):
        with pytest.raises(PardotApiError) as err:
            hook.delete_list(999999)
        assert err.value.code == 55

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda h: h.create_list(), "needs a non-empty name"),
            (lambda h: h.create_list(name="  "), "needs a non-empty name"),
            (lambda h: h.create_list(name="x", is_dynamic=True), "cannot be set"),
            (lambda h: h.create_list(name="x", is_public="maybe"), "is_public must be true or false"),
            (lambda h: h.update_list(30001), "Nothing to update"),
            (lambda h: h.update_list(30001, name=""), "name cannot be empty"),
            (lambda h: h.update_list("abc", name="x"), "list_id"),
            (lambda h: h.delete_list(None), "list_id"),
        ],
    )
    def test_bad_fields_refused_before_any_request(self, emulator, hook, call, match):
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            call(hook)
        assert emulator.requests(before) == []


def _values(rows, field):
    return [r.get(field) for r in rows]


def _ordered(values, order):
    present = [v for v in values if v is not None]
    return present == sorted(present, reverse=order == "descending")


class TestQueries:
    @pytest.mark.parametrize(
        ("object_name", "sorts"),
        [
            (
                "list",
                {
                    "created_at": "descending",
                    "id": "ascending",
                    "name": "ascending",
                    "updated_at": "descending",
                },
            ),
            ("dynamicContent", {"created_at": "descending", "id": "ascending", "updated_at": "descending"}),
            ("lifecycleHistory", {"created_at": "ascending", "id": "ascending"}),
            ("listMembership", {"created_at": "descending", "id": "ascending", "updated_at": "descending"}),
        ],
    )
    def test_documented_sort_options(self, emulator, hook, object_name, sorts):
        everything = list(hook.query(object_name))
        ids = _values(everything, "id")
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)
        for sort_by, default_order in sorts.items():
            rows = list(hook.query(object_name, sort_by=sort_by))
            assert sorted(_values(rows, "id")) == ids
            assert _ordered(_values(rows, sort_by), default_order), (sort_by, default_order)
            other = "ascending" if default_order == "descending" else "descending"
            rows = list(hook.query(object_name, sort_by=sort_by, sort_order=other))
            assert _ordered(_values(rows, sort_by), other), (sort_by, other)

    @pytest.mark.parametrize(
        ("object_name", "date_criteria"),
        [
            ("list", ("created", "updated")),
            ("dynamicContent", ("created", "updated")),
            ("lifecycleHistory", ("created",)),
            ("listMembership", ("created", "updated")),
        ],
    )
    def test_documented_date_and_id_criteria(self, emulator, hook, object_name, date_criteria):
        everything = list(hook.query(object_name))
        for prefix in date_criteria:
            field = f"{prefix}_at"
            stamps = sorted(r[field] for r in everything)
            middle = stamps[len(stamps) // 2]
            after = list(hook.query(object_name, **{f"{prefix}_after": middle}))
            before = list(hook.query(object_name, **{f"{prefix}_before": middle}))
            assert after
            assert before
            assert all(r[field] > middle for r in after)
            assert all(r[field] < middle for r in before)
            assert len(after) == sum(1 for r in everything if r[field] > middle)
            assert len(before) == sum(1 for r in everything if r[field] < middle)
        ids = [r["id"] for r in everything]
        low, high = ids[len(ids) // 4], ids[len(ids) // 2]
        between = list(hook.query(object_name, id_greater_than=low, id_less_than=high))
        assert [r["id"] for r in between] == [i for i in ids if low < i < high]

    def test_list_by_exact_name(self, emulator, hook):
        target = hook.read("list", emulator.records("list")[3])
        rows = list(hook.query("list", name=target["name"]))
        assert [r["id"] for r in rows] == [target["id"]]
        assert api_requests(emulator)[-1]["query"]["name"] == [target["name"]]

    def test_list_membership_by_list_prospect_and_deleted(self, emulator, hook):
        live = list(hook.query("listMembership"))
        list_id = live[0]["list_id"]
        on_list = list(hook.query("listMembership", list_id=list_id))
        assert on_list
        assert all(r["list_id"] == list_id for r in on_list)
        assert len(on_list) == sum(1 for r in live if r["list_id"] == list_id)
        prospect_id = live[0]["prospect_id"]
        of_prospect = list(hook.query("listMembership", prospect_id=prospect_id))
        assert of_prospect
        assert all(r["prospect_id"] == prospect_id for r in of_prospect)
        deleted = list(hook.query("listMembership", deleted=True))
        every = list(hook.query("listMembership", deleted="all"))
        assert deleted
        assert len(every) == len(live) + len(deleted)
        assert not {r["id"] for r in deleted} & {r["id"] for r in live}

    def test_relative_date_keywords(self, emulator, hook):
        rows = list(hook.query("lifecycleHistory", created_after="last_month"))
        assert api_requests(emulator)[-1]["query"]["created_after"] == ["last_month"]
        assert all(isinstance(r["id"], int) for r in rows)

    @pytest.mark.parametrize(
        ("object_name", "criteria", "match"),
        [
            ("dynamicContent", {"name": "x"}, "not a query criterion of dynamicContent"),
            ("lifecycleHistory", {"updated_after": "today"}, "not a query criterion of lifecycleHistory"),
            ("lifecycleHistory", {"sort_by": "updated_at"}, "sort option"),
            ("dynamicContent", {"sort_by": "name"}, "sort option"),
            ("list", {"sort_order": "sideways"}, "sort_order"),
            ("list", {"created_after": "next blue moon"}, "not a date"),
            ("list", {"id_greater_than": -3}, "positive integer"),
            ("listMembership", {"deleted": "maybe"}, "deleted must be one of"),
            ("listMembership", {"list_id": "abc"}, "list_id"),
            ("list", {"limit": 5}, "pages through every matching record"),
            ("emailStats", {}, "Unknown Pardot object"),
        ],
    )
    def test_undocumented_criteria_refused_before_any_request(
        self, emulator, hook, object_name, criteria, match
    ):
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            list(hook.query(object_name, **criteria))
        assert emulator.requests(before) == []

    @pytest.mark.parametrize("object_name", ["list", "dynamicContent", "lifecycleHistory", "listMembership"])
    def test_read_by_id(self, emulator, hook, object_name):
        first = next(iter(hook.query(object_name)))
        record = hook.read(object_name, first["id"])
        assert record == first
        req = api_requests(emulator)[-1]
        assert req["path"] == f"/api/{object_name}/version/4/do/read/id/{first['id']}"
