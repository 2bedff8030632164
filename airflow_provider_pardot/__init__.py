"""Apache Airflow provider for Salesforce Pardot (Marketing Cloud Account Engagement)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
