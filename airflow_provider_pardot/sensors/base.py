"""What the Pardot sensors share: the connection, the hook, and waiting by poke, reschedule or deferral."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_provider_pardot.api.ids import DEFAULT_CONN_ID
from airflow_provider_pardot.operators.base import PardotHookMixin, reports_usage

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class PardotBaseSensor(PardotHookMixin, BaseSensorOperator):
    """
    Base of the Pardot sensors: ``poke`` and ``reschedule`` mode on a worker, or, deferred, one
    read on the worker and then the wait in the triggerer (:meth:`defer_waiting`).

    :param pardot_conn_id: The Pardot connection to use. (templated)
    :param deferrable: Wait in the triggerer instead of on a worker (default: ``[operators]
        default_deferrable``).
    :param poke_interval: Seconds between two reads (default 60; Pardot counts every read against
        the account's daily allocation).
    :param timeout: Seconds before the sensor gives up.
    """

    def __init__(
        self,
        *,
        pardot_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = 60,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.pardot_conn_id = pardot_conn_id
        self.deferrable = deferrable

    @reports_usage
    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context=context)
        done = self.poke(context)  # finished already: no need to defer
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self.defer_waiting()

    if TYPE_CHECKING:  # each sensor says how it hands its wait to the triggerer

        def defer_waiting(self) -> NoReturn:
            """Defer to the sensor's trigger, with ``poke_interval`` and the time left of ``timeout``."""
