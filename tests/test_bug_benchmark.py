"""The bug benchmark's scoring (fast) and one of its apps still meaningful (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bug_benchmark as bench

MANIFEST = {
    "apps": {"shop": {"correct": ["GET /health", "POST /orders"]}},
    "bugs": [
        {"id": "b-500", "app": "shop", "kind": "server_error", "operations": ["POST /items"]},
        {"id": "b-uaf", "app": "shop", "kind": "use_after_free",
         "operations": ["DELETE /items/{id}", "GET /items/{id}"]},
        {"id": "other-app", "app": "zoo", "kind": "server_error", "operations": ["POST /items"]},
    ],
}


def test_a_bug_is_found_only_by_a_failure_of_its_kind_on_its_operations():
    failures = [
        bench.Failure("POST /items", "not_a_server_error", "server_error"),
        bench.Failure("GET /items/{id}", "status_code_conformance", None),
        bench.Failure("DELETE /items", "use_after_free", "use_after_free"),  # not its operation
    ]
    s = bench.score("shop", failures, MANIFEST)
    assert s.found == ["b-500"]
    assert s.missed == ["b-uaf"]
    assert [f.check for f in s.other] == ["status_code_conformance", "use_after_free"]
    assert s.false_alarms == []


def test_any_failure_on_a_correct_operation_is_a_false_alarm_counted_once():
    alarm = bench.Failure("POST /orders", "positive_data_acceptance", None)
    s = bench.score("shop", [alarm, alarm, bench.Failure("GET /items/{id}", "use_after_free",
                                                           "use_after_free")], MANIFEST)
    assert s.false_alarms == [alarm]
    assert s.found == ["b-uaf"]
    assert s.other == []


def test_both_reports_are_read_into_failures_by_operation():
    amt = {"test_results": [{"method": "GET", "endpoint": "/report", "checks": [
        {"check": "not_a_server_error", "passed": False},
        {"check": "response_received", "passed": True}]}]}
    st = [{"Initialize": {}}, {"ScenarioFinished": {"recorder": {
        "label": "Stateful tests",
        "cases": {"a": {"value": {"method": "GET", "path": "/admin"}},
                  "b": {"value": {"method": "OPTIONS", "path": "/x"}}},
        "checks": {"a": [{"name": "ignored_auth", "status": "failure"},
                         {"name": "not_a_server_error", "status": "success"}],
                   "b": [{"name": "allow_header_conformance", "status": "failure"}]}}}}]
    assert bench.amt_failures(amt) == [bench.Failure("GET /report", "not_a_server_error",
                                                     "server_error")]
    assert [(f.operation, f.kind) for f in bench.st_failures(st)] == [
        ("GET /admin", "ignored_auth"), ("OPTIONS /x", None)]


def test_the_corpus_is_as_large_as_issue_15_asks():
    manifest = bench.load_manifest()
    kinds = {b["kind"] for b in manifest["bugs"]}
    assert len(manifest["bugs"]) >= 25
    assert sum(len(a["correct"]) for a in manifest["apps"].values()) >= 15
    assert kinds >= set(bench.KINDS.values())
    # two bugs with the same operation and kind could not be told apart by the scoring
    keys = [(op, b["kind"]) for b in manifest["bugs"] for op in b["operations"]]
    assert len(keys) == len(set(keys))
    for bug in manifest["bugs"]:
        assert not set(bug["operations"]) & set(manifest["apps"][bug["app"]]["correct"]), bug


@pytest.mark.slow
def test_smoke_finds_a_planted_bug_of_one_app_and_no_false_alarm(fixture_python, tmp_path):
    app = "smorest_library"
    subprocess.run([sys.executable, "-m", "runner.cli", "test", str(bench.BUGS / app),
                    "--python", str(fixture_python), "--agent", "deterministic",
                    "--suite", "smoke", "--output-dir", str(tmp_path), "-q"],
                   cwd=REPO, check=False, timeout=900, capture_output=True)
    report = json.loads((tmp_path / "report.json").read_text())
    s = bench.score(app, bench.amt_failures(report), bench.load_manifest())
    assert s.found, s
    assert s.false_alarms == [], s
