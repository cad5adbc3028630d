"""The packages keep the pipeline's layering: data flows ingest -> streams -> alerts over schemas."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("schemas", "ingest", "streams", "alerts", "wirewatch")
ALLOWED = {
    "schemas": set(),
    "ingest": {"schemas"},
    "streams": {"schemas"},
    "alerts": {"schemas"},
    "wirewatch": {"schemas", "ingest", "streams", "alerts"},
}


def _project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_the_layers_below_it(package: str) -> None:
    """No module imports a package at its own level or above (besides its own package)."""
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _project_imports(path) - {package} - ALLOWED[package]
    }
    assert not wrong, sorted(wrong)
