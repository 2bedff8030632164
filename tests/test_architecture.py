"""The provider's rooms and the one direction of their imports (docs/architecture.md).

Public modules (hooks, operators, sensors, triggers, transfers, links) stand on four internal
rooms: ``lineage`` -> ``files`` / ``api`` -> ``client`` -> ``exceptions``. Checked on the sources
with ``ast`` (every import form :func:`test_isolation.imported` knows, inside functions too):

- a room never imports a public module;
- ``client`` imports none of ``api``, ``files``, ``lineage``; ``api`` neither ``files`` nor
  ``lineage``; ``files`` neither ``api``, ``client`` nor ``lineage``;
- the provider's modules import each other without a cycle, function-level imports included;
  only imports under ``if TYPE_CHECKING:`` (never run) are left out of that graph.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import pytest
from test_isolation import PACKAGE, ROOT, imported, module_name, within

if TYPE_CHECKING:
    from pathlib import Path

PUBLIC = tuple(
    f"{PACKAGE}.{name}"
    for name in ("hooks", "operators", "sensors", "triggers", "transfers", "links", "get_provider_info")
)
ROOMS = ("client", "api", "files", "lineage")
#: What each room may not import, besides the public modules.
FORBIDDEN = {
    "client": ("api", "files", "lineage"),
    "api": ("files", "lineage"),
    "files": ("api", "client", "lineage"),
    "lineage": (),
}

SOURCES = sorted(p for p in (ROOT / PACKAGE).rglob("*.py") if "emulator" not in p.relative_to(ROOT).parts)
MODULES = {module_name(p): p for p in SOURCES}


def room_of(module: str) -> str | None:
    for room in ROOMS:
        if within(module, f"{PACKAGE}.{room}"):
            return room
    return None


def violations(module: str, names: set[str]) -> set[str]:
    """The imports ``names`` of ``module`` that point the wrong way."""
    room = room_of(module)
    if room is None:
        return set()
    banned = PUBLIC + tuple(f"{PACKAGE}.{other}" for other in FORBIDDEN[room])
    return {n for n in names if any(within(n, b) for b in banned)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_source(source: str) -> str:
    """``source`` without the bodies of its ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            node.body = [ast.Pass()]
    return ast.unparse(tree)


def _imports(path: Path, *, runtime: bool = False) -> set[str]:
    source = path.read_text(encoding="utf-8")
    if runtime:
        source = runtime_source(source)
    return imported(source, module_name(path), path.name == "__init__.py")


def graph() -> dict[str, set[str]]:
    """Module -> the provider modules it imports when run (``from pkg import mod`` names ``pkg.mod``)."""
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name in _imports(path, runtime=True):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and name != PACKAGE:
                targets.add(name)
        edges[module] = targets
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``edges`` as a list of nodes (first repeated at the end), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_every_room_is_there():
    assert {room_of(m) for m in MODULES} >= set(ROOMS)
    assert not (ROOT / PACKAGE / "utils").exists()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if room_of(m)))
def test_a_room_imports_only_downwards(module):
    assert violations(module, _imports(MODULES[module])) == set()


def test_no_import_cycle_between_provider_modules():
    assert find_cycle(graph()) is None


# The checker itself.
@pytest.mark.parametrize(
    ("module", "source"),
    [
        (f"{PACKAGE}.lineage.openlineage", "from airflow_provider_pardot.operators.export import X"),
        (f"{PACKAGE}.api.v5", "def f():\n    from ..hooks.pardot import PardotHook"),
        (f"{PACKAGE}.client.pipeline", "from airflow_provider_pardot.api import v5"),
        (f"{PACKAGE}.client.pipeline", "if TYPE_CHECKING:\n    from ..files.storage import Destination"),
        (f"{PACKAGE}.files.storage", "from airflow_provider_pardot.client.form import parse_bool"),
        (f"{PACKAGE}.files.parquet", "from .. import api"),
        (f"{PACKAGE}.api.exports", "from airflow_provider_pardot.lineage import openlineage"),
        (f"{PACKAGE}.client.errors", "from airflow_provider_pardot.get_provider_info import X"),
    ],
)
def test_checker_catches_an_upward_import(module, source):
    assert violations(module, imported(source, module, is_package=False))


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (f"{PACKAGE}.lineage.openlineage", "from airflow_provider_pardot.files.streams import split_header"),
        (f"{PACKAGE}.api.v5", "from airflow_provider_pardot.client.form import parse_bool"),
        (f"{PACKAGE}.client.pipeline", "from airflow_provider_pardot.exceptions import PardotApiError"),
        (f"{PACKAGE}.hooks.pardot", "from airflow_provider_pardot.lineage import openlineage"),
    ],
)
def test_checker_lets_imports_run_down(module, source):
    assert violations(module, imported(source, module, is_package=False)) == set()


def test_cycle_finder():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_type_checking_imports_are_not_edges():
    source = "if TYPE_CHECKING:\n    import x\nelse:\n    import y\ndef f():\n    import z\n"
    names = imported(runtime_source(source), f"{PACKAGE}.hooks.pardot", is_package=False)
    assert names == {"y", "z"}
