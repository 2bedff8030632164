"""Every function of the provider (outside the emulator) reads at once: at most 60 lines.

``get_provider_info`` is the exception: it is one literal, the provider's metadata, that Airflow
reads whole. Measured with ``ast``: from the ``def`` line (decorators aside) to the last line of
the body, docstring included.
"""

from __future__ import annotations

import ast

import pytest
from test_isolation import PACKAGE, ROOT

MAX_LINES = 60
EXEMPT = {"get_provider_info.py:get_provider_info"}


def function_lengths() -> dict[str, int]:
    """``"<path>:<qualified name>" -> lines`` for every function of the provider outside the emulator."""
    out: dict[str, int] = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        relative = path.relative_to(ROOT / PACKAGE)
        if relative.parts[0] == "emulator":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        _walk(tree, str(relative), "", out)
    return out


def _walk(node: ast.AST, path: str, prefix: str, out: dict[str, int]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{child.name}"
            out[f"{path}:{name}"] = (child.end_lineno or child.lineno) - child.lineno + 1
            _walk(child, path, f"{name}.", out)
        elif isinstance(child, ast.ClassDef):
            _walk(child, path, f"{prefix}{child.name}.", out)
        else:
            _walk(child, path, prefix, out)


def test_functions_are_short():
    lengths = function_lengths()
    assert len(lengths) > 100
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in EXEMPT}
    assert long == {}


@pytest.mark.parametrize(("lines", "long"), [(60, False), (61, True)])
def test_the_measure_counts_every_line(tmp_path, lines, long):
    body = "\n".join(f"    x{i} = {i}" for i in range(lines - 1))
    tree = ast.parse(f"def f():\n{body}\n")
    out: dict[str, int] = {}
    _walk(tree, "m.py", "", out)
    assert out == {"m.py:f": lines}
    assert (out["m.py:f"] > MAX_LINES) is long


if __name__ == "__main__":
    for name, n in sorted(function_lengths().items(), key=lambda kv: -kv[1])[:15]:
        print(f"{n:4d}  {name}")
