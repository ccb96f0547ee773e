"""JUnit XML as viewers read it: the example's file checked in exactly (rendered from the
report.json of a real run of examples/todo-api, so every change shows as a reviewable diff), each
testcase's status against the base, and a failed stage as an errored testcase."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from runner.models import ApiChange, Baseline, Endpoint, EndpointResult, RunReport
from runner.report import junit, merge

EXAMPLE = Path(__file__).parent / "golden" / "todo-api"


def test_golden_example_junit() -> None:
    """Same bytes as the junit-xml writer gave for this report; UPDATE_GOLDEN=1 rewrites."""
    text = junit.render(merge.read(EXAMPLE / "report.json"))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        (EXAMPLE / "junit.xml").write_text(text, encoding="utf-8")
    assert text == (EXAMPLE / "junit.xml").read_text(encoding="utf-8")


def test_counts_outcomes_and_the_status_against_the_base() -> None:
    results = [EndpointResult(Endpoint("GET", "/a", "a"), "a", "failed", reason="boom",
                              baseline="new failure"),
               EndpointResult(Endpoint("GET", "/b", "b"), "b", "passed", baseline="fixed"),
               EndpointResult(Endpoint("GET", "/c", "c"), "c", "skipped", reason="needs auth"),
               EndpointResult(Endpoint("GET", "/d", "d"), "d", "error", reason="timeout")]
    report = RunReport(status="completed", repo_info=None, spec=None, results=results,
                       baseline=Baseline(source="run", ref="main"),
                       api_changes=[ApiChange(operation="GET /x", change="operation-removed",
                                              detail="", breaking=True)])
    root = ET.fromstring(junit.render(report).encode())
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "4", "failures": "1", "errors": "1", "skipped": "1"}
    assert root.get("tests") == "4" and root.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["GET /a"].find("failure").get("message") == "boom"  # type: ignore[union-attr]
    assert cases["GET /d"].find("error") is not None
    assert cases["GET /c"].find("skipped").get("message") == "needs auth"  # type: ignore[union-attr]
    assert cases["GET /b"].find("failure") is None
    status = {name: [p.get("value") for p in case.iter("property")]
              for name, case in cases.items()}
    assert status == {"GET /a": ["new failure"], "GET /b": ["fixed"], "GET /c": [], "GET /d": []}
    suite_properties = {p.get("name"): p.get("value")
                        for p in suite.find("properties").iter("property")}  # type: ignore[union-attr]
    assert suite_properties["baseline"] == "main"
    assert suite_properties["api_breaking_changes"] == "1"


def test_a_failed_stage_is_an_errored_testcase_and_controls_are_dropped() -> None:
    report = RunReport(status="failed", repo_info=None, spec=None, failed_stage="install",
                       error="pip failed\x00 on line\x1b[31m 3", error_detail="detail\x07")
    root = ET.fromstring(junit.render(report).encode())  # parses: no illegal character left
    (case,) = root.iter("testcase")
    assert case.get("name") == "stage: install"
    error = case.find("error")
    assert error is not None and error.get("type") == "install"
    assert "pip failed" in (error.get("message") or "") and "\x00" not in (error.text or "")
