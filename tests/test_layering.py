"""The import layering: nn (pure torch) -> RLlib glue -> config -> scripts, no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rllib_shared"

# Files of the base layer: no Ray, and only other base-layer files of ours.
BASE = {"errors", "nn"}
# The RLlib glue may not reach up into config or the user-facing helpers.
UPPER = {"config", "inference", "evaluation", "progress", "plotting"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


FILES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_layering(path):
    module = module_name(path)
    ours = {i for i in imports_of(path) if i.startswith("rllib_shared")}
    if layer(module) in BASE:
        assert not any(i == "ray" or i.startswith("ray.") for i in imports_of(path)), module
        assert all(layer(i) in BASE for i in ours), (module, ours)
    elif layer(module) in {"team", "envs", "modules", "connectors", "policy_mapping", "algorithms"}:
        assert not any(layer(i) in UPPER for i in ours), (module, ours)


def with_packages(importer: str, imported: str) -> set[str]:
    """What importing ``imported`` runs: the module and its packages' ``__init__``s,
    but not the packages ``importer`` is already inside (nor ``rllib_shared`` itself)."""
    parts = imported.split(".")
    runs = {".".join(parts[:k]) for k in range(2, len(parts) + 1)}
    return {m for m in runs if not (importer == m or importer.startswith(m + "."))} | {imported}


def test_no_import_cycles():
    graph = {
        module_name(p): set().union(*(with_packages(module_name(p), i) for i in imports_of(p)
                                      if i.startswith("rllib_shared.")))
        for p in FILES
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]):
        if state.get(node) == 1:
            raise AssertionError("import cycle: " + " -> ".join([*trail, node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in graph.get(node, ()):
            visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        visit(node, [])
