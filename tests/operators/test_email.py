"""The email operators over real HTTP against the Pardot emulator (no mocked hook)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pendulum
import pytest
from airflow.providers.common.compat.sdk import DAG, AirflowException, AirflowFailException
from airflow_run import AirflowHome
from identities import FAST_RETRIES, pardot_connection

from airflow_provider_pardot.client.tokens import TOKENS
from airflow_provider_pardot.exceptions import PardotAmbiguousSendError, PardotApiError, PardotValidationError
from airflow_provider_pardot.operators.email import (
    PardotGetEmailStatsOperator,
    PardotSendListEmailOperator,
    PardotSendOneToOneEmailOperator,
)

CAMPAIGN_ID = 1001
TEXT = "Hello %%first_name%%, unsubscribe here: %%unsubscribe%%"
HTML = "<p>Hello</p><a href='%%email_preference_center%%'>Preferences</a>"
SEND_PATH = "/api/email/version/4/do/send"
DAGS_FOLDER = Path(__file__).resolve().parents[1] / "dags"


def connection(emulator) -> dict:
    return pardot_connection(emulator.url, **FAST_RETRIES, timeout=5)


@pytest.fixture
def conn(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_PARDOT_DEFAULT", json.dumps(connection(emulator)))
    return "pardot_default"


class FakeTI:
    """Just enough of a task instance for ``xcom_push`` (extra links persist through it)."""

    def __init__(self) -> None:
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value


def run(op, **context):
    """Render the templates against ``context`` (as Airflow does) and execute."""
    ti = FakeTI()
    context = {"ti": ti, **context}
    op.render_template_fields(context)
    return op.execute(context), ti


def sends(emulator) -> list[dict]:
    return emulator.state()["sends"]


def send_posts(emulator, since: int = 0) -> list[dict]:
    return [r for r in emulator.requests(since) if r["path"].startswith(SEND_PATH)]


def last_seq(emulator) -> int:
    log = emulator.requests()
    return log[-1]["seq"] if log else 0


@pytest.fixture
def lists(emulator):
    return emulator.records("list")


@pytest.fixture
def template_id(emulator):
    return emulator.records("emailTemplate")[0]


@pytest.fixture
def prospect(emulator, conn):
    from airflow_provider_pardot.hooks.pardot import PardotHook

    record = PardotHook().read("prospect", emulator.records("prospect")[0])
    TOKENS.clear()
    return record


class TestSendListEmail:
    def test_from_template(self, emulator, conn, lists, template_id):
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids=[lists[0], lists[1]],
            campaign_id=CAMPAIGN_ID,
            email_template_id=template_id,
        )
        email_id, ti = run(op)
        assert isinstance(email_id, int)
        (sent,) = sends(emulator)
        assert sent["email_id"] == email_id
        assert sent["kind"] == "list"
        assert sent["list_ids"] == [lists[0], lists[1]]
        assert sent["campaign_id"] == CAMPAIGN_ID
        assert sent["email_template_id"] == str(template_id)
        (post,) = send_posts(emulator)
        assert (post["method"], post["path"]) == ("POST", SEND_PATH)
        assert ti.xcom["pardot_email"] == {"host": emulator.url, "email_id": email_id}
        json.dumps(email_id)

    def test_every_documented_parameter_reaches_pardot(self, emulator, conn, lists):
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids=[lists[0], lists[1]],
            suppression_list_ids=[lists[2], lists[3]],
            campaign_id=CAMPAIGN_ID,
            text_content=TEXT,
            html_content=HTML,
            name="Spring launch",
            subject="Our spring launch",
            from_email="marketing@example.com",
            from_name="Marketing",
            from_assigned_user=True,
            from_account_owner=True,
            replyto_email="replies@example.com",
            tags=["spring", "launch"],
            operational_email=True,
            scheduled_time="2030-10-31T17:00:00-04:00",
        )
        email_id, _ = run(op)
        (sent,) = sends(emulator)
        assert sent["email_id"] == email_id
        assert sent["params"] == {
            "list_ids[]": [str(lists[0]), str(lists[1])],
            "suppression_list_ids[]": [str(lists[2]), str(lists[3])],
            "campaign_id": str(CAMPAIGN_ID),
            "text_content": TEXT,
            "html_content": HTML,
            "name": "Spring launch",
            "subject": "Our spring launch",
            "from_email": "marketing@example.com",
            "from_name": "Marketing",
            "from_assigned_user": "1",
            "from_account_owner": "1",
            "replyto_email": "replies@example.com",
            "tags[]": ["spring", "launch"],
            "operational_email": "1",
            "scheduled_time": "2030-10-31T17:00:00-04:00",
        }
        assert sent["suppression_list_ids"] == [lists[2], lists[3]]
        assert sent["tags"] == ["spring", "launch"]

    def test_sender_by_user_id(self, emulator, conn, lists):
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids=lists[0],
            campaign_id=CAMPAIGN_ID,
            text_content=TEXT,
            name="By user",
            subject="Sent by a Pardot user",
            from_user_id=7,
            tags="single-tag",
        )
        email_id, _ = run(op)
        (sent,) = sends(emulator)
        assert sent["params"]["from_user_id"] == "7"
        assert sent["params"]["list_ids[]"] == [str(lists[0])]
        assert sent["params"]["tags[]"] == ["single-tag"]
        assert "from_email" not in sent["params"]
        assert "operational_email" not in sent["params"]  # false/absent booleans are not sent

    def test_sent_email_can_be_read_back(self, emulator, conn, lists, template_id):
        op = PardotSendListEmailOperator(
            task_id="send", list_ids=[lists[0]], campaign_id=CAMPAIGN_ID, email_template_id=template_id
        )
        email_id, _ = run(op)
        email = op.hook.get_email(email_id)
        assert email["id"] == email_id
        assert "%%unsubscribe%%" in email["message"]["text"]

    def test_logs_api_usage_at_the_end(self, emulator, conn, lists, template_id, caplog, capsys):
        op = PardotSendListEmailOperator(
            task_id="send", list_ids=[lists[0]], campaign_id=CAMPAIGN_ID, email_template_id=template_id
        )
        with caplog.at_level("INFO"):
            run(op)
        assert op.hook.request_count == 1
        captured = capsys.readouterr()
        # Airflow 3 logs through structlog (stdout), Airflow 2 through logging.
        assert "Pardot API: 1 request by this task" in caplog.text + captured.out + captured.err


class TestSendOneToOneEmail:
    def test_by_prospect_id(self, emulator, conn, prospect, template_id):
        op = PardotSendOneToOneEmailOperator(
            task_id="send", prospect_id=prospect["id"], campaign_id=CAMPAIGN_ID, email_template_id=template_id
        )
        email_id, ti = run(op)
        (sent,) = sends(emulator)
        assert sent["email_id"] == email_id
        assert (sent["kind"], sent["prospect_id"]) == ("prospect_id", prospect["id"])
        (post,) = send_posts(emulator)
        assert post["path"] == f"{SEND_PATH}/prospect_id/{prospect['id']}"
        assert ti.xcom["pardot_email"]["email_id"] == email_id

    def test_by_prospect_email_url_encoded(self, emulator, conn, prospect, template_id):
        op = PardotSendOneToOneEmailOperator(
            task_id="send",
            prospect_email=prospect["email"],
            campaign_id=CAMPAIGN_ID,
            email_template_id=template_id,
        )
        email_id, _ = run(op)
        (sent,) = sends(emulator)
        assert (sent["kind"], sent["prospect_email"]) == ("prospect_email", prospect["email"])
        (post,) = send_posts(emulator)
        assert post["path"] == f"{SEND_PATH}/prospect_email/{prospect['email'].replace('@', '%40')}"

    def test_every_documented_parameter_reaches_pardot(self, emulator, conn, prospect):
        op = PardotSendOneToOneEmailOperator(
            task_id="send",
            prospect_id=prospect["id"],
            campaign_id=CAMPAIGN_ID,
            text_content=TEXT,
            html_content=HTML,
            name="Welcome",
            subject="Welcome aboard",
            from_email="sales@example.com",
            from_name="Sales",
            replyto_email="replies@example.com",
            tags=["welcome"],
            operational_email=True,
            scheduled_time=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        )
        run(op)
        (sent,) = sends(emulator)
        params = dict(sent["params"])
        assert params.pop("prospect_id") == str(prospect["id"])  # from the path, not the form
        (post,) = send_posts(emulator)
        assert "prospect_id" not in post["form"]
        assert params == {
            "campaign_id": str(CAMPAIGN_ID),
            "text_content": TEXT,
            "html_content": HTML,
            "name": "Welcome",
            "subject": "Welcome aboard",
            "from_email": "sales@example.com",
            "from_name": "Sales",
            "replyto_email": "replies@example.com",
            "tags[]": ["welcome"],
            "operational_email": "1",
            "scheduled_time": "2030-01-02T03:04:05+00:00",
        }

    def test_sender_by_user_id(self, emulator, conn, prospect):
        op = PardotSendOneToOneEmailOperator(
            task_id="send",
            prospect_id=str(prospect["id"]),
            campaign_id=str(CAMPAIGN_ID),
            text_content=TEXT,
            name="Note",
            subject="A note",
            from_user_id="12",
        )
        run(op)
        (sent,) = sends(emulator)
        assert sent["params"]["from_user_id"] == "12"

    def test_unknown_prospect_is_pardots_error(self, emulator, conn, template_id):
        op = PardotSendOneToOneEmailOperator(
            task_id="send", prospect_id=1, campaign_id=CAMPAIGN_ID, email_template_id=template_id
        )
        with pytest.raises(PardotApiError) as err:
            run(op)
        assert err.value.code == 3
        assert sends(emulator) == []
        assert len(send_posts(emulator)) == 1


class TestGetEmailStats:
    def test_stats_of_a_seeded_list_email(self, emulator, conn):
        email_id = emulator.records("email")[0]
        op = PardotGetEmailStatsOperator(task_id="stats", email_id=str(email_id))
        stats, ti = run(op)
        json.dumps(stats)
        for name in (
            "sent",
            "delivered",
            "opens",
            "unique_opens",
            "total_clicks",
            "unique_clicks",
            "soft_bounced",
            "hard_bounced",
            "opt_outs",
            "spam_complaints",
        ):
            assert type(stats[name]) is int, name
        for name in (
            "delivery_rate",
            "opens_rate",
            "click_through_rate",
            "unique_click_through_rate",
            "click_open_ratio",
            "opt_out_rate",
            "spam_complaint_rate",
        ):
            assert type(stats[name]) is float, name
        assert stats["delivery_rate"] == pytest.approx(100 * stats["delivered"] / stats["sent"], abs=0.01)
        assert ti.xcom["pardot_email"] == {"host": emulator.url, "email_id": email_id}
        (req,) = [r for r in emulator.requests() if r["path"].startswith("/api/")]
        assert req["path"] == f"/api/email/version/4/do/stats/id/{email_id}"

    def test_stats_of_a_fresh_send(self, emulator, conn, lists, template_id):
        send = PardotSendListEmailOperator(
            task_id="send", list_ids=[lists[0]], campaign_id=CAMPAIGN_ID, email_template_id=template_id
        )
        email_id, _ = run(send)
        stats, _ = run(
            PardotGetEmailStatsOperator(task_id="stats", email_id="{{ params.email }}"),
            params={"email": email_id},
        )
        assert stats["sent"] == 0
        assert stats["delivery_rate"] == 0.0

    def test_bad_email_id_sends_nothing(self, emulator, conn):
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match="email_id"):
            run(PardotGetEmailStatsOperator(task_id="stats", email_id="latest"))
        assert emulator.requests(before) == []


WAYS_TEXT = "(1) email_template_id; (2) text_content + name + subject + from_email + from_name"

LIST_CASES = {
    "template_and_content": (
        {"email_template_id": 101, "text_content": TEXT},
        "either email_template_id or text_content, not both",
    ),
    "template_and_html": ({"email_template_id": 101, "html_content": HTML}, "not both"),
    "nothing_given": (
        {},
        "missing text_content, name, subject, from_email \\+ from_name \\(or from_user_id\\)",
    ),
    "way2_without_from_name": (
        {"text_content": TEXT, "name": "n", "subject": "s", "from_email": "a@example.com"},
        "missing from_name",
    ),
    "way2_without_subject": (
        {"text_content": TEXT, "name": "n", "from_email": "a@example.com", "from_name": "A"},
        "missing subject",
    ),
    "way3_without_name": ({"text_content": TEXT, "subject": "s", "from_user_id": 3}, "missing name"),
    "content_without_text": (
        {"html_content": HTML, "name": "n", "subject": "s", "from_user_id": 3},
        "text_content",
    ),
    "two_senders": (
        {
            "text_content": TEXT,
            "name": "n",
            "subject": "s",
            "from_user_id": 3,
            "from_email": "a@example.com",
            "from_name": "A",
        },
        "either from_email \\+ from_name or from_user_id",
    ),
    "no_campaign": ({"campaign_id": None, "email_template_id": 101}, "campaign_id is required"),
    "empty_campaign": ({"campaign_id": " ", "email_template_id": 101}, "campaign_id is required"),
    "bad_campaign": ({"campaign_id": "spring", "email_template_id": 101}, "campaign_id must be a Pardot id"),
    "text_without_unsubscribe": (
        {"text_content": "Hello!", "name": "n", "subject": "s", "from_user_id": 3},
        "text_content must contain %%unsubscribe%% or %%email_preference_center%%",
    ),
    "html_without_unsubscribe": (
        {"text_content": TEXT, "html_content": "<p>hi</p>", "name": "n", "subject": "s", "from_user_id": 3},
        "html_content must contain %%unsubscribe%%",
    ),
    "empty_list_ids": ({"list_ids": [], "email_template_id": 101}, "at least one list id"),
    "list_ids_none": ({"list_ids": None, "email_template_id": 101}, "at least one list id"),
    "list_ids_rendered_empty": ({"list_ids": "[]", "email_template_id": 101}, "at least one list id"),
    "bad_list_id": ({"list_ids": [30001, "newsletter"], "email_template_id": 101}, "list_ids item"),
    "bad_suppression_list_id": (
        {"suppression_list_ids": ["x"], "email_template_id": 101},
        "suppression_list_ids item",
    ),
    "bad_scheduled_time": ({"scheduled_time": "next tuesday", "email_template_id": 101}, "ISO 8601"),
    "bad_scheduled_time_type": ({"scheduled_time": 1700000000, "email_template_id": 101}, "ISO 8601"),
    "bad_operational_flag": ({"operational_email": "maybe", "email_template_id": 101}, "true or false"),
    "bad_from_email": (
        {"text_content": TEXT, "name": "n", "subject": "s", "from_email": "marketing", "from_name": "M"},
        "from_email='marketing' is not an email address",
    ),
    "bad_replyto": ({"replyto_email": "nobody", "email_template_id": 101}, "replyto_email"),
    "empty_tag": ({"tags": ["ok", " "], "email_template_id": 101}, "tags must be non-empty"),
}

ONE_TO_ONE_CASES = {
    "both_prospect_id_and_email": (
        {"prospect_id": 20001, "prospect_email": "prospect1@example.com", "email_template_id": 101},
        "exactly one of prospect_id or prospect_email \\(both were given\\)",
    ),
    "neither_prospect_id_nor_email": (
        {"prospect_id": None, "email_template_id": 101},
        "exactly one of prospect_id or prospect_email \\(neither was given\\)",
    ),
    "empty_prospect_email": (
        {"prospect_id": None, "prospect_email": "", "email_template_id": 101},
        "neither was given",
    ),
    "bad_prospect_id": ({"prospect_id": "bob", "email_template_id": 101}, "prospect_id must be a Pardot id"),
    "bad_prospect_email": (
        {"prospect_id": None, "prospect_email": "bob", "email_template_id": 101},
        "not an email",
    ),
    "template_and_content": ({"email_template_id": 101, "text_content": TEXT}, "not both"),
    "nothing_given": ({}, "The email is incomplete"),
    "no_campaign": ({"campaign_id": None, "email_template_id": 101}, "campaign_id is required"),
    "text_without_unsubscribe": (
        {"text_content": "Hi", "name": "n", "subject": "s", "from_email": "a@example.com", "from_name": "A"},
        "%%unsubscribe%%",
    ),
    "bad_scheduled_time": ({"scheduled_time": "2030-13-45T99:00:00", "email_template_id": 101}, "ISO 8601"),
}


class TestValidationBeforeAnyRequest:
    @pytest.mark.parametrize("case", sorted(LIST_CASES))
    def test_list_send(self, emulator, conn, case):
        overrides, match = LIST_CASES[case]
        kwargs = {"task_id": "send", "list_ids": [30001], "campaign_id": CAMPAIGN_ID, **overrides}
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            run(PardotSendListEmailOperator(**kwargs))
        assert emulator.requests(before) == []
        assert sends(emulator) == []

    @pytest.mark.parametrize("case", sorted(ONE_TO_ONE_CASES))
    def test_one_to_one_send(self, emulator, conn, case):
        overrides, match = ONE_TO_ONE_CASES[case]
        kwargs = {"task_id": "send", "prospect_id": 20001, "campaign_id": CAMPAIGN_ID, **overrides}
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            run(PardotSendOneToOneEmailOperator(**kwargs))
        assert emulator.requests(before) == []

    def test_three_ways_message_lists_the_valid_combinations(self, emulator, conn):
        op = PardotSendListEmailOperator(
            task_id="send", list_ids=[30001], campaign_id=CAMPAIGN_ID, subject="s"
        )
        with pytest.raises(PardotValidationError) as err:
            run(op)
        assert WAYS_TEXT in str(err.value)
        assert "(3) text_content + name + subject + from_user_id" in str(err.value)

    def test_validated_after_rendering(self, emulator, conn):
        """A template that renders to content without the unsubscribe tag is caught after rendering."""
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids="{{ params.lists }}",
            campaign_id=CAMPAIGN_ID,
            text_content="{{ params.body }}",
            name="n",
            subject="s",
            from_user_id=3,
        )
        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match="%%unsubscribe%%"):
            run(op, params={"lists": [30001], "body": "Hello without a footer"})
        assert emulator.requests(before) == []

    def test_bad_connection_does_not_hide_bad_input(self, emulator, monkeypatch):
        monkeypatch.delenv("AIRFLOW_CONN_PARDOT_DEFAULT", raising=False)
        op = PardotSendListEmailOperator(
            task_id="send", list_ids=[], campaign_id=CAMPAIGN_ID, email_template_id=1
        )
        with pytest.raises(PardotValidationError, match="at least one list id"):
            run(op)

    def test_unknown_operator_argument_refused_at_parse_time(self):
        with pytest.raises((TypeError, AirflowException), match="scheduled_at|Invalid arguments"):
            PardotSendListEmailOperator(
                task_id="send",
                list_ids=[30001],
                campaign_id=CAMPAIGN_ID,
                email_template_id=101,
                scheduled_at="2030-01-01T00:00:00Z",
            )

    def test_list_only_arguments_refused_on_one_to_one(self):
        with pytest.raises((TypeError, AirflowException), match="suppression_list_ids|Invalid arguments"):
            PardotSendOneToOneEmailOperator(
                task_id="send",
                prospect_id=20001,
                campaign_id=CAMPAIGN_ID,
                email_template_id=101,
                suppression_list_ids=[30002],
            )

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (
                lambda h: h.send_list_email(
                    list_ids=[30001], campaign_id=1001, email_template_id=101, colour="red"
                ),
                "'colour' is not a parameter of this Pardot email send",
            ),
            (
                lambda h: h.send_one_to_one_email(
                    prospect_id=20001, campaign_id=1001, email_template_id=101, list_ids=[30001]
                ),
                "only apply to list emails",
            ),
            (
                lambda h: h.send_one_to_one_email(
                    prospect_id=20001, campaign_id=1001, email_template_id=101, format_as="xml"
                ),
                "not a parameter",
            ),
        ],
    )
    def test_unknown_parameter_to_the_hook(self, emulator, conn, call, match):
        from airflow_provider_pardot.hooks.pardot import PardotHook

        before = last_seq(emulator)
        with pytest.raises(PardotValidationError, match=match):
            call(PardotHook())
        assert emulator.requests(before) == []


class TestNeverSentTwice:
    def _list_op(self, lists, template_id, **kwargs):
        return PardotSendListEmailOperator(
            task_id="send",
            list_ids=[lists[0]],
            campaign_id=CAMPAIGN_ID,
            email_template_id=template_id,
            **kwargs,
        )

    def test_retries_default_to_zero(self):
        for cls, kwargs in (
            (PardotSendListEmailOperator, {"list_ids": [1]}),
            (PardotSendOneToOneEmailOperator, {"prospect_id": 1}),
        ):
            assert cls(task_id="t", campaign_id=1, email_template_id=1, **kwargs).retries == 0
            assert cls(task_id="t", campaign_id=1, email_template_id=1, retries=2, **kwargs).retries == 2
            with DAG(dag_id="d", schedule=None, default_args={"retries": 3}):
                assert cls(task_id="t", campaign_id=1, email_template_id=1, **kwargs).retries == 0
            assert "retries=0" in cls.__doc__
            assert "never go out twice" in cls.__doc__
        with DAG(dag_id="d", schedule=None, default_args={"retries": 3}):
            assert PardotGetEmailStatsOperator(task_id="stats", email_id=1).retries == 3

    def test_dropped_after_processing_is_not_resent(self, emulator, conn, lists, template_id):
        emulator.faults({"kind": "reset_after", "match": f"^{SEND_PATH}", "method": "POST", "times": 1})
        op = self._list_op(lists, template_id, retries=3)
        with pytest.raises(PardotAmbiguousSendError, match="may have been sent") as err:
            run(op)
        # Airflow fails the task without a retry, whatever ``retries`` says.
        assert isinstance(err.value, AirflowFailException)
        assert len(sends(emulator)) == 1
        assert len(send_posts(emulator)) == 1

    def test_one_to_one_dropped_after_processing_is_not_resent(self, emulator, conn, prospect, template_id):
        emulator.faults(
            {"kind": "reset_after", "match": "/do/send/prospect_email/", "method": "POST", "times": 1}
        )
        op = PardotSendOneToOneEmailOperator(
            task_id="send",
            prospect_email=prospect["email"],
            campaign_id=CAMPAIGN_ID,
            email_template_id=template_id,
        )
        with pytest.raises(PardotAmbiguousSendError, match="may have been sent"):
            run(op)
        assert len(sends(emulator)) == 1
        assert len(send_posts(emulator)) == 1

    def test_5xx_is_not_retried(self, emulator, conn, lists, template_id):
        emulator.faults(
            {"kind": "status", "status": 503, "match": f"^{SEND_PATH}", "method": "POST", "times": 1}
        )
        with pytest.raises(PardotAmbiguousSendError, match="may have been sent") as err:
            run(self._list_op(lists, template_id))
        assert err.value.http_status == 503
        assert len(send_posts(emulator)) == 1
        assert sends(emulator) == []

    def test_error_66_is_retried_and_sent_once(self, emulator, conn, lists, template_id):
        emulator.faults({"kind": "error", "code": 66, "match": f"^{SEND_PATH}", "method": "POST", "times": 1})
        email_id, _ = run(self._list_op(lists, template_id))
        (sent,) = sends(emulator)
        assert sent["email_id"] == email_id
        assert len(send_posts(emulator)) == 2

    def test_pardot_refusal_is_not_ambiguous(self, emulator, conn, template_id):
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids=[999999],
            campaign_id=CAMPAIGN_ID,
            email_template_id=template_id,
            retries=1,
        )
        with pytest.raises(PardotApiError) as err:
            run(op)
        assert err.value.code == 55
        assert not isinstance(err.value, (PardotAmbiguousSendError, AirflowFailException))
        assert sends(emulator) == []


class TestTemplating:
    def test_template_fields(self):
        assert {
            "list_ids",
            "suppression_list_ids",
            "campaign_id",
            "email_template_id",
            "text_content",
            "html_content",
            "name",
            "subject",
            "from_email",
            "from_name",
            "from_user_id",
            "tags",
            "scheduled_time",
            "pardot_conn_id",
        } <= set(PardotSendListEmailOperator.template_fields)
        assert {
            "prospect_id",
            "prospect_email",
            "campaign_id",
            "email_template_id",
            "text_content",
            "html_content",
            "name",
            "subject",
            "from_email",
            "from_name",
            "from_user_id",
            "tags",
            "scheduled_time",
            "pardot_conn_id",
        } <= set(PardotSendOneToOneEmailOperator.template_fields)
        assert set(PardotGetEmailStatsOperator.template_fields) == {"email_id", "pardot_conn_id"}
        for cls in (
            PardotSendListEmailOperator,
            PardotSendOneToOneEmailOperator,
            PardotGetEmailStatsOperator,
        ):
            assert isinstance(cls.template_fields, tuple)

    def test_list_send_renders(self, emulator, conn, lists):
        op = PardotSendListEmailOperator(
            task_id="send",
            list_ids="{{ params.lists }}",
            campaign_id="{{ params.campaign }}",
            text_content="Report for {{ ds }}. %%unsubscribe%%",
            html_content="<h1>{{ ds }}</h1>%%unsubscribe%%",
            name="Daily {{ ds }}",
            subject="Your {{ ds }} report",
            from_email="{{ params.sender }}",
            from_name="Reports",
            tags=["daily", "{{ ds }}"],
            scheduled_time="{{ data_interval_end }}",
        )
        email_id, _ = run(
            op,
            ds="2030-05-01",
            data_interval_end=pendulum.datetime(2030, 5, 2, 9, tz="UTC"),
            params={"lists": [lists[0], lists[1]], "campaign": CAMPAIGN_ID, "sender": "reports@example.com"},
        )
        (sent,) = sends(emulator)
        params = sent["params"]
        assert params["list_ids[]"] == [str(lists[0]), str(lists[1])]
        assert params["campaign_id"] == str(CAMPAIGN_ID)
        assert params["text_content"] == "Report for 2030-05-01. %%unsubscribe%%"
        assert params["html_content"] == "<h1>2030-05-01</h1>%%unsubscribe%%"
        assert params["name"] == "Daily 2030-05-01"
        assert params["subject"] == "Your 2030-05-01 report"
        assert params["from_email"] == "reports@example.com"
        assert params["tags[]"] == ["daily", "2030-05-01"]
        assert params["scheduled_time"] == "2030-05-02T09:00:00+00:00"
        assert sent["scheduled_time"] == "2030-05-02T09:00:00+00:00"

    def test_scheduled_time_as_datetime_and_iso_string_with_z(self, emulator, conn, lists, template_id):
        for value, expected in (
            (
                dt.datetime(2030, 6, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4))),
                "2030-06-01T08:30:00-04:00",
            ),
            ("2030-06-01T12:30:00Z", "2030-06-01T12:30:00+00:00"),
            (
                "{{ (data_interval_end + macros.timedelta(hours=2)).isoformat() }}",
                "2030-05-02T02:00:00+00:00",
            ),
        ):
            emulator.reset()
            op = PardotSendListEmailOperator(
                task_id="send",
                list_ids=[lists[0]],
                campaign_id=CAMPAIGN_ID,
                email_template_id=template_id,
                scheduled_time=value,
            )
            context = {"data_interval_end": pendulum.datetime(2030, 5, 2, tz="UTC"), "macros": _Macros}
            run(op, **context)
            (sent,) = sends(emulator)
            assert sent["params"]["scheduled_time"] == expected

    def test_one_to_one_renders(self, emulator, conn, prospect, template_id):
        op = PardotSendOneToOneEmailOperator(
            task_id="send",
            prospect_email="{{ params.who }}",
            campaign_id=CAMPAIGN_ID,
            email_template_id="{{ params.template }}",
            tags="{{ params.tags }}",
        )
        run(op, params={"who": prospect["email"], "template": template_id, "tags": ["a", "b"]})
        (sent,) = sends(emulator)
        assert sent["prospect_email"] == prospect["email"]
        assert sent["params"]["email_template_id"] == str(template_id)
        assert sent["params"]["tags[]"] == ["a", "b"]


class _Macros:
    timedelta = dt.timedelta


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    return AirflowHome(tmp_path_factory.mktemp("airflow-email"), DAGS_FOLDER)


@pytest.mark.e2e
class TestRealAirflowRun:
    def test_email_dag(self, emulator, airflow_home):
        result = airflow_home.dags_test(
            "pardot_email_operators", connections={"pardot_default": connection(emulator)}, timeout=600
        )
        assert result.succeeded, result.output[-6000:]
        by_kind = {}
        for sent in sends(emulator):
            by_kind.setdefault(sent["kind"], []).append(sent)
        assert sorted(by_kind) == ["list", "prospect_email", "prospect_id"]
        (list_send,) = by_kind["list"]
        assert list_send["params"]["text_content"].startswith("Daily report for 20")
        assert list_send["params"]["scheduled_time"].endswith("+00:00")
        assert list_send["params"]["tags[]"] == ["airflow", "e2e"]
        # the stats task read the email the list task created (XCom through a real Airflow)
        stats_paths = [r["path"] for r in emulator.requests() if "/do/stats/" in r["path"]]
        assert stats_paths == [f"/api/email/version/4/do/stats/id/{list_send['email_id']}"]
        assert "checked xcoms and links" in result.output
        assert "Pardot API: 1 request by this task" in result.output

    def test_lost_answer_is_not_retried_by_airflow(self, emulator, airflow_home):
        emulator.faults({"kind": "reset_after", "match": f"^{SEND_PATH}", "method": "POST"})
        result = airflow_home.dags_test(
            "pardot_email_ambiguous", connections={"pardot_default": connection(emulator)}, timeout=600
        )
        assert not result.succeeded
        assert "retry_control succeeded on try 2" in result.output  # this run does retry ordinary failures
        assert "may have been sent" in result.output
        assert len(sends(emulator)) == 1  # retries=2 on the task, yet one send
        assert len(send_posts(emulator)) == 1
