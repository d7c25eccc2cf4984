"""The package's layers import downhill only: a module may import its own layer and the ones below it, at module
level or inside a function (a function-level import of a higher layer is a hidden dependency all the same)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "common"

#: each subpackage or top-level module of ``common`` and its layer (lower numbers are lower)
LAYERS = {
    "errors": 0, "flags": 0, "distributed": 0, "tracking": 0, "bundle_root": 0,
    "io": 1, "ops": 1,
    "data": 2, "networks": 2, "metrics": 2, "phantoms": 2, "segmentation": 2, "prepare": 2,
    "losses": 3,
    "methods": 4,
    "inference": 5,
    "evaluation": 6,
    "engines": 7,
}  # fmt: skip


def _imports(path: Path) -> list[tuple[str, int]]:
    """The ``common`` subpackages or modules a file imports, with the line of each import."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "common":
                found += [(alias.name, node.lineno) for alias in node.names]
            elif node.module.startswith("common."):
                found.append((node.module.split(".")[1], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name.split(".")[1], node.lineno) for a in node.names if a.name.startswith("common.")]
    return found


def test_every_part_of_the_package_has_a_layer():
    parts = {
        p.stem for p in ROOT.iterdir() if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert parts == set(LAYERS)


def test_imports_run_downhill():
    uphill = []
    for path in ROOT.rglob("*.py"):
        part = path.relative_to(ROOT).parts[0].removesuffix(".py")
        if part == "__init__":
            continue
        for target, line in _imports(path):
            if target in LAYERS and LAYERS[target] > LAYERS[part]:
                uphill.append(f"{path.relative_to(ROOT.parent)}:{line}: {part} imports {target}")
    assert not uphill, "\n".join(uphill)


def test_the_check_sees_function_level_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from common.engines.checkpoints import x\n    import common.inference.files\n")
    assert _imports(module) == [("engines", 2), ("inference", 3)]
