"""The packages depend one way: pipelines/ on crawler/, never crawler/ (or
settings/) on pipelines/, so that listing or loading a spider loads no
extraction code and crawler/ can be read without the stages."""

from __future__ import annotations

import ast

import pytest

from tests.helpers import REPO


def imported_modules(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted([*(REPO / "crawler").rglob("*.py"), *(REPO / "settings").rglob("*.py")]), ids=lambda p: str(p.relative_to(REPO)))
def test_crawler_and_settings_import_nothing_from_pipelines(path):
    assert not {m for m in imported_modules(path) if m == "pipelines" or m.startswith("pipelines.")}
