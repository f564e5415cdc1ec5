"""The simulator's layout is its architecture: who may import whom, checked on the source.

    adapters ──► engine ◄── wire          (wire formats register with the engine)
                   │          │
                   ▼          ▼
             physics, model ◄─┘           (below both; they import neither)
"""

from __future__ import annotations

import ast
from pathlib import Path

import llmlab.sim

SIM = Path(llmlab.sim.__file__).parent
# (importer's layer) -> layers it must never import
FORBIDDEN = {
    "physics": {"wire", "adapters", "_engine"},
    "model": {"wire", "adapters", "_engine"},
    "quality": {"wire", "adapters", "_engine", "physics"},
    "_engine": {"wire", "adapters"},
    "wire": {"adapters"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(SIM)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["llmlab", "sim"] and len(parts) > 2:
                layers.add(parts[2])
    return layers


def test_every_module_lives_in_a_layer() -> None:
    top = {p.stem for p in SIM.glob("*.py")}
    # quality: public metrics a notebook measures replies with (lab 01), not part of the engine
    assert top == {"__init__", "__main__", "_engine", "_exchange", "_summary", "quality", "testing"}
    for layer in ("wire", "adapters", "physics", "model"):
        assert (SIM / layer / "__init__.py").exists(), layer


def test_no_layer_imports_upwards() -> None:
    clashes = []
    for path in sorted(SIM.rglob("*.py")):
        layer = _layer(path)
        for imported in _imported_layers(path) & FORBIDDEN.get(layer, set()):
            clashes.append(f"{path.relative_to(SIM)} ({layer}) imports {imported}")
    assert not clashes, "\n".join(clashes)
