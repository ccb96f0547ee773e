"""Pull-request awareness: results compared with the base, the contract diff, fail-on
new-failures; unit tests of the pieces and end-to-end runs of the CLI on real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.base_checkout import parse_diff, touched_operations
from runner.baseline import BaseResults, compare, read_report, story
from runner.errors import ExitCode, UsageError
from runner.models import (
    ApiChange,
    ApiSpec,
    Baseline,
    Endpoint,
    EndpointResult,
    RunReport,
    SourceLocation,
)
from runner.report.verdict import exit_code
from tests.helpers import REPO


def _endpoint(key: str, line: int | None = None) -> Endpoint:
    method, path = key.split(" ", 1)
    source = SourceLocation("app/main.py", line) if line else None
    return Endpoint(method=method, path=path, operation_id=path.strip("/") or "root",
                    source=source)


def _report(outcomes: dict[str, str]) -> RunReport:
    endpoints = [_endpoint(k) for k in outcomes]
    spec = ApiSpec(framework="fastapi", app_locator="main:app", openapi={}, endpoints=endpoints)
    results = [EndpointResult(endpoint=e, tool=e.operation_id, outcome=o)  # type: ignore[arg-type]
               for e, o in zip(endpoints, outcomes.values(), strict=True)]
    return RunReport(status="completed", repo_info=None, spec=spec, results=results)


def test_each_result_gets_its_baseline_status() -> None:
    report = _report({"GET /a": "failed", "GET /b": "passed", "GET /c": "error",
                      "GET /d": "passed", "GET /new": "failed", "GET /e": "skipped"})
    base = BaseResults({"GET /a": "passed", "GET /b": "failed", "GET /c": "failed",
                        "GET /d": "passed", "GET /e": "passed"}, openapi=None,
                       failed_intents={"GET /b": {"?"}, "GET /c": {"?"}})
    compare(report, base, report.spec.endpoints)
    assert [r.baseline for r in report.results] == [
        "new failure", "fixed", "still failing", "unchanged", "new endpoint", "unchanged"]
    report.baseline = Baseline("run", "main", "abc")
    assert story(report) == ("1 new failure, 1 fixed, 1 still failing on main, 1 new endpoint "
                             "(1 failing) · API: 0 breaking changes")


def test_fail_on_new_failures_ignores_what_the_base_already_had() -> None:
    report = _report({"GET /a": "failed", "GET /b": "passed"})
    compare(report, BaseResults({"GET /a": "failed", "GET /b": "passed"}, openapi=None,
                                failed_intents={"GET /a": {"?"}}), report.spec.endpoints)
    assert exit_code(report, "failures") == ExitCode.FAILED
    assert exit_code(report, "new-failures") == ExitCode.PASSED
    report.api_changes = [ApiChange("GET /b", "response-field-removed", True, "x is gone")]
    assert exit_code(report, "new-failures") == ExitCode.FAILED
    assert exit_code(report, "new-failures", fail_on_breaking=False) == ExitCode.PASSED
    assert exit_code(report, "never") == ExitCode.PASSED


def test_without_a_base_new_failures_is_failures() -> None:
    report = _report({"GET /a": "failed"})
    assert exit_code(report, "new-failures") == ExitCode.FAILED


def test_a_stored_report_is_read_with_the_spec_beside_it(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps({
        "status": "completed", "repo_info": {"commit": "c0ffee"},
        "test_results": [{"method": "GET", "endpoint": "/a", "outcome": "failed"}]}))
    (tmp_path / "openapi.json").write_text(json.dumps({"openapi": "3.0.0", "paths": {
        "/a": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/b": {"get": {"responses": {"200": {"description": "ok"}}}}}}))
    base = read_report(tmp_path)
    assert base.outcomes == {"GET /a": "failed"} and base.commit == "c0ffee"
    assert base.operations == {"GET /a", "GET /b"}
    for bad, words in (("{", "cannot be read"), ('{"x": 1}', "not an api-mcp-test report")):
        (tmp_path / "report.json").write_text(bad)
        with pytest.raises(UsageError, match=words):
            read_report(tmp_path)
    with pytest.raises(UsageError, match="no report.json"):
        read_report(tmp_path / "missing")


def test_the_pr_diff_names_the_handlers_it_touched() -> None:
    diff = textwrap.dedent("""\
        diff --git a/api/app/main.py b/api/app/main.py
        --- a/api/app/main.py
        +++ b/api/app/main.py
        @@ -12,0 +13,2 @@ def list_items():
        +    x = 1
        +    y = 2
        @@ -40 +42 @@ def report():
        -    return 1
        +    return 1 / 0
        diff --git a/README.md b/README.md
        --- a/README.md
        +++ /dev/null
        @@ -1 +0,0 @@
        -hello
        """)
    changed = parse_diff(diff)
    assert changed == {"api/app/main.py": [(13, 14), (42, 42)]}
    endpoints = [_endpoint("GET /items", 10), _endpoint("GET /items/{id}", 20),
                 _endpoint("GET /report", 40), _endpoint("GET /other", 90)]
    assert touched_operations(endpoints, changed, "api") == {"GET /items", "GET /report"}
    assert touched_operations(endpoints, changed, ".") == set()


# -- end to end: real git repositories, the CLI as a process ----------------------------------

_BASE_APP = '''\
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="Shop")


class Item(BaseModel):
    id: int
    name: str
    price: float


ITEMS = {1: Item(id=1, name="pen", price=1.5)}


@app.get("/items")
def list_items() -> list[Item]:
    return list(ITEMS.values())


@app.get("/items/{item_id}")
def get_item(item_id: int) -> Item:
    return ITEMS[1]


@app.get("/stats")
def stats() -> dict:
    return {"mean": sum(i.price for i in ITEMS.values()) / 0}


@app.get("/report")
def report() -> dict:
    return {"count": len(ITEMS)}


@app.get("/search")
def search(q: str = "") -> list[Item]:
    return [i for i in ITEMS.values() if q in i.name]
'''

# The PR: removes `price` from Item, fixes /stats, breaks /report, and makes `tenant` required.
_HEAD_APP = (_BASE_APP
             .replace("    name: str\n    price: float\n", "    name: str\n")
             .replace("Item(id=1, name=\"pen\", price=1.5)", "Item(id=1, name=\"pen\")")
             .replace("sum(i.price for i in ITEMS.values()) / 0", "len(ITEMS)")
             .replace('return {"count": len(ITEMS)}', 'return {"count": len(ITEMS) / 0}')
             .replace('def search(q: str = "")', 'def search(tenant: str, q: str = "")'))


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _shop_repo(root: Path) -> Path:
    repo = root / "shop"
    (repo / "api").mkdir(parents=True)
    (repo / "api" / "main.py").write_text(_BASE_APP)
    _git(repo.parent, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "base")
    return repo


def _run(repo: Path, out: Path, python: Path, *args: str) -> tuple[int, dict, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "runner.cli", "test", str(repo / "api"), "--python", str(python),
         "--output-dir", str(out), "--quiet", *args],
        capture_output=True, text=True, cwd=REPO, timeout=900, check=False,
        env={**__import__("os").environ, "API_MCP_TEST_CACHE": str(out.parent / "cache")})
    report = json.loads((out / "report.json").read_text())
    return proc.returncode, report, proc.stdout + proc.stderr


@pytest.mark.slow
def test_uncommitted_changes_are_compared_with_main(tmp_path: Path, fixture_python: Path) -> None:
    repo = _shop_repo(tmp_path)
    (repo / "api" / "main.py").write_text(_HEAD_APP)  # the working tree, not committed

    code, report, output = _run(repo, tmp_path / "out", fixture_python, "--base", "main",
                                "--fail-on", "new-failures")
    assert report["status"] == "completed", output
    by_key = {f"{r['method']} {r['endpoint']}": r for r in report["test_results"]}
    assert by_key["GET /report"]["baseline"] == "new failure"
    assert by_key["GET /stats"]["baseline"] == "fixed"
    assert by_key["GET /items"]["baseline"] == "unchanged"
    changes = {(c["operation"], c["change"], c["breaking"]) for c in report["api_changes"]}
    assert ("GET /items/{item_id}", "response-field-removed", True) in changes
    assert ("GET /items", "response-field-removed", True) in changes
    assert ("GET /search", "required-parameter-added", True) in changes
    assert report["baseline"]["source"] == "run"
    assert report["baseline"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert code == 1  # a new failure and breaking changes
    # GET /items/{item_id} fails a not-found probe on both: the PR did not introduce it.
    assert by_key["GET /items/{item_id}"]["baseline"] == "still failing"
    assert "1 new failure, 1 fixed, 1 still failing on main" in output
    # The touched handlers went first, with the comprehensive plan.
    assert any("this PR touched" in n for n in report["notes"])
    assert len(by_key["GET /report"]["calls"]) >= 1
    # The user's repository is untouched: the edit is still uncommitted.
    assert _git(repo, "status", "--porcelain") == "M api/main.py"

    # The same base again: its results come from the cache, no second base run.
    code2, again, _ = _run(repo, tmp_path / "out2", fixture_python, "--base", "main",
                           "--fail-on", "new-failures", "--no-fail-on-breaking")
    assert again["baseline"]["source"] == "cache"
    assert not (tmp_path / "out2" / "baseline").exists()
    assert [r["baseline"] for r in again["test_results"]] == \
        [r["baseline"] for r in report["test_results"]]
    assert code2 == 1  # /report is still a new failure


@pytest.mark.slow
def test_a_stored_baseline_report_and_only_preexisting_failures(tmp_path: Path,
                                                                fixture_python: Path) -> None:
    repo = _shop_repo(tmp_path)
    # The base's report, as an artifact of the main branch's last run would be.
    code, base_report, output = _run(repo, tmp_path / "base-out", fixture_python)
    assert code == 1 and base_report["status"] == "completed", output  # /stats fails on main
    # A PR that only adds an endpoint: /stats still fails, nothing new.
    (repo / "api" / "main.py").write_text(_BASE_APP + textwrap.dedent('''

        @app.get("/health")
        def health() -> dict:
            return {"ok": True}
        '''))
    code, report, output = _run(repo, tmp_path / "out", fixture_python,
                                "--baseline", str(tmp_path / "base-out" / "report.json"),
                                "--fail-on", "new-failures")
    by_key = {f"{r['method']} {r['endpoint']}": r for r in report["test_results"]}
    assert by_key["GET /stats"]["baseline"] == "still failing"
    assert by_key["GET /health"]["baseline"] == "new endpoint"
    assert report["api_changes"] == [{"operation": "GET /health", "change": "operation-added",
                                      "breaking": False, "detail": "new operation GET /health"}]
    assert code == 0, output  # only a pre-existing failure: not blocking

    code, _, _ = _run(repo, tmp_path / "out3", fixture_python, "--base", "no-such-branch")
    assert code == 2


def test_the_base_is_judged_on_the_kinds_of_calls_this_run_made() -> None:
    from runner.models import ToolCall

    report = _report({"GET /a": "passed", "GET /b": "failed"})
    for result in report.results:
        result.calls = [ToolCall(call_id="c1", tool="t", method="GET", path=result.endpoint.path,
                                 arguments={}, intent="valid")]
    # The base failed only a boundary probe on /a (this run made none) and on /b.
    base = BaseResults({"GET /a": "failed", "GET /b": "failed"}, openapi=None,
                       failed_intents={"GET /a": {"boundary"}, "GET /b": {"boundary"}})
    compare(report, base, report.spec.endpoints)
    assert [r.baseline for r in report.results] == ["unchanged", "new failure"]


@pytest.mark.slow
def test_the_action_tells_the_prs_story_and_fails_only_on_what_it_introduced(
        tmp_path: Path, fixture_python: Path) -> None:
    """A pull_request event whose base commit is in the workspace's history: the base is run
    beside the PR, the comment opens with the PR's story, the outputs count what is new."""
    import shutil

    from tests.github_api import FakeGitHub, served
    from tests.test_action import EXAMPLE, WORKDIR, run_action

    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root / WORKDIR, ignore=shutil.ignore_patterns("__pycache__"))
    _git(tmp_path, "init", "-q", "-b", "main", str(root))
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "base")
    base_sha = _git(root, "rev-parse", "HEAD")
    main_py = root / WORKDIR / "main.py"
    # The PR: /health now fails (new), /stats loses its `open` field (breaking); the example's
    # own bug in /todos/{todo_id}/summary was already there.
    text = main_py.read_text().replace('return {"status": "ok"}', 'raise RuntimeError("down")')
    text = text.replace(", open=len(items) - done,", ",").replace("    open: int\n", "")
    main_py.write_text(text)
    _git(root, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "pr")

    api = FakeGitHub()
    with served(api):
        run = run_action(root, api, fixture_python, tmp_path, base_sha=base_sha,
                         fail_on="new-failures")
    assert run.code == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.outputs["new-failures"] == "1", run.stdout[-4000:]
    assert int(run.outputs["breaking-changes"]) >= 1
    body = next(r for r in api.writes() if r.method == "POST").body["body"]
    story_line = next(line for line in body.splitlines() if "Against the base" in line)
    assert "1 new failure, 0 fixed, 1 still failing on " + base_sha[:12] in story_line
    assert "`GET /stats` response-field-removed" in body
    assert "| 🆕 new failure |" in body and "| still failing |" in body
    junit = (root / "api-mcp-test-report" / "junit.xml").read_text()
    assert '<property name="baseline" value="new failure"/>' in junit
    assert "Against the base" in run.summary


@pytest.mark.slow
def test_a_cloned_pull_request_is_compared_with_a_base_fetched_from_origin(
        tmp_path: Path, fixture_python: Path) -> None:
    """`test URL --pr 7 --base main`: the shallow clone has no main, so the base is fetched."""
    from tests.test_repo import Remote, run_remote

    (tmp_path / "remote").mkdir()
    remote = Remote(tmp_path / "remote")
    proc, report, endpoints = run_remote(remote, tmp_path, fixture_python, "--pr", "7",
                                         "--base", "main", "--fail-on", "new-failures")
    assert proc.returncode == 1, proc.stderr  # main's /later is gone in the PR: breaking
    assert endpoints == {"/health", "/pull"}
    assert report["baseline"]["commit"] == remote.second
    by_path = {r["endpoint"]: r["baseline"] for r in report["test_results"]}
    assert by_path == {"/health": "unchanged", "/pull": "new endpoint"}
    changes = {(c["operation"], c["change"], c["breaking"]) for c in report["api_changes"]}
    assert changes == {("GET /later", "operation-removed", True),
                       ("GET /pull", "operation-added", False)}
