"""Operators that send Pardot emails and read their statistics."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.api.email_params import LIST_PARAMS, ONE_TO_ONE_PARAMS
from airflow_provider_pardot.exceptions import PardotAmbiguousSendError
from airflow_provider_pardot.links.pardot import PardotEmailLink
from airflow_provider_pardot.operators.base import PardotBaseOperator, reports_usage

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from airflow.providers.common.compat.sdk import Context



def _native_sequence(value: Any) -> Any:
    """A sequence rendered to its text (``"[1, 2]"``) by a template, back to a list."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[(" and text[-1:] in "])" and text:
            try:
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                return value
            if isinstance(parsed, (list, tuple)):
                return list(parsed)
    if isinstance(value, tuple):
        return list(value)
    return value


class _BaseSendEmailOperator(PardotBaseOperator):
    """Shared parameters and the never-twice send flow of the Pardot email send operators."""

    operator_extra_links = (PardotEmailLink(),)
    template_fields_renderers = {"html_content": "html", "tags": "json"}
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        campaign_id: int | str,
        email_template_id: int | str | None = None,
        text_content: str | None = None,
        html_content: str | None = None,
        name: str | None = None,
        subject: str | None = None,
        from_email: str | None = None,
        from_name: str | None = None,
        from_user_id: int | str | None = None,
        replyto_email: str | None = None,
        tags: Sequence[str] | str | None = None,
        operational_email: bool | None = None,
        scheduled_time: datetime | str | None = None,
        **kwargs: Any,
    ) -> None:
        # An email must never go out twice: no Airflow retries unless asked for on this operator.
        kwargs.setdefault("retries", 0)
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.email_template_id = email_template_id
        self.text_content = text_content
        self.html_content = html_content
        self.name = name
        self.subject = subject
        self.from_email = from_email
        self.from_name = from_name
        self.from_user_id = from_user_id
        self.replyto_email = replyto_email
        self.tags = tags
        self.operational_email = operational_email
        self.scheduled_time = scheduled_time

    def _params(self, names: Sequence[str]) -> dict[str, Any]:
        """
        The rendered send parameters that were given, with sequences rendered as text parsed back.

        The hook checks them all before it sends anything (and reads flags and times given as text).
        """
        params: dict[str, Any] = {}
        for name in names:
            value = getattr(self, name)
            if name in ("list_ids", "suppression_list_ids", "tags"):
                value = _native_sequence(value)
            if value is not None:
                params[name] = value
        return params

    def _send(self, context: Context, what: str, send: Callable[[], dict[str, Any]]) -> int | str | None:
        try:
            email = send()
        except PardotAmbiguousSendError as err:
            raise PardotAmbiguousSendError(
                f"{err.message} The email may have been sent: this task is not retried automatically; "
                "check the email in Pardot (Marketing > Emails) before running it again.",
                code=err.code,
                http_status=err.http_status,
            ) from None
        email_id = email.get("id") if isinstance(email, dict) else None
        if email_id is None:
            self.log.warning("Pardot accepted %s but its answer carried no email id: %s", what, email)
            return None
        if self.scheduled_time is not None:
            self.log.info(
                "Pardot accepted %s: email %s, scheduled for %s", what, email_id, self.scheduled_time
            )
        else:
            self.log.info("Pardot accepted %s: email %s", what, email_id)
        PardotEmailLink.persist(context=context, operator=self, host=self.hook.config.host, email_id=email_id)
        return email_id


class PardotSendListEmailOperator(_BaseSendEmailOperator):
    """
    Send an email to every prospect on one or more Pardot lists (``POST /api/email/version/4/do/send``).

    Give the email in exactly one of Pardot's three ways: (1) ``email_template_id``;
    (2) ``text_content`` + ``name`` + ``subject`` + ``from_email`` + ``from_name``;
    (3) ``text_content`` + ``name`` + ``subject`` + ``from_user_id``; ``campaign_id`` always.
    Everything is checked after the templates are rendered and before any request is sent: a
    mistake raises :class:`~airflow_provider_pardot.exceptions.PardotValidationError` naming what is
    wrong, and nothing reaches Pardot.

    Returns the id of the email Pardot created (the XCom value), and links to it from the task
    ("Pardot Email").

    .. warning::
        An email must never go out twice, so this operator defaults to ``retries=0`` (even when the
        DAG's ``default_args`` set ``retries``; pass ``retries=`` to this operator to change it).
        The hook itself repeats a send only when Pardot provably never received it (the connection
        could not be made) or refused it before doing anything (error 66). When a send may have
        reached Pardot but no answer came back (a read timeout, a dropped connection, an HTTP 5xx),
        the task fails with :class:`~airflow_provider_pardot.exceptions.PardotAmbiguousSendError`
        saying that the email may have been sent, and it is **not** retried, whatever ``retries``
        says: check the email in Pardot before running the task again.

    :param list_ids: The Pardot ids of the lists to send to; at least one (templated). A template
        that renders a list as text (``"[1, 2]"``) or ``"1,2"`` is read back as ids.
    :param campaign_id: The Pardot id of the campaign the send is assigned to (templated).
    :param email_template_id: The Pardot id of the email template to send (templated).
    :param text_content: The text body; must contain ``%%unsubscribe%%`` or
        ``%%email_preference_center%%`` (templated).
    :param html_content: The HTML body; must contain ``%%unsubscribe%%`` or
        ``%%email_preference_center%%`` (templated).
    :param name: The email record's name (templated).
    :param subject: The email's subject (templated).
    :param from_email: The sender's email address, with ``from_name`` (templated).
    :param from_name: The sender's name, with ``from_email`` (templated).
    :param from_user_id: The Pardot id of the user sending the email (templated).
    :param from_assigned_user: Send from the prospect's assigned user, when there is one (templated).
    :param from_account_owner: Send from the prospect's account owner, when there is one (templated).
    :param replyto_email: The reply-to address (templated).
    :param suppression_list_ids: The Pardot ids of lists whose prospects must not get the email (templated).
    :param tags: Tags to create or associate with the email: a name or a list of names (templated).
    :param operational_email: Send regardless of the prospects' opt-out status; the account must
        have the feature enabled (templated).
    :param scheduled_time: When Pardot should send the email: a datetime or an ISO 8601 string such
        as ``"{{ data_interval_end }}"`` (templated). Sent at once when not given.
    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = (*LIST_PARAMS, "pardot_conn_id")

    def __init__(
        self,
        *,
        list_ids: Sequence[int | str] | int | str,
        campaign_id: int | str,
        suppression_list_ids: Sequence[int | str] | int | str | None = None,
        from_assigned_user: bool | None = None,
        from_account_owner: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(campaign_id=campaign_id, **kwargs)
        self.list_ids = list_ids
        self.suppression_list_ids = suppression_list_ids
        self.from_assigned_user = from_assigned_user
        self.from_account_owner = from_account_owner

    @reports_usage
    def execute(self, context: Context) -> int | str | None:
        params = self._params(LIST_PARAMS)
        self.log.info(
            "Sending list email %r (campaign %s) to lists %s",
            params.get("name") or f"from template {params.get('email_template_id')}",
            params.get("campaign_id"),
            params.get("list_ids"),
        )
        return self._send(
            context,
            f"the list email to lists {params.get('list_ids')}",
            lambda: self.hook.send_list_email(**params),
        )


class PardotSendOneToOneEmailOperator(_BaseSendEmailOperator):
    """
    Send an email to one prospect, by Pardot id or by email address.

    Posts to ``/api/email/version/4/do/send/prospect_id/<id>`` or
    ``/api/email/version/4/do/send/prospect_email/<email>``. Give exactly one of ``prospect_id``
    and ``prospect_email``, and the email in exactly one of Pardot's three ways:
    (1) ``email_template_id``; (2) ``text_content`` + ``name`` + ``subject`` + ``from_email`` +
    ``from_name``; (3) ``text_content`` + ``name`` + ``subject`` + ``from_user_id``;
    ``campaign_id`` always. Everything is checked after the templates are rendered and before any
    request is sent: a mistake raises
    :class:`~airflow_provider_pardot.exceptions.PardotValidationError` naming what is wrong.

    Returns the id of the email Pardot created (the XCom value), and links to it from the task
    ("Pardot Email").

    .. warning::
        An email must never go out twice: as :class:`PardotSendListEmailOperator`, this operator
        defaults to ``retries=0``, and a send that may have reached Pardot without an answer fails
        with :class:`~airflow_provider_pardot.exceptions.PardotAmbiguousSendError` and is **not**
        retried: check the email in Pardot before running the task again.

    :param prospect_id: The Pardot id of the prospect to send to (templated).
    :param prospect_email: The email address of the prospect to send to (templated).
    :param campaign_id: The Pardot id of the campaign to associate the email with (templated).

    The email itself (``email_template_id``, ``text_content``, ``html_content``, ``name``,
    ``subject``, ``from_email``, ``from_name``, ``from_user_id``, ``replyto_email``, ``tags``,
    ``operational_email``, ``scheduled_time``; all templated) is given as to
    :class:`PardotSendListEmailOperator`, with the same meaning.

    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = ("prospect_id", "prospect_email", *ONE_TO_ONE_PARAMS, "pardot_conn_id")

    def __init__(
        self,
        *,
        prospect_id: int | str | None = None,
        prospect_email: str | None = None,
        campaign_id: int | str,
        **kwargs: Any,
    ) -> None:
        super().__init__(campaign_id=campaign_id, **kwargs)
        self.prospect_id = prospect_id
        self.prospect_email = prospect_email

    @reports_usage
    def execute(self, context: Context) -> int | str | None:
        params = self._params(ONE_TO_ONE_PARAMS)
        prospect_id = None if self.prospect_id in (None, "") else self.prospect_id
        prospect_email = None if self.prospect_email in (None, "") else self.prospect_email
        who = f"prospect {prospect_id}" if prospect_id is not None else f"prospect <{prospect_email}>"
        self.log.info(
            "Sending one-to-one email %r (campaign %s) to %s",
            params.get("name") or f"from template {params.get('email_template_id')}",
            params.get("campaign_id"),
            who,
        )
        return self._send(
            context,
            f"the one-to-one email to {who}",
            lambda: self.hook.send_one_to_one_email(
                prospect_id=prospect_id, prospect_email=prospect_email, **params
            ),
        )


class PardotGetEmailStatsOperator(PardotBaseOperator):
    """
    Return the statistics of a Pardot list email (``/api/email/version/4/do/stats/id/<id>``).

    The XCom value is a dict of Pardot's statistics: counts (``sent``, ``delivered``, ``opens``,
    ``unique_opens``, ``total_clicks``, ``unique_clicks``, ``soft_bounced``, ``hard_bounced``,
    ``opt_outs``, ``spam_complaints``) as integers, and rates (``delivery_rate``, ``opens_rate``,
    ``click_through_rate``, ``unique_click_through_rate``, ``click_open_ratio``, ``opt_out_rate``,
    ``spam_complaint_rate``) as numbers in percent (Pardot's ``"98.42%"`` becomes ``98.42``).

    :param email_id: The Pardot id of the list email, e.g. the XCom value of
        :class:`PardotSendListEmailOperator` (templated).
    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = ("email_id", "pardot_conn_id")
    operator_extra_links = (PardotEmailLink(),)
    ui_color = "#f2e6ff"

    def __init__(self, *, email_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email_id = email_id

    @reports_usage
    def execute(self, context: Context) -> dict[str, Any]:
        email_id = self.email_id
        stats = self.hook.get_email_stats(email_id)
        self.log.info(
            "Email %s: %s sent, %s delivered, %s unique opens, %s unique clicks, %s opt-outs",
            email_id,
            stats.get("sent"),
            stats.get("delivered"),
            stats.get("unique_opens"),
            stats.get("unique_clicks"),
            stats.get("opt_outs"),
        )
        PardotEmailLink.persist(context=context, operator=self, host=self.hook.config.host, email_id=email_id)
        return stats
