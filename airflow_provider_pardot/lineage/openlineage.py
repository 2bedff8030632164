"""
Lineage and data-aware scheduling: OpenLineage datasets and facets, hook lineage, asset events.

Naming:

- a Pardot object is the dataset ``namespace="pardot://<business_unit_id>"``,
  ``name="<object name as the API names it>"`` (``visitorActivity``, ``lists``, ...); as an Airflow
  asset its URI is ``pardot://<business_unit_id>/<object>`` (the ``pardot`` scheme is registered
  in the provider info, with :func:`sanitize_uri`, :func:`create_asset` and
  :func:`convert_asset_to_openlineage`);
- a destination is named as Airflow names an ``ObjectStoragePath`` (its ``namespace`` and ``key``,
  as common-io's ``FileTransferOperator`` does): ``s3://bucket`` + the folder's key, ``file`` + the
  folder's path, ...; with ``merge=True`` the one file written.

Everything OpenLineage is imported inside the functions that build facets, which only the
OpenLineage listener calls: without ``apache-airflow-providers-openlineage`` nothing changes and
parsing a DAG imports nothing of it. The business unit comes from the connection; lineage never
sends a request to Pardot.
"""

from __future__ import annotations

import csv
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from airflow_provider_pardot.files.streams import split_header

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from urllib.parse import SplitResult

    from airflow.providers.common.compat.openlineage.facet import Dataset as OpenLineageDataset
    from airflow.providers.common.compat.sdk import Asset, Context, ObjectStoragePath
    from airflow.providers.openlineage.extractors import OperatorLineage

log = logging.getLogger(__name__)

SCHEME = "pardot"
#: Airflow caches its collector without a lock: parallel first reads (the transfer's downloads)
#: would each build one, and the building loads every provider's asset handlers.
_COLLECTOR_LOCK = threading.Lock()
#: A CSV header longer than this is not looked for (the schema facet is then left out).
MAX_HEADER_BYTES = 64 << 10


# ---------------------------------------------------------------------------------------------
# Naming
# ---------------------------------------------------------------------------------------------
def pardot_namespace(business_unit_id: str) -> str:
    return f"{SCHEME}://{business_unit_id}"


def pardot_uri(business_unit_id: str, object_name: str) -> str:
    return f"{pardot_namespace(business_unit_id)}/{object_name}"


def storage_name(path: ObjectStoragePath) -> tuple[str, str]:
    """``(namespace, name)`` of a destination, as Airflow names an ``ObjectStoragePath``."""
    scheme, _, authority = path.namespace.partition("://")
    bucket = authority.rpartition("@")[2]  # Airflow 2.11 keeps the connection id there: aws_conn@bucket
    return (f"{scheme}://{bucket}" if bucket else scheme), path.key


# ---------------------------------------------------------------------------------------------
# The ``pardot`` asset scheme (provider info "asset-uris" / "dataset-uris")
# ---------------------------------------------------------------------------------------------
def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Check a ``pardot://<business_unit_id>/<object>`` asset URI."""
    if not uri.netloc:
        raise ValueError("URI format pardot:// must contain a business unit id")
    if not uri.path.strip("/") or "/" in uri.path.strip("/"):
        raise ValueError("URI format pardot:// must name one object: pardot://<business_unit_id>/<object>")
    return uri


def create_asset(*, business_unit_id: str, object_name: str, extra: dict[str, Any] | None = None) -> Asset:
    from airflow.providers.common.compat.sdk import Asset

    return Asset(uri=pardot_uri(business_unit_id, object_name), extra=extra)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> OpenLineageDataset:
    """Translate a ``pardot://`` asset to its OpenLineage dataset."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=pardot_namespace(parts.netloc), name=parts.path.strip("/"))


# ---------------------------------------------------------------------------------------------
# Hook lineage
# ---------------------------------------------------------------------------------------------
def report_hook_input(hook: Any, business_unit_id: str, object_name: str | None) -> None:
    """
    Tell Airflow's hook lineage collector that ``hook`` read ``object_name`` (never raises).

    Reported on every read, whoever reads the collector (OpenLineage or another reader plugin):
    the collector decides, as for amazon's S3 hook. Airflow builds the collector once per process
    (it is cached); the object-storage writes of the transfers build it anyway, and
    docs/hook.md gives the cost for a task that only reads.
    """
    _report_hook_asset(hook, business_unit_id, object_name, "add_input_asset")


def report_hook_output(hook: Any, business_unit_id: str, object_name: str | None) -> None:
    """Tell Airflow's hook lineage collector that ``hook`` wrote ``object_name`` (never raises)."""
    _report_hook_asset(hook, business_unit_id, object_name, "add_output_asset")


def _report_hook_asset(hook: Any, business_unit_id: str, object_name: str | None, method: str) -> None:
    if not object_name:
        return
    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector

        with _COLLECTOR_LOCK:
            collector = get_hook_lineage_collector()
        getattr(collector, method)(context=hook, uri=pardot_uri(business_unit_id, object_name))
    except Exception as err:  # lineage must never fail a request
        log.debug("Could not report hook lineage for %s: %s", object_name, err)


class ExportObjects:
    """
    What a hook knows of its exports' objects, for the hook lineage of downloads.

    An export's record does not name its object: a hook learns it when it creates the export, and
    passes it on to the result files it then reads of that export.
    """

    def __init__(self) -> None:
        self._objects: dict[str, str] = {}

    def created(self, export: dict[str, Any], object_name: str, host: str) -> None:
        self._objects[f"export:{export.get('id')}"] = object_name
        self.read(export, host)

    def read(self, export: dict[str, Any], host: str) -> None:
        """Note the result files of an export whose object is known (as given, and absolute)."""
        object_name = self._objects.get(f"export:{export.get('id')}")
        if object_name:
            for ref in export.get("resultRefs") or []:
                self._objects[ref] = self._objects[urljoin(f"{host}/", ref)] = object_name

    def of(self, ref: str) -> str | None:
        return self._objects.get(ref)


# ---------------------------------------------------------------------------------------------
# What a transfer read and wrote
# ---------------------------------------------------------------------------------------------
@dataclass
class Delivery:
    """One transfer run, as its lineage and asset events report it."""

    business_unit_id: str
    object_name: str | None
    #: ``{"export_id": ...}`` or ``{"object": ...}``: what the asset event's extra names
    source: dict[str, Any]
    uri: str | None = None
    namespace: str | None = None
    name: str | None = None
    rows: int = 0
    bytes: int = 0
    files: int = 0
    columns: list[str] | None = None

    def written(
        self, path: ObjectStoragePath, uri: str, files: Sequence[dict[str, Any]], columns: list[str] | None
    ) -> None:
        """Record what was written: ``path`` (folder, or the merged file) and the files' counts."""
        self.namespace, self.name = storage_name(path)
        self.uri = uri
        self.files = len(files)
        self.rows = sum(int(f["rows"]) for f in files)
        self.bytes = sum(int(f["bytes"]) for f in files)
        self.columns = columns

    @property
    def extra(self) -> dict[str, Any]:
        """The extra of the run's asset events."""
        return {**self.source, "rows": self.rows, "bytes": self.bytes, "files": self.files, "uri": self.uri}


@dataclass
class ImportDelivery:
    """One import run, as its lineage and asset events report it: a source in, Pardot objects out."""

    business_unit_id: str
    #: the source, as Airflow names an ``ObjectStoragePath``
    namespace: str
    name: str
    source_columns: list[str]
    #: the columns sent, and the Pardot objects they write (``prospects``, ``listMemberships``)
    columns: list[str]
    objects: list[str]
    rows: int
    import_ids: list[int]
    result: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        business_unit_id: str,
        source: ObjectStoragePath,
        source_columns: Sequence[str],
        columns: Sequence[str],
        rows: int,
        import_ids: list[int],
        result: dict[str, Any] | None = None,
    ) -> ImportDelivery:
        from airflow_provider_pardot.api.imports import (
            LIST_COLUMNS,
            LIST_MEMBERSHIPS_OBJECT,
            PROSPECTS_OBJECT,
        )

        objects = [PROSPECTS_OBJECT]
        if any(c in LIST_COLUMNS for c in columns):
            objects.append(LIST_MEMBERSHIPS_OBJECT)
        namespace, name = storage_name(source)
        return cls(
            business_unit_id,
            namespace,
            name,
            list(source_columns),
            list(columns),
            objects,
            rows,
            import_ids,
            result,
        )

    @property
    def uri(self) -> str:
        """The asset an ``AssetAlias`` outlet gets an event for: ``pardot://<business unit>/prospects``."""
        return pardot_uri(self.business_unit_id, self.objects[0])

    @property
    def extra(self) -> dict[str, Any]:
        """The extra of the run's asset events."""
        result = self.result or {}
        return {
            # a tuple: Airflow 2.11 hashes an event's extra values (it is stored as a JSON list)
            "import_ids": tuple(self.import_ids),
            "rows": self.rows,
            "created": result.get("created"),
            "updated": result.get("updated"),
            "errors": result.get("errors"),
        }


class CsvColumns:
    """Remembers the columns of the first CSV header that streams by (for the schema facet)."""

    def __init__(self) -> None:
        self.columns: list[str] | None = None

    def watch(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Yield ``chunks`` unchanged, reading the header on the way while none is known yet."""
        pending = b""
        looking = self.columns is None
        for chunk in chunks:
            if looking:
                pending += chunk[: MAX_HEADER_BYTES - len(pending)]  # a bounded copy, never the chunk
                split = split_header(pending)
                if split is not None:
                    self._found(split[0])
                if split is not None or len(pending) >= MAX_HEADER_BYTES:
                    looking, pending = False, b""
            yield chunk
        if looking and pending:  # a header-only file without a final newline
            self._found(pending)

    def _found(self, header: bytes) -> None:
        if self.columns is None:
            text = header.decode("utf-8-sig", errors="replace").rstrip("\r\n")
            self.columns = next(csv.reader([text]), None) or None


# ---------------------------------------------------------------------------------------------
# OpenLineage facets (called by the OpenLineage listener only)
# ---------------------------------------------------------------------------------------------
def _schema(columns: Sequence[str] | None) -> dict[str, Any]:
    if not columns:
        return {}
    from airflow.providers.common.compat.openlineage.facet import (
        SchemaDatasetFacet,
        SchemaDatasetFacetFields,
    )

    return {"schema": SchemaDatasetFacet(fields=[SchemaDatasetFacetFields(name=str(c)) for c in columns])}


def pardot_input(business_unit_id: str, object_name: str, fields: Sequence[str] | None = None) -> Any:
    """The OpenLineage input dataset of a Pardot object (with the fields read, when known)."""
    from airflow.providers.common.compat.openlineage.facet import InputDataset

    return InputDataset(
        namespace=pardot_namespace(business_unit_id), name=object_name, facets=_schema(fields)
    )


def start_lineage(business_unit_id: str, object_name: str, fields: Sequence[str] | None) -> OperatorLineage:
    """The lineage an export reports at start: the object it reads."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=[pardot_input(business_unit_id, object_name, fields)])


def delivery_lineage(delivery: Delivery | None) -> OperatorLineage:
    """A transfer's lineage: the object read and, once written, the destination with its statistics."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    if delivery is None:
        return OperatorLineage()
    inputs = []
    if delivery.object_name:
        inputs.append(pardot_input(delivery.business_unit_id, delivery.object_name, delivery.columns))
    outputs = []
    if delivery.namespace is not None and delivery.name is not None:
        from airflow.providers.common.compat.openlineage.facet import (
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
        )

        statistics = OutputStatisticsOutputDatasetFacet(
            rowCount=delivery.rows, size=delivery.bytes, fileCount=delivery.files
        )
        outputs.append(
            OutputDataset(
                namespace=delivery.namespace,
                name=delivery.name,
                facets=_schema(delivery.columns),
                outputFacets={"outputStatistics": statistics},
            )
        )
    return OperatorLineage(inputs=inputs, outputs=outputs)


def import_lineage(delivery: ImportDelivery | None) -> OperatorLineage:
    """An import's lineage: the source read (its columns) and the Pardot objects written (rows sent)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    if delivery is None:
        return OperatorLineage()
    from airflow.providers.common.compat.openlineage.facet import (
        InputDataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
    )

    source = InputDataset(
        namespace=delivery.namespace, name=delivery.name, facets=_schema(delivery.source_columns)
    )
    outputs = [
        OutputDataset(
            namespace=pardot_namespace(delivery.business_unit_id),
            name=object_name,
            facets=_schema(delivery.columns),
            outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=delivery.rows)},
        )
        for object_name in delivery.objects
    ]
    return OperatorLineage(inputs=[source], outputs=outputs)


# ---------------------------------------------------------------------------------------------
# Asset events
# ---------------------------------------------------------------------------------------------
def emit_asset_events(task: Any, context: Context, delivery: Delivery | ImportDelivery) -> None:
    """
    Put the run's figures on the events of the task's outlets.

    An ``Asset`` (``Dataset``) outlet's event gets :attr:`Delivery.extra`; an ``AssetAlias``
    (``DatasetAlias``) outlet gets an event for the destination actually written, with the same
    extra.
    """
    outlets = list(getattr(task, "outlets", None) or [])
    if not outlets or delivery.uri is None:
        return
    from airflow.providers.common.compat.sdk import Asset, AssetAlias

    events = context["outlet_events"]
    extra = delivery.extra
    for outlet in outlets:
        if isinstance(outlet, AssetAlias):
            events[outlet].add(Asset(uri=delivery.uri), extra=extra)
        elif isinstance(outlet, Asset):
            events[outlet].extra.update(extra)
