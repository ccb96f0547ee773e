"""End to end through entrypoint.py against the local GitHub API: a hostile app cannot forge,
hide or hijack what the action publishes (sec-out's cases of the hostile corpus).

The app puts `HOSTILE` (tests/hostile_publish.py) into its title, an operation's summary, a 500
body and its log; a comment by someone else already carries our marker.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from github_api import FakeGitHub, served
from hostile_publish import HOSTILE
from markdown_it import MarkdownIt
from test_action import TOKEN, WORKDIR, ActionRun, _assert_token_hidden, run_action

OUR_MARKER = f"<!-- api-mcp-test:{WORKDIR} -->"

APP = f'''
import os
import sys

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

HOSTILE = {HOSTILE!r} + " {OUR_MARKER}"
print(HOSTILE, file=sys.stderr, flush=True)
if os.environ.get("CRASH_AT_IMPORT"):
    raise SystemExit(HOSTILE)

app = FastAPI(title=HOSTILE, version="1.0")


@app.get("/items/{{item_id}}", summary=HOSTILE)
def item(item_id: int):
    return PlainTextResponse(HOSTILE, status_code=500)


@app.get("/health")
def health():
    return {{"ok": True}}
'''


@pytest.fixture
def hostile_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / WORKDIR).mkdir(parents=True)
    (root / WORKDIR / "main.py").write_text(APP)
    (root / WORKDIR / "requirements.txt").write_text("fastapi\n")
    return root


def _outside_code(markdown: str) -> str:
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)
    return re.sub(r"<(pre|code)>.*?</\1>", "", html, flags=re.DOTALL)


def _assert_log_is_inert(run: ActionRun) -> None:
    for stream in (run.stdout, run.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\u202e" not in stream
        for line in stream.splitlines():
            # Our own annotation may quote the app's (inert) error text as its message: data,
            # not a command. Any other line that starts like a command must not carry it.
            ours = line.strip().startswith("::error title=api-mcp-test")
            assert ours or "forged" not in line or not line.strip().startswith(("::", "##[")), \
                line
            assert not line.strip().startswith("::add-mask::x"), line


def _assert_inert_markdown(text: str) -> None:
    outside = _outside_code(text)
    for forbidden in ("<img", "<!--", "@octocat", "@octo-org", "https://evil"):
        assert forbidden not in outside, forbidden
    # The only link is ours: the workflow run.
    assert set(re.findall(r'<a href="([^"]*)"', outside)) <= {
        "https://github.example/octo-org/todo-service/actions/runs/4242"}
    assert outside.count("<h2>") == 1


@pytest.mark.slow
def test_a_hostile_app_cannot_forge_or_hijack_the_comment(
        hostile_workspace: Path, fixture_python: Path, tmp_path: Path) -> None:
    api = FakeGitHub()
    with served(api):
        forged = api.add_comment(7, f"{OUR_MARKER}\n## ✅ all passed", login="attacker")
        run = run_action(hostile_workspace, api, fixture_python, tmp_path)
    assert run.code == 1, run.stdout[-3000:] + run.stderr[-3000:]  # the 500 is a failure
    assert api.comments[forged["id"]]["body"] == f"{OUR_MARKER}\n## ✅ all passed"
    [post] = [r for r in api.writes() if r.method == "POST"]
    body = post.body["body"]
    assert body.startswith(OUR_MARKER + "\n") and body.count("<!-- api-mcp-test:") == 1
    assert run.outputs["comment-url"].endswith(f"#issuecomment-{max(api.comments)}")
    _assert_inert_markdown(body.split("\n", 1)[1])
    _assert_inert_markdown(run.summary)
    report_md = (hostile_workspace / "api-mcp-test-report" / "report.md").read_text()
    _assert_inert_markdown(report_md)
    _assert_log_is_inert(run)
    _assert_token_hidden(run)


@pytest.mark.slow
def test_a_crashing_hostile_app_still_publishes_and_its_log_tail_issues_no_commands(
        hostile_workspace: Path, fixture_python: Path, tmp_path: Path) -> None:
    api = FakeGitHub()
    with served(api):
        run = run_action(hostile_workspace, api, fixture_python, tmp_path,
                         **{"app-env": "CRASH_AT_IMPORT=1\n", "fail-on": "never"})
    assert run.code == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.outputs["status"] == "error" and run.outputs["comment-url"]
    start = re.search(r"^::stop-commands::([0-9a-f]{32})$", run.stdout, re.MULTILINE)
    assert start and f"\n::{start[1]}::\n" in run.stdout
    tail = run.stdout[start.end():run.stdout.index(f"::{start[1]}::")]
    assert "all 99 endpoints passed" in tail  # the app's log is shown ...
    _assert_log_is_inert(run)  # ... as text
    [post] = [r for r in api.writes() if r.method == "POST"]
    assert "The run stopped at the" in post.body["body"]
    _assert_inert_markdown(post.body["body"].split("\n", 1)[1])
    _assert_token_hidden(run)
    assert TOKEN not in post.body["body"]


# -- no run is lost in publishing -------------------------------------------------------------


def _action_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, api: FakeGitHub,
                workspace: Path, fail_on: str) -> tuple[Path, Path]:
    from test_action import _event

    output, summary = tmp_path / "set_output", tmp_path / "step_summary"
    output.write_text("")
    summary.write_text("")
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "INPUT_")):
            monkeypatch.delenv(name)
    for name, value in {
        "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_PATH": str(_event(tmp_path)), "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REPOSITORY": api.repository, "GITHUB_API_URL": api.api_url,
        "GITHUB_SERVER_URL": f"file://{tmp_path / 'no-such-server'}",
        "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_GITHUB-TOKEN": TOKEN, "INPUT_COMMENT": "true", "INPUT_FAIL-ON": fail_on,
        "INPUT_OUTPUT-DIR": "report", "INPUT_WORKING-DIRECTORY": ".",
    }.items():
        monkeypatch.setenv(name, value)
    return output, summary


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("failures", 3)])
def test_an_unexpected_exception_is_still_published(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture,
        fail_on: str, code: int) -> None:
    """A bug of ours in the middle of the run: outputs, summary and comment are still written,
    the comment and summary say which stage broke, and `fail-on: never` still exits 0."""
    from test_action import _read_outputs

    import entrypoint
    from runner import pipeline

    def broken(config: object, progress: object) -> None:
        raise KeyError(f"a bug ({TOKEN})")

    monkeypatch.setattr(pipeline, "run_pipeline", broken)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text("app = None\n")
    api = FakeGitHub()
    with served(api):
        output, summary = _action_env(monkeypatch, tmp_path, api, workspace, fail_on)
        assert entrypoint.main(["entrypoint.py"]) == code
    outputs = _read_outputs(output)
    assert outputs["status"] == "error" and outputs["comment-url"]
    [comment] = api.comments.values()
    for text in (comment["body"], summary.read_text()):
        assert "The run stopped at the `run` stage." in text and "KeyError" in text
        assert TOKEN not in text
    stdout = capsys.readouterr().out
    assert "::error title=api-mcp-test%3A run stage failed::" in stdout
    assert "Traceback (most recent call last)" not in stdout


def test_a_failed_checkout_and_a_broken_summary_still_publish_the_rest(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The PR cannot be fetched into the empty workspace (a `repo` stage failure) and the job
    summary cannot be written: the comment and the outputs still are."""
    from test_action import _read_outputs

    import entrypoint

    workspace = tmp_path / "empty"
    workspace.mkdir()
    api = FakeGitHub()
    with served(api):
        output, summary = _action_env(monkeypatch, tmp_path, api, workspace, "errors")
        summary.unlink()
        summary.mkdir()  # appending to it fails
        assert entrypoint.main(["entrypoint.py"]) == 3
    outputs = _read_outputs(output)
    assert outputs["status"] == "error" and outputs["comment-url"]
    assert "The run stopped at the `repo` stage." in next(iter(api.comments.values()))["body"]
    stdout = capsys.readouterr().out
    assert "::warning title=api-mcp-test::Could not write the job summary: " in stdout
