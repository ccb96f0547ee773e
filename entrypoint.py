"""The Docker action's entry point: context in, pipeline, publish, exit code out.

In GitHub Actions (GITHUB_ACTIONS=true) it reads `INPUT_*` and `GITHUB_*`; anywhere else,
`entrypoint.py [PATH] [options]` is `api-mcp-test test [PATH] [options]` (and
`entrypoint.py discover|generate|checks ...` the other commands), so the same image serves
`docker run --rm -v "$PWD:/repo" IMAGE /repo`.

Exit codes follow the `fail-on` input (runner/report/verdict.py): failures (default), errors,
new-failures (only what the PR introduced, against its base) or never. A stage that could not
complete, or a run that tested nothing (every endpoint skipped), is 3; `never` is 0 after
publishing whatever happened (even an unexpected exception). A bad input is always 2.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runner.baseline import blocking
from runner.context import ActionContext, PublishConfig, from_env
from runner.errors import ExitCode, RunnerError, UsageError, condense_tracebacks
from runner.models import RunReport
from runner.publish import github
from runner.redact import Redactor
from runner.repo import check_out_pull_request, with_git_config, workspace_is_empty
from runner.report import inert
from runner.report.verdict import exit_code, status

T = TypeVar("T")


def stage_groups() -> Callable[[str], None]:
    """Progress lines from the pipeline: each stage's log inside a `::group::`."""

    def progress(line: str) -> None:
        if line.startswith("▶ "):
            github.emit(github.command("group", line[2:]))
        else:
            github.emit(inert.terminal(line))
            if line.startswith(("✓ ", "✗ ")):
                github.emit(github.command("endgroup"))

    return progress


def relative(path: Path, workspace: Path) -> str:
    """Paths in outputs are relative to the workspace: the container's mount point means
    nothing to the steps that follow."""
    try:
        return path.resolve().relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def artifact_pointer(ctx: ActionContext) -> str:
    where = relative(ctx.run.output_dir, ctx.publish.workspace)
    run = f" ([workflow run]({ctx.publish.run_url}))" if ctx.publish.run_url else ""
    return f"The full report is in `{where}/` (upload it with actions/upload-artifact){run}."


def prepare_workspace(publish: PublishConfig) -> None:
    """Trust the mounted workspace (owned by the runner's user, not root) and check the PR out
    when no checkout step ran before this action."""
    # This workspace only, never `*`: a repository of another owner elsewhere stays refused.
    os.environ.update(with_git_config(os.environ, ("safe.directory", str(publish.workspace))))
    if (workspace_is_empty(publish.workspace) and publish.pr_number is not None
            and publish.repository):
        with github.group(f"checkout PR #{publish.pr_number}"):
            commit = check_out_pull_request(publish.workspace, publish.server_url,
                                            publish.repository, publish.pr_number,
                                            publish.github_token)
            print(f"checked out refs/pull/{publish.pr_number}/head at {commit}", flush=True)


def _guarded(what: str, step: Callable[[], T]) -> T | None:
    """One publishing step; its failure is a warning, never the end of the others: outputs,
    summary, comment and annotations each get their chance whatever went wrong before."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - any failure here must not lose the rest
        github.emit(github.command("warning", f"Could not {what}: {type(exc).__name__}: "
                                   f"{inert.one_line(exc, 500)}", title="api-mcp-test"))
        return None


def publish_results(ctx: ActionContext, report: RunReport) -> None:
    from runner.report import markdown

    pub = ctx.publish
    pointer = artifact_pointer(ctx)
    comment = github.CommentResult(None)
    if ctx.run.shard is not None:
        # One comment for the whole matrix: the merge job posts it.
        comment = github.CommentResult(None, f"No PR comment from shard {ctx.run.shard}: the "
                                       "merge job (merge-reports) posts one for all shards.")
    elif pub.comment and pub.pr_number is not None:
        comment = _guarded("post the PR comment", lambda: github.upsert_pr_comment(
            api_url=pub.api_url, token=pub.github_token, repository=pub.repository,
            pr_number=pub.pr_number, marker=pub.comment_marker,
            markdown=markdown.render(report, footer=pointer),
            pointer=f"{pointer} The job summary has the whole report.",
            is_fork=pub.is_fork, event_name=pub.event_name,
        )) or github.CommentResult(None, "No PR comment: posting it failed (see the warning).")
    if comment.url:
        print(f"PR comment {'updated' if comment.updated else 'created'}: {comment.url}",
              flush=True)
    if comment.reason:
        github.emit(github.command("warning", comment.reason, title="api-mcp-test"))

    reason = f"\n\n> {inert.text(comment.reason, 600)}\n" if comment.reason else ""
    if pub.step_summary_path:
        path = pub.step_summary_path
        _guarded("write the job summary", lambda: github.append_step_summary(
            path, markdown.render(report, footer=pointer + reason), pointer))
    counts = report.counts
    junit = Path(report.artifacts.get("junit", ctx.run.junit_path or ""))
    if pub.output_path:
        outputs = pub.output_path
        _guarded("write the step outputs", lambda: github.write_outputs(outputs, {
            "status": status(report),
            "passed": counts["passed"],
            "failed": counts["failed"],
            "errors": counts["error"],
            "skipped": counts["skipped"],
            "success-rate": report.success_rate,
            "report-dir": relative(ctx.run.output_dir, pub.workspace),
            "junit-path": relative(junit, pub.workspace),
            "comment-url": comment.url or "",
            **pr_outputs(report),
        }))
    lines = _guarded("annotate the failures", lambda: github.failure_annotations(
        report, pub.workspace, ctx.run.repo_path)) or []
    for line in lines:
        github.emit(line)


def pr_outputs(report: RunReport) -> dict[str, object]:
    """new-failures and breaking-changes, counted against the base ("" without one)."""
    if report.baseline is None or not report.baseline.compared:
        return {"new-failures": "", "breaking-changes": ""}
    introduced, breaking = blocking(report)
    return {"new-failures": len(introduced), "breaking-changes": len(breaking)}


def crashed(stage: str, exc: BaseException) -> RunReport:
    """The report of a run that ended in an exception nobody turned into a stage failure."""
    if isinstance(exc, RunnerError):
        return RunReport(status="failed", repo_info=None, spec=None, failed_stage=exc.stage,
                         error=exc.user_message(), error_detail=exc.detail or None)
    detail = condense_tracebacks("".join(traceback.format_exception(exc)))
    return RunReport(status="failed", repo_info=None, spec=None, failed_stage=stage,
                     error=f"The {stage} stage ended with an unexpected error: "
                     f"{type(exc).__name__}: {exc}. This is a bug in api-mcp-test; the log tail "
                     "has the details.", error_detail=detail)


def test(ctx: ActionContext) -> RunReport:
    """Check out (when needed), run and print: always a report, whatever fails."""
    from runner.pipeline import run_pipeline
    from runner.pipeline.driver import skip_exit_collection
    from runner.report import terminal

    stage = "repo"
    try:
        prepare_workspace(ctx.publish)
        stage = "run"
        report = run_pipeline(ctx.run, stage_groups()).report
        skip_exit_collection()
    except Exception as exc:  # noqa: BLE001 - published as a failed stage, never lost
        report = crashed(stage, exc)
    Redactor.for_run(ctx.secrets, ctx.run.app_env).value(report)
    _guarded("print the results", lambda: print(terminal.render(report), end="", flush=True))
    if report.status == "failed" and report.error_detail:
        tail = condense_tracebacks(report.error_detail)[-3000:]  # the app's, cut to one frame
        with github.group("log tail"), inert.stop_commands(github.emit):
            print(inert.terminal(tail), flush=True)
    return report


def merged(ctx: ActionContext) -> RunReport:
    """Merge mode (`merge-reports`): the shards' reports as one run, written to output-dir."""
    from runner.report import merge, terminal

    assert ctx.publish.merge_reports is not None
    try:
        found = merge.find_reports([ctx.publish.merge_reports])
        report = merge.merge([merge.read(path) for path in found])
        merge.write(report, ctx.run.output_dir)
    except Exception as exc:  # noqa: BLE001 - published as a failed stage, never lost
        report = crashed("merge", exc)
    _guarded("print the results", lambda: print(terminal.render(report), end="", flush=True))
    return report


def run_action() -> int:
    try:
        ctx = from_env(os.environ)
    except UsageError as exc:
        github.emit(github.command("error", exc.user_message(), title="api-mcp-test: invalid input"))
        return int(exc.exit_code)
    for secret in ctx.secrets:
        github.mask(secret)
    report = merged(ctx) if ctx.publish.merge_reports else test(ctx)
    publish_results(ctx, report)
    code = exit_code(report, ctx.publish.fail_on, ctx.publish.fail_on_breaking)
    print(f"api-mcp-test: {status(report)} (fail-on: {ctx.publish.fail_on}, exit {int(code)})",
          flush=True)
    return int(code)


def run_action_safely() -> int:
    """`fail-on: never` means never, even when the action itself breaks."""
    try:
        return run_action()
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        github.emit(github.command("error", f"api-mcp-test broke: {type(exc).__name__}: "
                                   f"{inert.one_line(exc, 500)}", title="api-mcp-test"))
        never = os.environ.get("INPUT_FAIL-ON", "").strip().lower() == "never"
        return 0 if never else int(ExitCode.STAGE)


def main(argv: list[str]) -> int:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return run_action_safely()
    from runner.cli import main as cli

    args = argv[1:] if argv[1:2] and argv[1] in cli.commands else ["test", *argv[1:]]
    cli.main(args, prog_name="api-mcp-test")  # click exits with the command's code
    return 0


if __name__ == "__main__":
    from runner.limits import leave

    leave(main(sys.argv))  # a thread stuck on the app's answer must not hold the step
