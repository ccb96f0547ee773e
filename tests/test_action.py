"""The GitHub Action: context from the environment, publishing, and entrypoint.py run as a process
with the environment GitHub gives a Docker action, against a local GitHub REST API."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from github_api import FakeGitHub, served

from runner.context import from_env
from runner.errors import RunnerError, UsageError
from runner.github_event import pull_request_from
from runner.models import Endpoint, EndpointResult, RunReport, SourceLocation
from runner.publish import github
from runner.repo import check_out_pull_request, workspace_is_empty

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "todo-api"
TOKEN = "ghs_s3cr3tT0kenValue1234567890abcdef"
WORKDIR = "services/todo"


# -- context ----------------------------------------------------------------------------------


def _event(tmp_path: Path, fork: bool = False, number: int = 7, base_sha: str = "b" * 40) -> Path:
    base_repo = {"full_name": "octo-org/todo-service", "fork": False}
    head_repo = {"full_name": "someone/todo-service", "fork": True} if fork else base_repo
    event = {
        "action": "synchronize", "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": "a" * 40, "ref": "feature/summary", "repo": head_repo},
            "base": {"sha": base_sha, "ref": "main", "repo": base_repo},
        },
        "repository": base_repo,
    }
    path = tmp_path / f"event-{'fork' if fork else 'same'}.json"
    path.write_text(json.dumps(event))
    return path


def test_context_reads_hyphenated_inputs_and_the_pull_request(tmp_path: Path) -> None:
    ctx = from_env({
        "GITHUB_WORKSPACE": str(tmp_path), "GITHUB_EVENT_PATH": str(_event(tmp_path)),
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": "octo-org/todo-service",
        "GITHUB_API_URL": "https://ghe.example/api/v3/", "GITHUB_RUN_ID": "99",
        "INPUT_WORKING-DIRECTORY": "services/todo", "INPUT_FAIL-ON": "never",
        "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_COMMENT": "false", "INPUT_SUITE": "comprehensive",
        "INPUT_APP-ENV": "# settings\nDEBUG=1\n\nGREETING=a=b\n", "INPUT_TIMEOUT-MINUTES": "2",
        "INPUT_OUTPUT-DIR": "out", "INPUT_AGENT": "llm",
    })
    run, pub = ctx.run, ctx.publish
    assert run.repo_path == tmp_path / "services/todo"
    assert run.output_dir == tmp_path / "out" and run.junit_path == tmp_path / "out/junit.xml"
    assert run.app_env == {"DEBUG": "1", "GREETING": "a=b"}
    assert run.timeouts.run == 120 and run.suite == "comprehensive" and run.agent == "llm"
    assert (pub.fail_on, pub.comment, pub.github_token) == ("never", False, TOKEN)
    assert pub.api_url == "https://ghe.example/api/v3"
    assert (pub.pr_number, pub.head_ref, pub.base_ref, pub.is_fork) == (7, "feature/summary",
                                                                        "main", False)
    assert pub.comment_marker == "<!-- api-mcp-test:services/todo -->"
    assert pub.run_url == "https://github.com/octo-org/todo-service/actions/runs/99"
    assert ctx.secrets == (TOKEN,)


@pytest.mark.parametrize(("folder", "marker"), [
    ("./services/todo/", "<!-- api-mcp-test:services/todo -->"),
    ("", "<!-- api-mcp-test:. -->"),
    ("my-api", "<!-- api-mcp-test:my-api -->"),
    ("x-->y", "<!-- api-mcp-test:x%2D->y -->"),  # cannot end the HTML comment early
])
def test_the_comment_marker_names_the_folder_once(tmp_path: Path, folder: str,
                                                  marker: str) -> None:
    ctx = from_env({"GITHUB_WORKSPACE": str(tmp_path), "INPUT_WORKING-DIRECTORY": folder})
    assert ctx.publish.comment_marker == marker


def test_every_bad_input_is_named_with_its_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        from_env({"GITHUB_WORKSPACE": str(tmp_path), "INPUT_FAIL-ON": "sometimes",
                  "INPUT_COMMENT": "maybe", "INPUT_APP-ENV": "DEBUG", "INPUT_SUITE": "full",
                  "INPUT_TIMEOUT-MINUTES": "soon", "INPUT_OUTPUT-DIR": "../elsewhere"})
    message = caught.value.message
    for expected in ("'fail-on' must be one of failures, errors, new-failures, never; got 'sometimes'",
                     "'comment' must be true or false", "'app-env' line 1",
                     "'suite' must be one of smoke, comprehensive", "'timeout-minutes'",
                     "'output-dir' must stay inside the workspace"):
        assert expected in message


@pytest.mark.parametrize(("head", "fork"), [
    ({"full_name": "someone/svc", "fork": True}, True),
    ({"full_name": "org/svc", "fork": False}, False),
    (None, True),  # the fork was deleted
])
def test_fork_detection(head: dict | None, fork: bool) -> None:
    event = {"pull_request": {"number": 3, "head": {"repo": head},
                              "base": {"repo": {"full_name": "org/svc"}}}}
    assert pull_request_from(event).is_fork is fork


# -- publishing pieces ------------------------------------------------------------------------


def test_workflow_commands_escape_data_and_properties() -> None:
    line = github.command("error", "50% failed\nsee: below", file="a,b:c.py", line=3, title=None)
    assert line == "::error file=a%2Cb%3Ac.py,line=3::50%25 failed%0Asee: below"


def test_outputs_use_a_heredoc_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "output"
    github.write_outputs(path, {"passed": 3, "note": "two\nlines"})
    assert _read_outputs(path) == {"passed": "3", "note": "two\nlines"}


def test_step_summary_is_cut_to_one_mebibyte_with_a_pointer(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n")
    github.append_step_summary(path, "| row ✅ |\n" * 200_000, "See the artifact.")
    text = path.read_text()
    assert len(text.encode()) <= github.SUMMARY_LIMIT
    assert text.startswith("earlier step\n") and "See the artifact." in text


def test_annotations_point_at_the_route_relative_to_the_repository(tmp_path: Path) -> None:
    def result(i: int) -> EndpointResult:
        endpoint = Endpoint("GET", f"/items/{i}", f"op{i}", source=SourceLocation("main.py", i))
        return EndpointResult(endpoint, f"op{i}", "failed", reason="server error 500")

    report = RunReport(status="completed", repo_info=None, spec=None,
                       results=[result(i) for i in range(12)])
    lines = github.failure_annotations(report, tmp_path, tmp_path / "services/todo")
    assert lines[0] == ("::error file=services/todo/main.py,line=0,title=api-mcp-test%3A GET "
                        "/items/0::failed: server error 500")
    assert len(lines) == 11 and lines[-1].startswith("::warning title=api-mcp-test::2 more")


@pytest.mark.parametrize(
    ("outcomes", "stage_failed", "expected"),
    [
        # outcomes, a stage failed?, exit code for fail-on failures / errors / never
        (("passed", "skipped"), False, (0, 0, 0)),
        (("passed", "failed"), False, (1, 0, 0)),
        (("passed", "error"), False, (1, 1, 0)),
        (("passed",), True, (3, 3, 0)),
    ],
)
def test_fail_on_maps_the_report_to_an_exit_code(
    outcomes: tuple[str, ...], stage_failed: bool, expected: tuple[int, int, int]
) -> None:
    import entrypoint

    endpoint = Endpoint("GET", "/x", "x")
    report = RunReport(status="failed" if stage_failed else "completed", repo_info=None,
                       spec=None, results=[EndpointResult(endpoint, "x", o) for o in outcomes])
    codes = tuple(int(entrypoint.exit_code(report, f)) for f in ("failures", "errors", "never"))
    assert codes == expected


def _fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with served(fake):
        yield fake


api = pytest.fixture(_fake_github, name="api")


def _upsert(api: FakeGitHub, text: str, **kwargs: object) -> github.CommentResult:
    options: dict = {"api_url": api.api_url, "token": TOKEN, "repository": api.repository,
                     "pr_number": 7, "marker": "<!-- api-mcp-test:. -->", "markdown": text,
                     "pointer": "See the job summary.", "event_name": "pull_request", **kwargs}
    return github.upsert_pr_comment(**options)


def test_comment_is_created_then_edited_and_never_touches_other_comments(api: FakeGitHub) -> None:
    api.add_comment(7, "Looks good to me", login="reviewer")
    first = _upsert(api, "first")
    second = _upsert(api, "x" * 70_000)
    assert first.url and first.url == second.url and second.updated
    assert [r.method for r in api.writes()] == ["POST", "PATCH"]
    ours = [c for c in api.comments.values() if "api-mcp-test" in c["body"]]
    assert len(ours) == 1 and len(ours[0]["body"]) <= 65_536
    assert "report truncated. See the job summary." in ours[0]["body"]
    assert api.requests[0].authorization == f"token {TOKEN}"


MARKER = "<!-- api-mcp-test:. -->"


def test_a_comment_carrying_our_marker_by_someone_else_is_never_edited(api: FakeGitHub) -> None:
    """Anyone can write our marker; a maintainer's token could even edit their comment. Only a
    comment the token's own identity wrote, starting with this folder's exact marker, is ours."""
    forged = api.add_comment(7, f"{MARKER}\n## ✅ api-mcp-test: all passed", login="attacker")
    other_folder = api.add_comment(7, "<!-- api-mcp-test:services/other -->\nreport")
    quoted = api.add_comment(7, f"> quoting\n{MARKER}\nreport")  # ours, but not at the start
    created = _upsert(api, "first")
    assert not created.updated and [r.method for r in api.writes()] == ["POST"]
    for comment in (forged, other_folder, quoted):
        assert api.comments[comment["id"]]["updated_at"] == "2026-11-27T10:00:00Z"
    ours = api.comments[max(api.comments)]
    assert ours["user"]["login"] == "github-actions[bot]" and ours["body"].startswith(MARKER)
    edited = _upsert(api, "second")
    assert edited.updated and edited.url == created.url
    assert api.comments[forged["id"]]["body"].endswith("all passed")


def test_a_users_token_edits_only_that_users_comment(api: FakeGitHub) -> None:
    """A personal token's identity comes from GET /user, not the github-actions[bot] default."""
    pat = "ghp_personalAccessToken000000000000000"
    api.users[pat] = "ci-robot"
    bot = api.add_comment(7, f"{MARKER}\nold report by the workflow token")
    mine = api.add_comment(7, f"{MARKER}\nold report by ci-robot", login="ci-robot")
    result = _upsert(api, "new", token=pat)
    assert result.updated and result.url == mine["html_url"]
    assert api.comments[mine["id"]]["body"].endswith("new")
    assert api.comments[bot["id"]]["body"].endswith("by the workflow token")
    assert any(r.path == "/user" for r in api.requests)


def test_github_enterprise_api_url_is_respected(api: FakeGitHub) -> None:
    api.prefix = "/api/v3"  # GHES: GITHUB_API_URL=https://ghe.example/api/v3
    first = _upsert(api, "first")
    second = _upsert(api, "second")
    assert first.url and first.url == second.url
    assert [r.method for r in api.writes()] == ["POST", "PATCH"]
    assert all(r.path.startswith("/api/v3/") for r in api.requests)


def test_a_read_only_token_is_a_reason_not_a_crash(api: FakeGitHub) -> None:
    api.read_only = True
    refused = _upsert(api, "report")
    assert refused.url is None and "Resource not accessible by integration" in refused.reason
    assert [r.method for r in api.requests] == ["GET", "GET", "GET", "GET", "POST"]
    fork = _upsert(api, "report", is_fork=True)
    assert fork.url is None and "fork PR" in fork.reason
    assert len(api.requests) == 5  # a fork PR's read-only token is known: no API call
    assert "github-token input is empty" in _upsert(api, "report", token=None).reason


@pytest.mark.slow
def test_an_empty_workspace_checks_out_the_pull_request_head(tmp_path: Path) -> None:
    origin = tmp_path / "server" / "octo-org" / "todo-service.git"
    source = tmp_path / "source"
    shutil.copytree(EXAMPLE, source)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", str(source)], check=True)
    subprocess.run([*git, "-C", str(source), "add", "."], check=True)
    subprocess.run([*git, "-C", str(source), "commit", "-qm", "pr head"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(origin)], check=True)
    subprocess.run(["git", "-C", str(origin), "update-ref", "refs/pull/5/head", "HEAD"],
                   check=True)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    assert workspace_is_empty(workspace)
    commit = check_out_pull_request(workspace, f"file://{tmp_path / 'server'}",
                                    "octo-org/todo-service", 5, TOKEN)
    assert len(commit) == 40 and (workspace / "main.py").exists()
    # A pull request the server does not have: the action's own hint, not the CLI's.
    with pytest.raises(RunnerError, match="no such pull request") as caught:
        check_out_pull_request(tmp_path / "other", f"file://{tmp_path / 'server'}",
                               "octo-org/todo-service", 6, TOKEN)
    assert "actions/checkout" in caught.value.hint


# -- entrypoint.py as a process ---------------------------------------------------------------


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


def _read_outputs(path: Path) -> dict[str, str]:
    text, outputs = path.read_text() if path.exists() else "", {}
    for m in re.finditer(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", text, re.DOTALL | re.MULTILINE):
        outputs[m[1]] = m[3]
    return outputs


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with the example service in a subfolder (working-directory)."""
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(EXAMPLE, root / WORKDIR, ignore=shutil.ignore_patterns("__pycache__"))
    return root


module_api = pytest.fixture(_fake_github, scope="module", name="module_api")


def run_action(workspace: Path, api: FakeGitHub, fixture_python: Path, tmp: Path,
               fork: bool = False, base_sha: str = "b" * 40, **inputs: str) -> ActionRun:
    """entrypoint.py with the environment GitHub's runner gives a Docker action."""
    files = tmp / "file_commands"
    files.mkdir(parents=True, exist_ok=True)
    output, summary = files / "set_output", files / "step_summary"
    output.write_text("")
    summary.write_text("")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_", "ACTIONS_"))}
    env.update({
        "GITHUB_ACTIONS": "true", "CI": "true", "HOME": str(tmp / "home"),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_PATH": str(_event(tmp, fork=fork, base_sha=base_sha)),
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REPOSITORY": api.repository,
        "GITHUB_API_URL": api.api_url, "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "4242", "GITHUB_SHA": "c" * 40,
        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_WORKING-DIRECTORY": WORKDIR, "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_COMMENT": "true",
        "INPUT_FAIL-ON": "failures", "INPUT_SUITE": "smoke", "INPUT_AGENT": "auto",
        "INPUT_OUTPUT-DIR": "api-mcp-test-report", "INPUT_TIMEOUT-MINUTES": "5",
        "INPUT_PYTHON": str(fixture_python), "INPUT_APP-ENV": "", "INPUT_ANTHROPIC-API-KEY": "",
    })
    env.update({f"INPUT_{name.upper().replace('_', '-')}": value for name, value in inputs.items()})
    done = subprocess.run([sys.executable, str(REPO / "entrypoint.py")], cwd=workspace, env=env,
                          check=False,
                          capture_output=True, text=True, timeout=300)
    return ActionRun(done.returncode, done.stdout, done.stderr, _read_outputs(output),
                     summary.read_text(), workspace)


def _assert_token_hidden(run: ActionRun) -> None:
    visible = "\n".join(line for line in run.stdout.splitlines()
                        if not line.startswith("::add-mask::"))
    assert f"::add-mask::{TOKEN}" in run.stdout
    for text in (visible, run.stderr, run.summary, json.dumps(run.outputs)):
        assert TOKEN not in text
    for path in (run.workspace / "api-mcp-test-report").rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


@pytest.mark.slow
def test_action_comments_once_and_edits_it_on_every_run(
    workspace: Path, module_api: FakeGitHub, fixture_python: Path, tmp_path: Path
) -> None:
    first = run_action(workspace, module_api, fixture_python, tmp_path)
    assert first.code == 1, first.stdout + first.stderr  # the example's bug, fail-on: failures
    posts = [r for r in module_api.writes() if r.method == "POST"]
    assert len(posts) == 1
    body = posts[0].body["body"]
    assert body.startswith(f"<!-- api-mcp-test:{WORKDIR} -->")
    assert "| ❌ | `GET /todos/{todo_id}/summary` |" in body and "`GET /health`" in body

    outputs = first.outputs
    assert (outputs["status"], outputs["passed"], outputs["failed"]) == ("failed", "10", "1")
    assert outputs["errors"] == "0" and outputs["success-rate"] == "90.9"
    assert outputs["junit-path"] == "api-mcp-test-report/junit.xml"
    assert outputs["report-dir"] == "api-mcp-test-report"
    assert outputs["comment-url"].endswith(f"#issuecomment-{next(iter(module_api.comments))}")

    assert "10/11 endpoints passed" in first.summary and "api-mcp-test-report/" in first.summary
    cases = ET.parse(workspace / outputs["junit-path"]).getroot().iter("testcase")
    assert len(list(cases)) == 11
    assert ("::error file=services/todo/main.py,line=" in first.stdout
            and "title=api-mcp-test%3A GET /todos/{todo_id}/summary::failed" in first.stdout)
    assert "::group::discovery" in first.stdout and "::endgroup::" in first.stdout
    _assert_token_hidden(first)

    second = run_action(workspace, module_api, fixture_python, tmp_path / "2",
                        **{"fail-on": "never"})
    assert second.code == 0
    assert [r.method for r in module_api.writes()] == ["POST", "PATCH"]
    assert len(module_api.comments) == 1
    assert second.outputs["comment-url"] == outputs["comment-url"]

    fixed = run_action(workspace, module_api, fixture_python, tmp_path / "3",
                       **{"app-env": "TODO_API_FIXED=1\n"})
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    assert fixed.outputs["status"] == "passed" and fixed.outputs["success-rate"] == "100.0"
    assert [r.method for r in module_api.writes()] == ["POST", "PATCH", "PATCH"]
    assert "11/11 endpoints passed" in next(iter(module_api.comments.values()))["body"]


@pytest.mark.slow
def test_a_fork_pr_is_tested_but_posts_nothing_and_says_why(
    workspace: Path, fixture_python: Path, tmp_path: Path
) -> None:
    api = FakeGitHub(read_only=True)
    with served(api):
        run = run_action(workspace, api, fixture_python, tmp_path, fork=True,
                         **{"fail-on": "errors"})
    assert run.code == 0  # fail-on: errors tolerates a failed endpoint
    assert not api.requests
    assert "No PR comment: this is a fork PR with a read-only token" in run.summary
    assert "::warning title=api-mcp-test::No PR comment: this is a fork PR" in run.stdout
    assert run.outputs["comment-url"] == "" and run.outputs["failed"] == "1"
    _assert_token_hidden(run)


@pytest.mark.slow
def test_an_invalid_input_exits_2_naming_the_input(
    workspace: Path, module_api: FakeGitHub, tmp_path: Path
) -> None:
    run = run_action(workspace, module_api, Path(sys.executable), tmp_path,
                     **{"fail-on": "sometimes"})
    assert run.code == 2
    assert "Input 'fail-on' must be one of failures, errors, new-failures, never; got 'sometimes'" in run.stdout
    assert run.stdout.startswith("::error title=api-mcp-test%3A invalid input::")


# -- action.yml and the README agree ----------------------------------------------------------


def _readme_table(section: str) -> list[str]:
    text = (REPO / "README.md").read_text()
    match = re.search(f"<!-- {section}:start -->(.*?)<!-- {section}:end -->", text, re.DOTALL)
    assert match, f"README.md has no <!-- {section}:start --> ... <!-- {section}:end --> block"
    return re.findall(r"^\|\s*`([\w-]+)`\s*\|", match[1], re.MULTILINE)


def test_every_action_input_and_output_is_documented_in_the_readme() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert sorted(_readme_table("inputs")) == sorted(action["inputs"])
    assert sorted(_readme_table("outputs")) == sorted(action["outputs"])
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
    assert action["runs"] == {"using": "docker", "image": "Dockerfile"}


@pytest.mark.slow
def test_the_action_applies_the_projects_config_file(
        tmp_path: Path, module_api: FakeGitHub, fixture_python: Path) -> None:
    """.api-mcp-test.yml in the working directory is read by the action like by the CLI: its
    `env` turns the example's fix on, so the buggy endpoint passes and the job exits 0."""
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root / WORKDIR, ignore=shutil.ignore_patterns("__pycache__"))
    (root / WORKDIR / ".api-mcp-test.yml").write_text('env:\n  TODO_API_FIXED: "1"\n')
    run = run_action(root, module_api, fixture_python, tmp_path, comment="false")
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.outputs["failed"] == "0" and run.outputs["passed"] == "11"
