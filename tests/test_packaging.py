"""Packaging: the dependencies pyproject.toml declares are the ones the runner imports (plus the
few it needs without importing them, each with its reason), and the image installs them from
uv.lock in a layer of its own, before the code, so a code change does not reinstall them."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# Needed at run time without an import of ours.
NOT_IMPORTED = {
    "anthropic": "agno's Claude model imports it (the LLM agent)",
    "pydantic": "every generated MCP server imports it",
}
# Distributions that install their module through another one.
INSTALLED_AS = {"fastmcp-slim": "fastmcp"}
# Imported only inside the target's own environment (the probe runs there), never ours.
TARGET_ONLY = {"django", "drf_spectacular", "drf_yasg", "flask", "fastapi", "connexion"}


def imported_modules() -> set[str]:
    found: set[str] = set()
    for path in [*(REPO / "runner").rglob("*.py"), REPO / "entrypoint.py"]:
        if "probe" in path.relative_to(REPO).parts:
            continue  # standard library only, run by the target's interpreter
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "runner"}


def test_declared_dependencies_are_the_imported_ones() -> None:
    declared = {canonicalize_name(Requirement(r).name) for r in PYPROJECT["project"]["dependencies"]}
    distributions = packages_distributions()
    imported = set()
    for module in imported_modules() - TARGET_ONLY:
        assert module in distributions, f"{module} is imported but not installed"
        imported.update(INSTALLED_AS.get(name, name)
                        for name in map(canonicalize_name, distributions[module]))
    assert declared - imported == set(NOT_IMPORTED)
    assert imported - declared == set(), "imported but not declared"
