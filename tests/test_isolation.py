"""The emulator is an independent second reading of the Pardot docs (issue 13).

It imports nothing from the provider (nor from Airflow), and the provider -- every module of
``airflow_provider_pardot`` outside ``emulator/``, and the example DAGs -- imports nothing from the
emulator. Checked on the sources with ``ast``: ``import x``, ``from x import y``, relative imports
at any level, ``importlib.import_module("x")`` and ``__import__("x")``, also inside functions and
``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "airflow_provider_pardot"
EMULATOR = f"{PACKAGE}.emulator"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported(source: str, module: str, is_package: bool) -> set[str]:
    """Every module ``source`` (the code of ``module``) may import, as absolute dotted names."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package):
                    raise ValueError(f"{module}: relative import beyond the top-level package")
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)
    return out


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def emulator_violations(names: set[str]) -> set[str]:
    """What the emulator may not import: the provider (outside itself) or Airflow."""
    return {n for n in names if (within(n, PACKAGE) and not within(n, EMULATOR)) or within(n, "airflow")}


def provider_violations(names: set[str]) -> set[str]:
    return {n for n in names if within(n, EMULATOR)}


def _sources(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in ROOT.glob(g))


EMULATOR_FILES = _sources(f"{PACKAGE}/emulator/**/*.py")
PROVIDER_FILES = [
    p for p in _sources(f"{PACKAGE}/**/*.py", "example_dags/**/*.py") if p not in EMULATOR_FILES
]


def _imports_of(path: Path) -> set[str]:
    return imported(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def test_the_sources_are_there():
    assert len(EMULATOR_FILES) > 5
    assert any(p.name == "pardot.py" and p.parent.name == "hooks" for p in PROVIDER_FILES)


@pytest.mark.parametrize("path", EMULATOR_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_emulator_imports_nothing_from_the_provider(path):
    assert emulator_violations(_imports_of(path)) == set()


@pytest.mark.parametrize("path", PROVIDER_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_provider_imports_nothing_from_the_emulator(path):
    assert provider_violations(_imports_of(path)) == set()


# The checker itself: each import form is caught (so a regression fails the tests above).
EMU = f"{PACKAGE}.emulator.server"  # a module of the emulator
HOOK = f"{PACKAGE}.hooks.pardot"  # a module of the provider


@pytest.mark.parametrize(
    "source",
    [
        "import airflow_provider_pardot.hooks.pardot",
        "from airflow_provider_pardot.hooks import pardot",
        "from airflow_provider_pardot import hooks",
        "from .. import hooks",
        "from ..hooks.pardot import PardotHook",
        "from ...airflow_provider_pardot import x",
        "import airflow.models",
        "from airflow.sdk import BaseHook",
        "def f():\n    from ..exceptions import PardotError",
        "if TYPE_CHECKING:\n    from ..hooks import pardot",
        "import importlib\nimportlib.import_module('airflow_provider_pardot.hooks')",
        "__import__('airflow_provider_pardot')",
    ],
)
def test_checker_catches_the_emulator_importing_the_provider(source):
    try:
        names = imported(source, EMU, is_package=False)
    except ValueError:
        return  # a relative import past the top is refused outright
    assert emulator_violations(names)


@pytest.mark.parametrize(
    "source",
    [
        "import airflow_provider_pardot.emulator",
        "import airflow_provider_pardot.emulator.server as s",
        "from airflow_provider_pardot.emulator import EmulatorServer",
        "from airflow_provider_pardot import emulator",
        "from ..emulator import EmulatorServer",
        "from .. import emulator",
        "from ..emulator.store import Store",
        "def f():\n    from ..emulator import server",
        "from importlib import import_module\nimport_module('airflow_provider_pardot.emulator')",
    ],
)
def test_checker_catches_the_provider_importing_the_emulator(source):
    assert provider_violations(imported(source, HOOK, is_package=False))


@pytest.mark.parametrize(
    ("source", "module", "is_package"),
    [
        ("from . import routes\nfrom .store import Store", EMU, False),
        ("from .server import EmulatorServer", f"{PACKAGE}.emulator", True),
        ("import json, urllib.parse", EMU, False),
    ],
)
def test_checker_lets_the_emulator_import_itself(source, module, is_package):
    assert emulator_violations(imported(source, module, is_package)) == set()


def test_checker_lets_the_provider_import_itself():
    names = imported("from ..exceptions import PardotError\nfrom . import utils", HOOK, is_package=False)
    assert names >= {f"{PACKAGE}.exceptions", f"{PACKAGE}.hooks.utils"}
    assert provider_violations(names) == set()
