"""How a report decides the job: one exit code and one status for the CLI, the action and the
Python API alike.

`fail_on` says what fails the job:
  failures (default)  an endpoint that failed or errored;
  errors              only an endpoint that could not be tested (outcome `error`);
  new-failures        only what this pull request introduced: an endpoint failing here that did
                      not fail on the base (new endpoints included), plus breaking API changes
                      unless `fail_on_breaking` is off; without a base it is `failures`;
  never               nothing (exit 0 after publishing).
A stage that could not complete is 3 (2 for a configuration mistake) unless `never`; so is a run
that tested nothing (no operation, or every endpoint skipped, e.g. all answered 401): a run
that judged nothing is never a pass.
"""

from __future__ import annotations

from typing import Literal

from runner.baseline import blocking
from runner.errors import ExitCode, stage_exit_code
from runner.models import RunReport

FailOn = Literal["failures", "errors", "new-failures", "never"]
FAIL_ON: tuple[FailOn, ...] = ("failures", "errors", "new-failures", "never")


def exit_code(report: RunReport, fail_on: FailOn = "failures",
              fail_on_breaking: bool = True) -> ExitCode:
    if fail_on == "never":
        return ExitCode.PASSED
    if report.status == "failed":
        return stage_exit_code(report.failed_stage)
    if report.nothing_tested:
        return ExitCode.STAGE
    counts = report.counts
    if fail_on == "new-failures":
        introduced, breaking = blocking(report, fail_on_breaking)
        failing = bool(introduced or breaking)
    elif fail_on == "errors":
        failing = counts["error"] > 0
    else:
        failing = counts["error"] + counts["failed"] > 0
    return ExitCode.FAILED if failing else ExitCode.PASSED


def status(report: RunReport) -> str:
    """The action's `status` output: passed | failed | error (a stage could not complete, or
    nothing was tested)."""
    if report.status == "failed" or report.nothing_tested:
        return "error"
    return "passed" if report.overall_success else "failed"
