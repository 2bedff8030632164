"""Local Pardot (Account Engagement) API emulator.

``python -m airflow_provider_pardot.emulator --port 8765`` or, in Python::

    from airflow_provider_pardot.emulator import EmulatorServer
    with EmulatorServer(port=0) as server:
        print(server.url)

Standard library only; it imports nothing from the provider or from Airflow.
"""

from __future__ import annotations

from .server import EmulatorServer

__all__ = ["EmulatorServer"]
