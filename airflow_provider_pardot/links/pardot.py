"""Extra links from Airflow task instances to the Pardot records they made."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from airflow_provider_pardot.client.endpoints import ui_url

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator, Context, TaskInstanceKey


class BasePardotLink(BaseOperatorLink):
    """
    A link into Pardot, persisted in XCom while the task runs.

    Works on Airflow 2 (the webserver calls :meth:`get_link`) and 3 (the worker calls it when the
    task finishes and stores the URL).
    """

    name: ClassVar[str] = "Pardot"
    key: ClassVar[str] = "pardot_link"
    #: The path of the record's page in Pardot, formatted with the persisted values.
    format_str: ClassVar[str] = ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        try:
            conf = XCom.get_value(key=self.key, ti_key=ti_key)
        except Exception:
            return ""
        if not conf:
            return ""
        return ui_url(conf["host"], self.format_str.format(**conf))

    @classmethod
    def persist(cls, *, context: Context, operator: BaseOperator, host: str, **values: Any) -> None:
        """
        Store what the link needs (the Pardot host and the record's id) in XCom.

        An id rendered by a template (``"30001"``) is stored as the number it names.
        """
        if not getattr(operator, "do_xcom_push", True):
            return
        ids = {k: int(v) if isinstance(v, str) and v.strip().isdecimal() else v for k, v in values.items()}
        context["ti"].xcom_push(key=cls.key, value={"host": host, **ids})


class PardotExportLink(BasePardotLink):
    """Link to a Pardot export."""

    name = "Pardot Export"
    key = "pardot_export"
    format_str = "/export/read/id/{export_id}"


class PardotEmailLink(BasePardotLink):
    """Link to a sent Pardot email."""

    name = "Pardot Email"
    key = "pardot_email"
    format_str = "/email/read/id/{email_id}"


class PardotListLink(BasePardotLink):
    """Link to a Pardot list."""

    name = "Pardot List"
    key = "pardot_list"
    format_str = "/list/read/id/{list_id}"
