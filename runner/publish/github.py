"""Publishing to GitHub: workflow commands, outputs, the job summary and one sticky PR comment.

Small functions, each doing one thing the Actions runner or the REST API understands. Limits:
a comment body holds 65,536 characters, a step summary 1 MiB, and a step shows at most 10 error
annotations; everything here truncates to fit and points at the full report instead.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.models import RunReport
from runner.report import inert
from runner.report.markdown import fit

COMMENT_LIMIT = 65_000  # GitHub allows 65,536; keep room for the marker
SUMMARY_LIMIT = 1024 * 1024  # bytes
MAX_ERROR_ANNOTATIONS = 10


# -- workflow commands ------------------------------------------------------------------------


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: object) -> str:
    """`::name key=value,...::message`, escaped per GitHub's rules."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items()
                     if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def emit(line: str) -> None:
    """Workflow commands go to stdout, flushed so they interleave with child output correctly."""
    print(line, flush=True)


def mask(value: str) -> None:
    for line in value.splitlines():
        if line.strip():
            emit(command("add-mask", line))


@contextmanager
def group(name: str) -> Iterator[None]:
    emit(command("group", name))
    try:
        yield
    finally:
        emit(command("endgroup"))


def failure_annotations(report: RunReport, repo_root: Path, app_root: Path) -> list[str]:
    """`::error` lines for a stage failure and failing endpoints, at the route's source line.

    Discovery reports `source.file` relative to the app's folder (`app_root`); annotations want it
    relative to the repository root. At most 10 endpoint errors are shown per step, so the rest
    are counted in one warning.
    """
    lines = []
    if report.status == "failed":
        lines.append(command("error", inert.plain(report.error or "a stage failed", 2000),
                             title=f"api-mcp-test: {report.failed_stage} stage failed"))
    elif report.nothing_tested:
        lines.append(command("error", f"Nothing was tested: all {len(report.results)} endpoints "
                             "were skipped (see the job summary for why).",
                             title="api-mcp-test: nothing tested"))
    failing = [r for r in report.results if r.outcome in ("failed", "error")]
    budget = MAX_ERROR_ANNOTATIONS - len(lines)
    for result in failing[:budget]:
        source = result.endpoint.source
        file = _repo_relative(source.file, repo_root, app_root) if source else None
        lines.append(command(
            "error", inert.plain(f"{result.outcome}: {result.reason}".strip(), 1000),
            file=file, line=source.line if source and file else None,
            title=f"api-mcp-test: {inert.plain(result.endpoint.key, 200)}",
        ))
    if len(failing) > budget:
        lines.append(command("warning", f"{len(failing) - budget} more failing endpoints are not "
                             "annotated; see the job summary.", title="api-mcp-test"))
    return lines


def _repo_relative(file: str | None, repo_root: Path, app_root: Path) -> str | None:
    if not file:
        return None
    path = Path(file) if Path(file).is_absolute() else app_root / file
    try:
        return path.resolve().relative_to(repo_root.resolve()).as_posix()
    except ValueError:
        return None  # outside the repository (an installed package): no file to point at


# -- files the runner reads back --------------------------------------------------------------


def write_outputs(path: Path, outputs: Mapping[str, object]) -> None:
    """Append step outputs in GITHUB_OUTPUT's heredoc form (safe for any value)."""
    with path.open("a", encoding="utf-8") as fh:
        for name, value in outputs.items():
            text = "" if value is None else str(value)
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            while delimiter in text:
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")


def append_step_summary(path: Path, markdown: str, pointer: str) -> None:
    """Append `markdown` to the job summary, cut to GitHub's 1 MiB with `pointer` to the rest."""
    used = path.stat().st_size if path.exists() else 0
    budget = SUMMARY_LIMIT - used - 1024
    wide = len(markdown.encode()) - len(markdown)  # extra bytes of multi-byte characters
    text = fit(markdown, max(budget - wide, 0), pointer)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text.rstrip("\n") + "\n")


# -- the sticky PR comment --------------------------------------------------------------------


@dataclass(frozen=True)
class CommentResult:
    url: str | None
    reason: str | None = None  # why no comment was posted (shown as a warning and in the summary)
    updated: bool = False


FORK_REASON = ("No PR comment: this is a fork PR with a read-only token; see docs for the "
               "workflow_run pattern (docs/examples/README.md).")


ACTIONS_LOGIN = "github-actions[bot]"  # who GITHUB_TOKEN (an installation token) writes as


def own_login(client: Any) -> str:
    """The login the token writes comments as: GET /user for a user's token; an installation
    token (GITHUB_TOKEN) is refused that endpoint (403), and writes as github-actions[bot]."""
    from github import GithubException

    try:
        return str(client.get_user().login)
    except GithubException as exc:
        if exc.status in (401, 403):
            return ACTIONS_LOGIN
        raise


def is_ours(comment: Any, login: str, marker: str) -> bool:
    """A comment is ours only when our identity wrote it AND its first line is exactly our
    marker: anyone can write a marker, and another working directory's marker differs."""
    author = comment.user.login if comment.user else None
    first_line = (comment.body or "").split("\n", 1)[0].rstrip("\r")
    return author == login and first_line == marker


def upsert_pr_comment(
    *, api_url: str, token: str | None, repository: str | None, pr_number: int | None,
    marker: str, markdown: str, pointer: str, is_fork: bool = False,
    event_name: str | None = None, timeout: float = 20.0,
) -> CommentResult:
    """Edit this action's comment on the PR (see `is_ours`), or create it.

    Never raises for GitHub's answers: a missing token, a fork PR's read-only token or any API
    error becomes a `reason` the caller reports.
    """
    if pr_number is None or not repository:
        return CommentResult(None, "No PR comment: this run is not for a pull request.")
    if is_fork and event_name == "pull_request":
        return CommentResult(None, FORK_REASON)
    if not token:
        return CommentResult(None, "No PR comment: the github-token input is empty.")

    from github import Auth, Github, GithubException
    from github.GithubRetry import GithubRetry

    # PyGithub logs every 403 at INFO, and GET /user answers an installation token 403 by design.
    logging.getLogger("github").setLevel(logging.WARNING)
    body = f"{marker}\n{fit(markdown, COMMENT_LIMIT - len(marker) - 1, pointer)}"
    client = Github(base_url=api_url, auth=Auth.Token(token), timeout=int(timeout),
                    retry=GithubRetry(total=2))
    try:
        issue = client.get_repo(repository).get_issue(pr_number)
        login = own_login(client)
        for existing in issue.get_comments():
            if is_ours(existing, login, marker):
                existing.edit(body)
                return CommentResult(existing.html_url, updated=True)
        return CommentResult(issue.create_comment(body).html_url)
    except GithubException as exc:
        message = (exc.data or {}).get("message") if isinstance(exc.data, dict) else None
        if exc.status == 403 and is_fork:
            return CommentResult(None, FORK_REASON)
        if exc.status == 403:
            return CommentResult(None, f"No PR comment: GitHub refused ({message or 'HTTP 403'}). "
                                 "Give the job `permissions: pull-requests: write`.")
        return CommentResult(None, f"No PR comment: GitHub answered HTTP {exc.status}"
                             f" ({message or 'no message'}).")
    except OSError as exc:  # connection refused, DNS, timeouts (requests' errors are OSErrors)
        return CommentResult(None, f"No PR comment: cannot reach {api_url} ({exc}).")
    finally:
        client.close()
