"""Packaging: the dependencies pyproject.toml declares are the ones the runner imports (plus the
few it needs without importing them, each with its reason), and the image installs them from
uv.lock in a layer of its own, before the code, so a code change does not reinstall them."""

from __future__ import annotations

import ast
import re
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


def test_the_image_installs_the_locked_dependencies_before_the_code() -> None:
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    assert (REPO / "uv.lock").is_file()
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    locked = {canonicalize_name(p["name"]) for p in lock["package"]}
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert canonicalize_name(Requirement(requirement).name) in locked, requirement
    copy_lock = next(i for i, line in enumerate(lines)
                     if line.startswith("COPY") and "uv.lock" in line)
    copy_code = next(i for i, line in enumerate(lines)
                     if line.startswith("COPY") and re.search(r"\brunner\b", line))
    sync_deps = next(i for i, line in enumerate(lines)
                     if "uv sync" in line and "--no-install-project" in line)
    assert copy_lock < sync_deps < copy_code
    assert all("--frozen" in line for line in lines if "uv sync" in line)


def test_the_image_bootstraps_the_locked_uv() -> None:
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    (uv,) = [p["version"] for p in lock["package"] if p["name"] == "uv"]
    assert f'pip install --no-cache-dir "uv=={uv}"' in (REPO / "Dockerfile").read_text()
