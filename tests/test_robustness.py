"""The hostile corpus end to end: every broken, slow or hostile repository ends with the right
exit code, the failed stage named, a one-paragraph hint, no traceback, within its time limit, no
leftover process, no secret in any output in any encoding, and (as the action) no forged comment
and no foreign comment edited (see tests/corpus.py for the harness and the cases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus import (
    APP_SECRET,
    FOREIGN_NAMES,
    SECRET_VALUES,
    Case,
    Outcome,
    all_cases,
    run_all,
    sandbox_available,
    secret_forms,
    secrets_in,
)

CASES = all_cases()


def test_a_secret_is_seen_in_any_encoding() -> None:
    import base64
    from urllib.parse import quote

    value = SECRET_VALUES[0]
    for prefix in ("", "x", "xy"):  # each base64 alignment
        encoded = base64.b64encode((prefix + value + "tail").encode()).decode()
        assert secrets_in({"report": f"body: {encoded}"}), prefix
        assert secrets_in({"report": base64.urlsafe_b64encode((prefix + value).encode()).decode()})
    assert secrets_in({"log": value.encode().hex().upper()})
    assert secrets_in({"log": quote(SECRET_VALUES[5], safe="")})  # the AWS key has / and +
    assert secrets_in({"log": value[:7] + "\n  " + value[7:]})  # split across lines
    assert secrets_in({"comment": value})[0].endswith("in comment")
    assert not secrets_in({"report": "***", "log": "nothing secret here " * 100})
    assert all(len(form) >= 12 for form in secret_forms(value).values())


class _Outcomes(dict):
    """Outcomes by case name; a case no selected test asked for up front is run on first use."""

    def __init__(self, python: Path, workdir: Path) -> None:
        super().__init__()
        self.python, self.workdir = python, workdir

    def run(self, cases: list[Case]) -> None:
        todo = [c for c in cases if c.name not in self]
        folder = self.workdir / f"batch{len(self):03d}"
        self.update({o.case.name: o for o in run_all(self.python, folder, cases=todo)})

    def __missing__(self, name: str) -> Outcome:
        self.run([c for c in CASES if c.name == name])
        return self[name]


@pytest.fixture(scope="module")
def outcomes(fixture_python: Path, tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """The selected cases (`-k` picks some), run once, a few at a time."""
    found = _Outcomes(fixture_python, tmp_path_factory.mktemp("corpus"))
    params = [getattr(item, "callspec", None) for item in request.session.items]
    selected = {p.params["case"].name for p in params
                if p is not None and isinstance(p.params.get("case"), Case)}
    found.run([c for c in CASES if c.name in selected])
    return found


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=False, reason=case.xfail)] if case.xfail else []
    if case.sandbox and sandbox_available():
        marks.append(pytest.mark.skip(reason=sandbox_available()))
    return pytest.param(case, marks=marks, id=case.name)


@pytest.mark.slow
@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_broken_input(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.name]
    stderr = outcome.stderr
    assert outcome.exit_code == case.exit_code, stderr[-3000:]
    assert "Traceback" not in stderr
    assert outcome.leftovers == []
    assert outcome.secrets_seen == []
    if case.deadline is not None:
        assert outcome.seconds < case.deadline
    if case.action:
        assert not outcome.comment_forged, outcome.comment
        assert not outcome.foreign_edited
        assert outcome.comment is not None, "the action published no comment"
    assert outcome.report is not None, "no report.json"
    assert case.stage_expected(outcome.failed_stage), outcome.failed_stage
    if case.stage and case.action:
        for word in case.mentions:
            assert word in outcome.report["error"], outcome.report["error"]
    elif case.stage:
        # One paragraph on stderr: "error: [stage] what failed. What to do."
        (line,) = [x for x in stderr.splitlines() if x.startswith("error: [")]
        assert line.startswith(f"error: [{outcome.failed_stage}] ")
        assert len(line) > 80
        for word in case.mentions:
            assert word in line, line
        assert f"stage: {outcome.failed_stage}" in (outcome.out / "junit.xml").read_text()
    else:
        results = outcome.report["test_results"]
        assert results and all(r["calls"] for r in results)
        if case.mentions:
            reasons = " ".join(r["error"] or "" for r in results)
            for word in case.mentions:
                assert word in reasons + outcome.stdout
    if case.check:
        case.check(outcome)


@pytest.mark.slow
def test_no_traceback_ever(outcomes: dict[str, Outcome]) -> None:
    """Whatever the case expects (xfail ones included): no traceback, a report, and a failed
    run is exit 2 or 3 with its stage and one paragraph (issue 12, item 7)."""
    for name, outcome in outcomes.items():
        if outcome.exit_code is None and outcome.case.xfail:
            continue  # a known hang, reported by its own case
        assert "Traceback" not in outcome.stderr + outcome.stdout, name
        assert outcome.report is not None, name
        if outcome.report["status"] == "failed":
            assert outcome.exit_code in (2, 3) or outcome.case.action, name
            assert outcome.failed_stage and outcome.report["error"].startswith(
                f"[{outcome.failed_stage}] "), name
            assert "\n" not in outcome.report["error"], name


@pytest.mark.slow
def test_a_hanging_endpoint_is_an_errored_testcase_not_a_hung_run(outcomes):
    outcome = outcomes["endpoint hangs"]
    results = {r["endpoint"]: r for r in outcome.report["test_results"]}
    assert results["/items"]["outcome"] == "passed"
    hung = results["/report"]
    assert hung["outcome"] == "error"
    assert {c["check"] for c in hung["checks"] if not c["passed"]} == {"response_received"}
    assert 2500 <= hung["calls"][0]["elapsed_ms"] < 6000  # the 3 s call timeout, not more


@pytest.mark.slow
def test_the_whole_run_timeout_keeps_a_partial_report(outcomes):
    outcome = outcomes["whole-run timeout"]
    assert outcome.seconds < outcome.case.deadline  # the limit, plus starting and stopping
    results = {r["endpoint"]: r for r in outcome.report["test_results"]}
    assert results["/items"]["outcome"] == "passed"  # measured before the limit: kept


@pytest.mark.slow
def test_a_10_mb_body_is_capped_and_truncated(outcomes):
    outcome = outcomes["endpoint returns 10 MB"]
    calls = [json.loads(line) for line in outcome.outputs["calls.jsonl"].splitlines()]
    export = next(c for c in calls if c["path"] == "/export")
    assert export["status_code"] == 200 and export["body_truncated"] is True
    assert export["body_bytes"] > 1024 * 1024  # received past the cap, then stopped reading
    # Recorded: each call capped at 1 MiB of body.
    assert all(len(line) < 2 * 1024 * 1024 for line in outcome.outputs["calls.jsonl"].splitlines())
    assert len(outcome.outputs["report.json"]) < 100_000
    assert len(outcome.outputs["report.md"]) < 100_000
    # Injected instructions are data: the /notes answer is judged like any other.
    notes = next(r for r in outcome.report["test_results"] if r["endpoint"] == "/notes")
    assert notes["outcome"] == "passed" and notes["calls"]
    assert "IGNORE ALL PREVIOUS" in notes["calls"][0]["body"]


@pytest.mark.slow
def test_the_app_sees_no_secret_and_the_outputs_mask_the_one_it_is_given(outcomes):
    outcome = outcomes["endpoint echoes its environment"]
    call = next(c for c in (json.loads(line) for line in
                             outcome.outputs["calls.jsonl"].splitlines())
                if c["status_code"] == 200)
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
