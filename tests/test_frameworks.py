"""End-to-end per API style: the CLI discovers, serves and exercises each fixture app.

The expected operations are written out by hand from each fixture's routes (not taken from our
own discovery), so a route discovery misses or invents shows up here.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, processes_mentioning, run_cli

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Style:
    fixture: str
    framework: str
    spec_source: str
    operations: frozenset[str]
    sqlite_file: str | None = None  # the project's own database file (must stay untouched)
    warned: frozenset[str] = field(default_factory=frozenset)  # documented 4xx to a guess


def ops(*keys: str) -> frozenset[str]:
    return frozenset(keys)


STYLES = [
    Style("fastapi_factory", "fastapi", "native",
          ops("GET /notes", "POST /notes", "GET /notes/{note_id}", "DELETE /notes/{note_id}")),
    Style("fastapi_src_layout", "fastapi", "native",
          ops("GET /items", "POST /items", "GET /items/{name}", "PUT /items/{name}/stock",
              "DELETE /items/{name}")),
    Style("flask_basic", "flask", "synthesized",
          ops("GET /books", "POST /books", "GET /books/{book_id}", "PUT /books/{book_id}",
              "DELETE /books/{book_id}", "GET /books/search"),
          warned=ops("GET /books/search")),  # needs ?q=, which no spec documents
    Style("flask_restx", "flask", "native",
          ops("GET /tasks/", "POST /tasks/", "GET /tasks/{task_id}", "PUT /tasks/{task_id}",
              "DELETE /tasks/{task_id}")),
    Style("flask_smorest", "flask", "native",
          ops("GET /pets/", "POST /pets/", "GET /pets/{pet_id}", "PUT /pets/{pet_id}",
              "DELETE /pets/{pet_id}")),
    Style("apiflask_basic", "flask", "native",
          ops("GET /movies", "POST /movies", "GET /movies/{movie_id}", "PATCH /movies/{movie_id}",
              "DELETE /movies/{movie_id}")),
    # The spec file's `servers: [{url: /api/v1}]` is where Connexion mounts the operations.
    Style("connexion_spec", "connexion", "file",
          ops("GET /api/v1/orders", "POST /api/v1/orders", "GET /api/v1/orders/{order_id}",
              "PUT /api/v1/orders/{order_id}", "DELETE /api/v1/orders/{order_id}")),
    Style("django_drf", "django", "native",
          ops("GET /health/", "GET /api/books/", "POST /api/books/", "GET /api/books/{id}/",
              "PUT /api/books/{id}/", "PATCH /api/books/{id}/", "DELETE /api/books/{id}/"),
          sqlite_file="db.sqlite3"),
    # drf-yasg writes Swagger 2.0 with the common prefix /api as basePath.
    Style("django_yasg", "django", "native",
          ops("GET /api/parts/", "POST /api/parts/", "GET /api/parts/{id}/", "PUT /api/parts/{id}/",
              "PATCH /api/parts/{id}/", "DELETE /api/parts/{id}/", "GET /api/stock/{part_id}/"),
          sqlite_file="parts.sqlite3"),
    Style("django_plain", "django", "synthesized",
          ops("GET /notes/", "POST /notes/", "GET /notes/{note_id}/", "PUT /notes/{note_id}/",
              "DELETE /notes/{note_id}/", "GET /health/"),
          sqlite_file="notes.sqlite3"),
    Style("django_ninja", "django", "native",
          ops("GET /api/events", "POST /api/events", "GET /api/events/{event_id}",
              "PUT /api/events/{event_id}", "DELETE /api/events/{event_id}")),
    Style("starlette_basic", "starlette", "synthesized",
          ops("GET /items", "POST /items", "GET /v1/items/{item_id}", "PUT /v1/items/{item_id}",
              "DELETE /v1/items/{item_id}")),
    Style("litestar_basic", "litestar", "native",
          ops("GET /items", "POST /items", "GET /items/{item_id}", "PUT /items/{item_id}",
              "DELETE /items/{item_id}")),
]


@pytest.mark.parametrize("style", STYLES, ids=[s.fixture for s in STYLES])
def test_each_style_end_to_end(style: Style, tmp_path: Path, fixture_python: Path) -> None:
    app = tmp_path / style.fixture
    shutil.copytree(FIXTURES / style.fixture, app, ignore=shutil.ignore_patterns("__pycache__"))
    sentinel = b"the user's own database: never opened by the runner"
    if style.sqlite_file:
        (app / style.sqlite_file).write_bytes(sentinel)
    out = tmp_path / "out"

    proc = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir", str(out),
                   timeout=120)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((out / "report.json").read_text())
    info = result["api_info"]
    assert (info["framework"], info["spec_source"]) == (style.framework, style.spec_source)
    assert info["operations"] == len(style.operations)
    by_key = {f"{r['method']} {r['endpoint']}": r for r in result["test_results"]}
    assert set(by_key) == style.operations
    for key, tested in by_key.items():
        # Every endpoint was reached through its MCP tool and answered.
        assert tested["outcome"] == "passed", (key, tested["error"])
        assert tested["calls"] and all(c["status_code"] for c in tested["calls"]), key
        assert bool(tested["warnings"]) == (key in style.warned), (key, tested["warnings"])
    # Smoke: each operation's own call, plus the state/meaning probes (read after create, ...);
    # none of the comprehensive suite's input probes.
    intents = {c["intent"] for r in result["test_results"] for c in r["calls"]}
    assert ("guess" if style.spec_source == "synthesized" else "valid") in intents
    assert not intents & {"invalid", "not_found", "boundary", "explore"}, intents
    markdown = (out / "report.md").read_text()
    assert f"{style.framework} ({style.spec_source} spec)" in markdown
    assert ("response schemas are unknown" in markdown) == (style.spec_source == "synthesized")
    if style.sqlite_file:
        assert (app / style.sqlite_file).read_bytes() == sentinel
        assert "Applying" in (out / "app.log").read_text()  # migrated the throwaway copy
    assert processes_mentioning(str(tmp_path)) == []


def test_an_app_whose_import_fails_names_the_module_and_the_error(tmp_path: Path,
                                                                  fixture_python: Path) -> None:
    app = tmp_path / "broken_import"
    shutil.copytree(FIXTURES / "broken_import", app)
    proc = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir",
                   str(tmp_path / "out"), timeout=60)
    assert proc.returncode == 3
    error = next(line for line in proc.stderr.splitlines() if line.startswith("error:"))
    assert "found main:app" in error and "importing it failed" in error
    assert "ModuleNotFoundError: No module named 'definitely_not_installed_module'" in error
    assert "main.py:5" in error
    assert "Traceback" not in proc.stderr
    assert processes_mentioning(str(tmp_path)) == []


def test_a_failing_migration_stops_before_serving(tmp_path: Path, fixture_python: Path) -> None:
    app = tmp_path / "django_plain"
    shutil.copytree(FIXTURES / "django_plain", app, ignore=shutil.ignore_patterns("__pycache__"))
    migration = app / "notes" / "migrations" / "0002_broken.py"
    migration.write_text(
        "from django.db import migrations\n\n\n"
        "def fail(apps, schema_editor):\n"
        "    raise RuntimeError('the data migration needs a value')\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('notes', '0001_initial')]\n"
        "    operations = [migrations.RunPython(fail)]\n"
    )
    proc = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir",
                   str(tmp_path / "out"), timeout=60)
    assert proc.returncode == 3
    assert "Django migrations failed" in proc.stderr
    assert "RuntimeError: the data migration needs a value" in proc.stderr
    assert processes_mentioning(str(tmp_path)) == []
