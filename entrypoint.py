"""The Docker action's entry point: context in, orchestrator, publish, exit code out.

In GitHub Actions (GITHUB_ACTIONS=true) it reads `INPUT_*` and `GITHUB_*`; anywhere else,
`entrypoint.py [PATH] [options]` is `api-mcp-test test [PATH] [options]` (and
`entrypoint.py discover|generate|checks ...` the other commands), so the same image serves
`docker run --rm -v "$PWD:/repo" IMAGE /repo`.

Exit codes follow the `fail-on` input (runner/report/verdict.py): failures (default), errors,
new-failures (only what the PR introduced, against its base) or never. A bad input is always 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from runner.baseline import blocking
from runner.context import ActionContext, PublishConfig, from_env
from runner.errors import RunnerError, UsageError
from runner.models import RunReport
from runner.publish import github
from runner.repo import with_git_config
from runner.report.verdict import exit_code, status


def stage_groups() -> Callable[[str], None]:
    """Progress lines from the orchestrator: each stage's log inside a `::group::`."""

    def progress(line: str) -> None:
        if line.startswith("▶ "):
            github.emit(github.command("group", line[2:]))
        else:
            github.emit(line)
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
    if (github.workspace_is_empty(publish.workspace) and publish.pr_number is not None
            and publish.repository):
        with github.group(f"checkout PR #{publish.pr_number}"):
            commit = github.checkout_pull_request(publish.workspace, publish.server_url,
                                                  publish.repository, publish.pr_number,
                                                  publish.github_token)
            print(f"checked out refs/pull/{publish.pr_number}/head at {commit}", flush=True)


def publish_results(ctx: ActionContext, report: RunReport) -> None:
    from runner.report import markdown

    pub = ctx.publish
    pointer = artifact_pointer(ctx)
    comment = github.CommentResult(None)
    if pub.comment and pub.pr_number is not None:
        comment = github.upsert_pr_comment(
            api_url=pub.api_url, token=pub.github_token, repository=pub.repository,
            pr_number=pub.pr_number, marker=pub.comment_marker,
            markdown=markdown.render(report, footer=pointer),
            pointer=f"{pointer} The job summary has the whole report.",
            is_fork=pub.is_fork, event_name=pub.event_name,
        )
    if comment.url:
        print(f"PR comment {'updated' if comment.updated else 'created'}: {comment.url}",
              flush=True)
    if comment.reason:
        github.emit(github.command("warning", comment.reason, title="api-mcp-test"))

    footer = pointer + (f"\n\n> {comment.reason}\n" if comment.reason else "")
    if pub.step_summary_path:
        github.append_step_summary(pub.step_summary_path, markdown.render(report, footer=footer),
                                   pointer)
    counts = report.counts
    junit = Path(report.artifacts.get("junit", ctx.run.junit_path or ""))
    if pub.output_path:
        github.write_outputs(pub.output_path, {
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
        })
    for line in github.failure_annotations(report, pub.workspace, ctx.run.repo_path):
        github.emit(line)


def pr_outputs(report: RunReport) -> dict[str, object]:
    """new-failures and breaking-changes, counted against the base ("" without one)."""
    if report.baseline is None or not report.baseline.compared:
        return {"new-failures": "", "breaking-changes": ""}
    introduced, breaking = blocking(report)
    return {"new-failures": len(introduced), "breaking-changes": len(breaking)}


def run_action() -> int:
    try:
        ctx = from_env(os.environ)
    except UsageError as exc:
        github.emit(github.command("error", exc.user_message(), title="api-mcp-test: invalid input"))
        return int(exc.exit_code)
    for secret in ctx.secrets:
        github.mask(secret)

    from runner.cli import print_table, skip_exit_collection
    from runner.orchestrator import DynamicBackendOrchestrator

    try:
        prepare_workspace(ctx.publish)
    except RunnerError as exc:
        github.emit(github.command("error", exc.user_message(), title="api-mcp-test"))
        if exc.detail:
            print(exc.detail, file=sys.stderr)
        return 0 if ctx.publish.fail_on == "never" else int(exc.exit_code)

    report = DynamicBackendOrchestrator(progress=stage_groups()).run(ctx.run)
    skip_exit_collection()
    print_table(report)
    if report.status == "failed" and report.error_detail:
        with github.group("log tail"):
            print(report.error_detail[-3000:], flush=True)
    publish_results(ctx, report)
    code = exit_code(report, ctx.publish.fail_on, ctx.publish.fail_on_breaking)
    print(f"api-mcp-test: {status(report)} (fail-on: {ctx.publish.fail_on}, exit {int(code)})",
          flush=True)
    return int(code)


def main(argv: list[str]) -> int:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return run_action()
    from runner.cli import main as cli

    args = argv[1:] if argv[1:2] and argv[1] in cli.commands else ["test", *argv[1:]]
    cli.main(args, prog_name="api-mcp-test")  # click exits with the command's code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
