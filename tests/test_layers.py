"""The package's imports go one way: a module may import only from its own layer or below.

Every import is read from the source (module level, inside functions and under
``TYPE_CHECKING`` alike), so a lazy import cannot hide a dependency that runs the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exsyfit"

#: Layers from the bottom up.  ``processing`` holds pure array transforms that the raw-data
#: readers in ``io`` call, so it sits below ``io``; everything else follows the data flow.
LAYERS = ("core", "processing", "io", "integrate", "kinetics", "fit", "output", "simulate", "app")
#: Top-level modules that are not the application layer.
CORE_MODULES = {"errors", "files", "settings"}
MAX_LINES = 800


def _layer(module: str) -> str:
    """Layer of a dotted module name inside the package ('exsyfit.fit.likelihood' -> 'fit')."""
    parts = module.split(".")
    if len(parts) == 1:
        return "app"
    head = parts[1]
    if head in LAYERS:
        return head
    return "core" if head in CORE_MODULES else "app"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # "from exsyfit import simulate" (or config, cli, ...) imports that module; a
            # dunder such as __version__ is the package itself
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names
                      if target == "exsyfit" and not a.name.startswith("__")]
    return [(line, name) for line, name in found if name.split(".")[0] == "exsyfit"]


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_imports_go_one_way(module: str, path: Path) -> None:
    own = LAYERS.index(_layer(module))
    wrong = [f"line {line}: {name} ({_layer(name)})" for line, name in _imports(module, path)
             if name != "exsyfit" and LAYERS.index(_layer(name)) > own]
    assert not wrong, f"{module} ({_layer(module)}) imports from a higher layer: {wrong}"


def test_the_layer_rule_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "likelihood.py"
    bad.write_text("def f():\n    from exsyfit.output.figures import plot_arrhenius\n"
                   "from exsyfit import config\nfrom .. import cli\n")
    names = [name for _, name in _imports("exsyfit.fit.likelihood", bad)]
    assert set(names) == {"exsyfit.output.figures", "exsyfit", "exsyfit.config", "exsyfit.cli"}
    assert all(LAYERS.index(_layer(n)) > LAYERS.index("fit") for n in names if n != "exsyfit")


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_no_module_is_too_long(module: str, path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines (at most {MAX_LINES})"


def test_every_public_name_resolves() -> None:
    import exsyfit

    missing = [name for name in exsyfit.__all__ if not hasattr(exsyfit, name)]
    assert not missing, f"exsyfit.__all__ names that do not resolve: {missing}"
    assert callable(exsyfit.plot_arrhenius) and callable(exsyfit.integrate_series)
