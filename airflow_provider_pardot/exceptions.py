"""Exceptions raised by the Pardot provider."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowNotFoundException,
)


class PardotApiError(AirflowException):
    """
    Pardot answered with an error, or could not be reached.

    :param message: what went wrong (never contains a credential)
    :param code: the Pardot error code (``err_code`` in v3/v4, ``code`` in v5), when Pardot gave one
    :param http_status: the HTTP status of the response, when there was a response
    """

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.code is not None:
            parts.append(f"Pardot error {self.code}")
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        prefix = f"[{', '.join(parts)}] " if parts else ""
        return f"{prefix}{self.message}"

    def __reduce__(self):
        # Keep the keyword-only attributes when the exception is pickled (e.g. by a triggerer).
        return (_rebuild, (type(self), self.message, self.code, self.http_status))


def _rebuild(cls: type[PardotApiError], message: str, code: int | None, http_status: int | None):
    return cls(message, code=code, http_status=http_status)


class PardotAuthError(PardotApiError):
    """Authentication failed: bad credentials, business unit, or a token that could not be refreshed."""


class PardotRateLimitError(PardotApiError):
    """Pardot's concurrent-request limit (66), daily allocation (122, HTTP 429) or the local budget was hit."""


class PardotValidationError(PardotApiError, AirflowFailException):
    """
    Bad input, caught before any request was sent.

    Also an :class:`AirflowFailException`: the same input fails the same way, so the task fails at
    once instead of using up its retries.
    """

    def __init__(self, message: str, *, code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code, http_status=http_status)


class PardotExportError(PardotApiError, AirflowFailException):
    """
    An export failed, was canceled, or its results expired.

    Also an :class:`AirflowFailException`: retrying the task cannot bring the export back, so the
    task fails at once instead of using up its retries.
    """


class PardotAmbiguousSendError(PardotApiError, AirflowFailException):
    """
    A create or send request may have reached Pardot, but no answer came back.

    The action may have happened, so it is never repeated automatically: neither by the hook nor,
    being an :class:`AirflowFailException`, by the task's retries.
    """


class PardotConnectionNotFoundError(PardotValidationError, AirflowNotFoundException):
    """
    The task's Pardot connection id names no connection.

    A :class:`PardotValidationError` (so an :class:`AirflowFailException`: retrying cannot make the
    connection appear, so the task fails at once instead of waiting out its retries) and an
    :class:`AirflowNotFoundException`, what Airflow raises for any missing connection.
    """

    @classmethod
    def for_conn_id(cls, conn_id: str) -> PardotConnectionNotFoundError:
        """The error for ``conn_id``, saying how to add the connection or which id to use instead."""
        return cls(
            f"The Pardot connection {conn_id!r} does not exist. Add it in the UI (Admin > Connections > "
            f"Add, connection type Pardot) or with: airflow connections add {conn_id} --conn-type pardot "
            "--conn-host https://pi.pardot.com --conn-extra '{\"business_unit_id\": \"0Uv...\", "
            '"client_id": "...", "client_secret": "...", "login_url": "https://<my-domain>.my.salesforce.com"}\' '
            "(the README's Connection section has one example per auth type). Or set the task's "
            "pardot_conn_id to an existing Pardot connection: the example DAGs take it as the DAG param "
            "pardot_conn_id (in the Trigger form). The task is not retried: no retry can find it."
        )
class PardotImportError(PardotApiError, AirflowFailException):
    """
    A Pardot import failed, was cancelled or expired, or rejected more rows than allowed.

    Also an :class:`AirflowFailException`: running the task again cannot change the outcome (a
    data problem, or an import Pardot gave up on), so the task fails at once.
    """
