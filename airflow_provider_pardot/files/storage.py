"""
An atomic destination folder on any object storage Airflow knows (``file://``, ``s3://``, ...).

Each file is first written aside, under a hidden temporary name in the destination folder
(``.part-00000.csv.<token>.tmp``), and moved to its final name only once every file of the run is
complete; a failed run removes its temporaries, so nothing partial or stray ever appears under a
final name. ``_manifest.json`` is written last (also atomically); its presence marks a complete
delivery.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, ObjectStoragePath

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

MANIFEST_NAME = "_manifest.json"

#: ``.<final name>.<run token>.tmp``: where a file is written before it is moved into place.
_TEMPORARY = re.compile(r"\.(.+)\.([0-9a-f]{12})\.tmp")


def uri(path: ObjectStoragePath) -> str:
    protocol = path.protocol if isinstance(path.protocol, str) else path.protocol[0]
    if protocol in ("file", "local", ""):
        return f"file://{path.path}"
    return f"{protocol}://{path.path}"


class Destination:
    """
    A destination folder where files are staged under temporary names and placed atomically.

    Every temporary is ``.<final name>.<run token>.tmp`` in the same folder, so the final move is
    a rename on file systems and a server-side copy on object stores (an object appears whole).
    """

    def __init__(self, dest: str | ObjectStoragePath, conn_id: str | None, log: Any) -> None:
        if isinstance(dest, ObjectStoragePath) and conn_id is None:
            self.base = dest
        else:
            self.base = ObjectStoragePath(str(dest), conn_id=conn_id)
        self.log = log
        self.token = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._temporaries: dict[str, ObjectStoragePath] = {}
        self._placed: list[ObjectStoragePath] = []

    def path(self, name: str) -> ObjectStoragePath:
        return self.base / name

    def uri(self, name: str) -> str:
        return uri(self.path(name))

    def prepare(self, names: Iterable[str], overwrite: bool) -> None:
        """Create the folder (on file systems) and refuse existing files unless ``overwrite``."""
        protocol = self.base.protocol if isinstance(self.base.protocol, str) else self.base.protocol[0]
        if protocol in ("file", "local", ""):
            self.base.mkdir(parents=True, exist_ok=True)
        self.sweep_temporaries({*names, MANIFEST_NAME})
        if overwrite:
            return
        existing = [self.uri(name) for name in (*names, MANIFEST_NAME) if self.path(name).exists()]
        if existing:
            raise AirflowFailException(
                f"Refusing to overwrite {len(existing)} existing file(s) under {uri(self.base)} "
                f"(overwrite=False): {', '.join(existing[:5])}{' ...' if len(existing) > 5 else ''}"
            )

    def sweep_temporaries(self, names: set[str]) -> None:
        """Remove temporaries of these names left by an earlier run that was killed outright."""
        try:
            entries = list(self.base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            match = _TEMPORARY.fullmatch(entry.name)
            if match and match.group(1) in names and match.group(2) != self.token:
                self.log.info("Removing %s, a partial file left by an interrupted run", uri(entry))
                entry.unlink()

    def temporary(self, name: str) -> ObjectStoragePath:
        tmp = self.base / f".{name}.{self.token}.tmp"
        with self._lock:
            self._temporaries[name] = tmp
        return tmp

    def _move(self, src: ObjectStoragePath, dst: ObjectStoragePath) -> None:
        src.fs.mv(src.path, dst.path)

    def place(self, names: Sequence[str], overwrite: bool) -> None:
        """Move every staged file to its final name (the manifest, if any, goes first)."""
        manifest = self.path(MANIFEST_NAME)
        if overwrite and manifest.exists():
            manifest.unlink()  # no manifest = not a complete delivery, until the new one is written
        for name in names:
            tmp = self._temporaries[name]
            final = self.path(name)
            self._move(tmp, final)
            with self._lock:
                self._temporaries.pop(name, None)
                self._placed.append(final)

    def write_manifest(self, manifest: dict[str, Any]) -> str:
        tmp = self.temporary(MANIFEST_NAME)
        with tmp.open("wb") as handle:
            handle.write(json.dumps(manifest, indent=2, default=str).encode("utf-8"))
        self.place([MANIFEST_NAME], overwrite=False)
        return self.uri(MANIFEST_NAME)

    def remove_stale_parts(self, keep: set[str], suffix: str) -> None:
        """After an overwrite, remove ``part-NNNNN.<suffix>`` files of an earlier, longer run."""
        try:
            entries = list(self.base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = entry.name
            if (
                name.startswith("part-")
                and name.endswith(f".{suffix}")
                and name[5 : -len(suffix) - 1].isdigit()
                and name not in keep
            ):
                self.log.info("Removing %s, left by an earlier run (overwrite=True)", uri(entry))
                entry.unlink()

    def discard(self) -> None:
        """Remove this run's temporaries and anything it placed (after a failure)."""
        with self._lock:
            doomed = list(self._temporaries.values()) + self._placed
            self._temporaries.clear()
            self._placed = []
        for path in doomed:
            try:
                if path.exists():
                    path.unlink()
            except Exception as err:  # keep cleaning the rest
                self.log.warning("Could not remove %s: %s", uri(path), err)
