"""End-to-end per API style: the CLI discovers, serves and exercises each fixture app.

The expected operations are written out by hand from each fixture's routes (not taken from our
own discovery) in tests/fixtures/apis.toml, so a route discovery misses or invents shows up here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import (
    FIXTURE_APIS,
    FIXTURES,
    FixtureApi,
    processes_mentioning,
    results_by_key,
    run_cli,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("style", list(FIXTURE_APIS.values()), ids=list(FIXTURE_APIS))
def test_each_style_end_to_end(style: FixtureApi, tmp_path: Path, fixture_python: Path) -> None:
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
    by_key = results_by_key(result)
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
