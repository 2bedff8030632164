"""Operators that create, update and delete Pardot lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_pardot.api.lists import EDITABLE_LIST_FIELDS
from airflow_provider_pardot.exceptions import PardotAmbiguousSendError, PardotApiError
from airflow_provider_pardot.links.pardot import PardotListLink
from airflow_provider_pardot.operators.base import PardotBaseOperator, reports_usage

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.providers.common.compat.sdk import Context

#: The XCom key under which PardotCreateListOperator pushes the new list's id.
LIST_ID_XCOM_KEY = "list_id"
#: Pardot's "Invalid list ID" error.
INVALID_LIST_ID_CODE = 55


class _BaseListOperator(PardotBaseOperator):
    operator_extra_links: tuple[PardotListLink, ...] = (PardotListLink(),)
    ui_color = "#e6f2ff"


class _ListFieldsOperator(_BaseListOperator):
    """The editable fields of a list, as the create and update operators take them."""

    def __init__(
        self,
        *,
        name: str | None = None,
        is_public: bool | None = None,
        title: str | None = None,
        description: str | None = None,
        is_crm_visible: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.is_public = is_public
        self.title = title
        self.description = description
        self.is_crm_visible = is_crm_visible

    def _fields(self) -> dict[str, Any]:
        """The fields given (rendered); the hook checks them, and reads flags rendered as text."""
        values = {name: getattr(self, name) for name in EDITABLE_LIST_FIELDS}
        return {name: value for name, value in values.items() if value is not None}


class PardotCreateListOperator(_ListFieldsOperator):
    """
    Create a Pardot list (``POST /api/list/version/4/do/create``).

    Returns the new list as Pardot describes it, a JSON-able dict (the XCom ``return_value``):
    ``{"id": 30500, "name": ..., "is_public": ..., "is_dynamic": ..., "title": ..., "description": ...,
    "is_crm_visible": ..., "created_at": ..., "updated_at": ...}``. The new list's id is also pushed
    under the XCom key ``list_id``, so downstream tasks take it with ``create_list.output["list_id"]``
    (or ``{{ ti.xcom_pull(task_ids="create_list")["id"] }}`` in a template). The task links to the
    list ("Pardot List").

    The fields are checked before any request is sent (a
    :class:`~airflow_provider_pardot.exceptions.PardotValidationError` names what is wrong). When the
    create may have reached Pardot but no answer came back, the task fails with
    :class:`~airflow_provider_pardot.exceptions.PardotAmbiguousSendError` and is not retried, so a
    retry never makes a second list.

    :param name: The list's name (templated).
    :param is_public: Show the list on the prospects' email preference page (templated).
    :param title: The list's title on the email preference page (templated).
    :param description: What the list is for, shown on the email preference page of a public list (templated).
    :param is_crm_visible: Make the list visible in the CRM (templated).
    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = (*EDITABLE_LIST_FIELDS, "pardot_conn_id")

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)

    @reports_usage
    def execute(self, context: Context) -> dict[str, Any]:
        fields = self._fields()
        try:
            record = self.hook.create_list(**fields)
        except PardotAmbiguousSendError as err:
            raise PardotAmbiguousSendError(
                f"{err.message} The list may have been created: this task is not retried automatically; "
                f"look for a list named {fields['name']!r} in Pardot before running it again.",
                code=err.code,
                http_status=err.http_status,
            ) from None
        self.log.info("Created Pardot list %s (%r)", record.get("id"), record.get("name"))
        if record.get("id") is not None:
            if self.do_xcom_push:
                context["ti"].xcom_push(key=LIST_ID_XCOM_KEY, value=record["id"])
            PardotListLink.persist(
                context=context, operator=self, host=self.hook.config.host, list_id=record["id"]
            )
        return record


class PardotUpdateListOperator(_ListFieldsOperator):
    """
    Update a Pardot list (``POST /api/list/version/4/do/update/id/<id>``).

    Only the fields given (not ``None``) are sent; at least one is needed. Returns the updated list,
    a JSON-able dict like :class:`PardotCreateListOperator`'s, and links to it ("Pardot List").

    :param list_id: The Pardot id of the list (templated).
    :param name: The list's new name (templated).
    :param is_public: Show the list on the prospects' email preference page (templated).
    :param title: The list's title on the email preference page (templated).
    :param description: What the list is for, shown on the email preference page of a public list (templated).
    :param is_crm_visible: Make the list visible in the CRM (templated).
    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = ("list_id", *EDITABLE_LIST_FIELDS, "pardot_conn_id")

    def __init__(self, *, list_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.list_id = list_id

    @reports_usage
    def execute(self, context: Context) -> dict[str, Any]:
        list_id = self.list_id
        fields = self._fields()
        record = self.hook.update_list(list_id, **fields)
        self.log.info("Updated Pardot list %s: %s", list_id, ", ".join(sorted(fields)))
        PardotListLink.persist(context=context, operator=self, host=self.hook.config.host, list_id=list_id)
        return record


class PardotDeleteListOperator(_BaseListOperator):
    """
    Delete a Pardot list (``POST /api/list/version/4/do/delete/id/<id>``; Pardot answers HTTP 204).

    Returns nothing.

    :param list_id: The Pardot id of the list (templated).
    :param missing_ok: Succeed when Pardot says the list does not exist (error 55, e.g. it was
        already deleted) instead of failing.
    :param pardot_conn_id: The Pardot connection to use (templated).
    """

    template_fields: Sequence[str] = ("list_id", "pardot_conn_id")
    operator_extra_links: tuple[PardotListLink, ...] = ()  # a deleted list has no page to link to

    def __init__(self, *, list_id: int | str, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.list_id = list_id
        self.missing_ok = missing_ok

    @reports_usage
    def execute(self, context: Context) -> None:
        list_id = self.list_id
        try:
            self.hook.delete_list(list_id)
        except PardotApiError as err:
            if self.missing_ok and err.code == INVALID_LIST_ID_CODE:
                self.log.info("Pardot list %s does not exist (error 55); nothing to delete", list_id)
                return
            raise
        self.log.info("Deleted Pardot list %s", list_id)
