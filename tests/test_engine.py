"""The deterministic engine end to end on an app with planted bugs of each class: every bug is
found, and the correct operations (CRUD, paging, filters, a documented 409) raise no alarm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, run_cli
from tests.test_cli import copy_app

pytestmark = pytest.mark.slow

CORRECT = ["/health", "/tags", "/books", "/books/{book_id}", "/books/{book_id}/loan"]


def run(tmp_path: Path, fixture_python: Path, suite: str) -> dict[str, dict[str, set[str]]]:
    app = copy_app(FIXTURES / "fastapi_planted", tmp_path)
    out = tmp_path / f"out-{suite}"
    proc = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir", str(out),
                   "--suite", suite, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    found: dict[str, dict[str, set[str]]] = {}
    for r in report["test_results"]:
        failed = {c["check"] for c in r["checks"] if not c["passed"]}
        found.setdefault(r["endpoint"], {})[r["method"]] = failed
    return found


def test_smoke_finds_state_meaning_and_empty_state_bugs(tmp_path, fixture_python):
    found = run(tmp_path, fixture_python, "smoke")
    assert "not_a_server_error" in found["/items/report"]["GET"]  # masked once data exists
    # The 5xx names the app's own exception and frame, from its log, in every report.
    report = json.loads((tmp_path / "out-smoke" / "report.json").read_text())
    (stats,) = [r for r in report["test_results"] if r["endpoint"] == "/items/report"]
    assert "the app raised ZeroDivisionError: division by zero (main.py:" in stats["error"]
    assert "sum(prices) / len(prices)" in (tmp_path / "out-smoke" / "report.md").read_text()
    assert "ZeroDivisionError" in (tmp_path / "out-smoke" / "junit.xml").read_text()
    assert {"paging_respected", "filter_respected"} <= found["/items"]["GET"]
    assert "use_after_free" in found["/items/{item_id}"]["GET"]
    assert {"ensure_resource_availability", "update_persisted"} <= found["/tags/{tag_id}"]["GET"]
    for path in CORRECT:
        assert all(not failed for failed in found[path].values()), (path, found[path])


def test_comprehensive_also_finds_the_non_ascii_crash_and_accepted_invalid_input(tmp_path, fixture_python):
    found = run(tmp_path, fixture_python, "comprehensive")
    assert "not_a_server_error" in found["/items"]["POST"]
    assert "negative_data_rejection" in found["/feedback"]["POST"]
    for path in CORRECT:
        assert all(not failed for failed in found[path].values()), (path, found[path])


def test_an_operation_that_ignores_its_security_is_found_with_the_runs_own_user(
        tmp_path, fixture_python):
    app = copy_app(FIXTURES / "fastapi_planted_auth", tmp_path)
    out = tmp_path / "out"
    proc = run_cli("test", str(app), "--python", str(fixture_python), "--output-dir", str(out),
                   timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((out / "report.json").read_text())
    results = {(r["method"], r["endpoint"]): r for r in report["test_results"]}
    stats = results[("GET", "/notes/stats")]
    assert stats["outcome"] == "failed" and "ignored_auth" in stats["error"]
    for key in (("GET", "/notes"), ("POST", "/notes")):
        refused = [c for c in results[key]["calls"] if c["intent"] == "no_auth"]
        assert refused and all(c["status_code"] == 401 for c in refused), results[key]
        assert results[key]["outcome"] == "passed"
    # Object-level authorization with a second throwaway user (open sign-up): the note is
    # kept per user (the second user's list leaves it out), so reading it must be refused.
    note = results[("GET", "/notes/{note_id}")]
    assert note["outcome"] == "failed" and "object_level_authorization" in note["error"], note
    assert any(c["intent"] == "second_user" for c in results[("GET", "/notes")]["calls"])
    refused = [c for c in results[("DELETE", "/notes/{note_id}")]["calls"]
               if c["intent"] == "other_user"]
    assert refused and all(c["status_code"] == 404 for c in refused)
    assert results[("DELETE", "/notes/{note_id}")]["outcome"] == "passed"
    # Boards are shared by design (the second user's list shows the first user's board).
    board = results[("GET", "/boards/{board_id}")]
    assert board["outcome"] == "passed"
    assert not [c for c in board["calls"] if c["intent"] == "other_user"]
