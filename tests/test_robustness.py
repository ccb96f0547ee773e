"""The broken-input corpus end to end: every broken, slow or hostile repository ends with the
right exit code, the failed stage named, a one-paragraph hint, no traceback, no leftover process
and no secret in any output (see tests/corpus.py for the cases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import APP_SECRET, CASES, FOREIGN_NAMES, Case, Outcome, run_all

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(fixture_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """The whole corpus, run once, a few cases at a time."""
    workdir = tmp_path_factory.mktemp("corpus")
    return {o.case.name: o for o in run_all(fixture_python, workdir)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    stderr = outcome.stderr
    assert outcome.exit_code == case.exit_code, stderr[-3000:]
    assert "Traceback" not in stderr
    assert outcome.leftovers == []
    assert outcome.secrets_seen == []
    assert outcome.report is not None, "no report.json"
    assert outcome.failed_stage == case.stage
    if case.stage:
        # One paragraph on stderr: "error: [stage] what failed. What to do."
        (line,) = [x for x in stderr.splitlines() if x.startswith("error: [")]
        assert line.startswith(f"error: [{case.stage}] ")
        assert len(line) > 80
        for word in case.mentions:
            assert word in line, line
        assert "stage: " + case.stage in (outcome.out / "junit.xml").read_text()
    else:
        results = outcome.report["test_results"]
        assert results and all(r["calls"] for r in results)
        if case.mentions:
            reasons = " ".join(r["error"] or "" for r in results)
            for word in case.mentions:
                assert word in reasons + outcome.stdout


def test_a_hanging_endpoint_is_an_errored_testcase_not_a_hung_run(outcomes):
    outcome = outcomes["endpoint hangs"]
    results = {r["endpoint"]: r for r in outcome.report["test_results"]}
    assert results["/items"]["outcome"] == "passed"
    hung = results["/report"]
    assert hung["outcome"] == "error"
    assert [c["check"] for c in hung["checks"] if not c["passed"]] == ["response_received"]
    assert 2500 <= hung["calls"][0]["elapsed_ms"] < 6000  # the 3 s call timeout, not more


def test_the_whole_run_timeout_keeps_a_partial_report(outcomes):
    outcome = outcomes["whole-run timeout"]
    assert outcome.seconds < 30 + 15  # the limit, plus starting and stopping
    results = {r["endpoint"]: r for r in outcome.report["test_results"]}
    assert results["/items"]["outcome"] == "passed"  # measured before the limit: kept


def test_a_10_mb_body_is_capped_and_truncated(outcomes):
    outcome = outcomes["endpoint returns 10 MB"]
    calls = [json.loads(line) for line in outcome.outputs["calls.jsonl"].splitlines()]
    export = next(c for c in calls if c["path"] == "/export")
    assert export["status_code"] == 200 and export["body_truncated"] is True
    assert export["body_bytes"] > 1024 * 1024  # received past the cap, then stopped reading
    assert len(outcome.outputs["calls.jsonl"]) < 2 * 1024 * 1024  # recorded: capped at 1 MiB
    assert len(outcome.outputs["report.json"]) < 100_000
    assert len(outcome.outputs["report.md"]) < 100_000
    # Injected instructions are data: the /notes answer is judged like any other.
    notes = next(r for r in outcome.report["test_results"] if r["endpoint"] == "/notes")
    assert notes["outcome"] == "passed" and len(notes["calls"]) == 1
    assert "IGNORE ALL PREVIOUS" in notes["calls"][0]["body"]


def test_the_app_sees_no_secret_and_the_outputs_mask_the_one_it_is_given(outcomes):
    outcome = outcomes["endpoint echoes its environment"]
    (call,) = [json.loads(line) for line in outcome.outputs["calls.jsonl"].splitlines()]
    seen = call["body"]
    assert call["status_code"] == 200 and isinstance(seen, dict)
    # Never passed: not even the names of our variables reach the app (at import or serving).
    assert outcome.names_seen == []
    assert not [n for n in seen if n.startswith(("INPUT_", "ACTIONS_", "AWS_", "GOOGLE_",
                                                 "AZURE_", "ANTHROPIC", "GITHUB"))]
    assert "PATH" in seen and "HOME" in seen
    # Handed over on purpose with --app-env: the app has it, every output shows ***.
    name, value = APP_SECRET
    assert seen[name] == "***"
    for text in outcome.outputs.values():
        assert value not in text
    assert '"DB_PASSWORD": "***"' in outcome.outputs["report.json"]
    assert "environment at import" in outcome.outputs["discovery.log"]
    assert not set(FOREIGN_NAMES) & set(seen)
