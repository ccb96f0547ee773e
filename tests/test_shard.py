"""Sharding over a matrix and merging the shards' reports: the split, the merge's checks, and
an end-to-end run of the example in two shards against one run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import UsageError
from runner.models import Endpoint, EndpointResult, ModelUsage, RunReport
from runner.report import merge
from runner.report.result import to_dict
from runner.shard import parse_shard, resource, split
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "todo-api"


def _ops(*keys: str) -> list[Endpoint]:
    return [Endpoint(k.split()[0], k.split()[1], k.replace(" ", "_")) for k in keys]


def test_shards_keep_each_resource_whole_and_are_balanced() -> None:
    endpoints = _ops("GET /todos", "POST /todos", "GET /todos/{id}", "DELETE /todos/{id}",
                     "GET /todos/{id}/comments", "GET /users", "POST /users", "GET /users/{id}",
                     "GET /health", "GET /stats", "GET /api/v1/orders", "GET /api/v1/orders/{id}")
    assert resource(endpoints[4]) == "/todos" and resource(endpoints[10]) == "/api/v1/orders"
    shards = split(endpoints, 3)
    assert sorted(e.key for s in shards for e in s) == sorted(e.key for e in endpoints)
    owner = {e.key: n for n, s in enumerate(shards) for e in s}
    for group in (endpoints[:5], endpoints[5:8], endpoints[10:]):
        assert len({owner[e.key] for e in group}) == 1
    assert sorted(len(s) for s in shards) == [3, 4, 5]
    # Every job computes the same split; an order within a shard follows the spec.
    assert split(endpoints, 3) == shards
    assert [e.key for e in shards[0]] == [e.key for e in endpoints if owner[e.key] == 0]


def test_more_shards_than_resources_leaves_some_empty() -> None:
    shards = split(_ops("GET /a", "GET /a/{id}", "GET /b"), 4)
    assert [len(s) for s in shards] == [2, 1, 0, 0]


@pytest.mark.parametrize("text", ["", "3", "0/2", "3/2", "1/0", "a/b", "1/999"])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="K"):
        parse_shard(text)


def _shard_report(shard: str, outcomes: dict[str, str]) -> RunReport:
    results = [EndpointResult(e, e.operation_id, o)  # type: ignore[arg-type]
               for e, o in zip(_ops(*outcomes), outcomes.values(), strict=True)]
    return RunReport(status="completed", repo_info=None, spec=None, results=results,
                     shard=shard, usage=ModelUsage("m", 10, 2, 0.5, len(results)),
                     notes=["n"])


def test_merge_puts_shards_in_order_and_checks_they_make_one_run() -> None:
    two = _shard_report("2/2", {"GET /b": "failed"})
    one = _shard_report("1/2", {"GET /a": "passed", "GET /a/{id}": "passed"})
    merged = merge.merge([two, one])
    assert [r.endpoint.key for r in merged.results] == ["GET /a", "GET /a/{id}", "GET /b"]
    assert merged.usage == ModelUsage("m", 20, 4, 1.0, 3)
    assert merged.notes == ["merged from 2 shards", "shard 1/2: n", "shard 2/2: n"]
    with pytest.raises(UsageError, match="2/2 missing"):
        merge.merge([one])
    with pytest.raises(UsageError, match="twice"):
        merge.merge([one, one, two])
    with pytest.raises(UsageError, match="different splits"):
        merge.merge([one, two, _shard_report("3/3", {})])


def test_a_report_reads_back_into_the_records_it_was_written_from() -> None:
    report = _shard_report("1/1", {"GET /a": "failed", "POST /b": "skipped"})
    again = merge.from_dict(json.loads(json.dumps(to_dict(report))))
    assert to_dict(again) == to_dict(report)


@pytest.mark.slow
def test_two_shards_merged_give_the_verdicts_of_one_run(tmp_path: Path,
                                                        fixture_python: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "runner.cli", *args], cwd=REPO, text=True,
                              capture_output=True, timeout=600, check=False)

    common = ("--python", str(fixture_python), "--quiet")
    single = run("test", str(EXAMPLE), "--output-dir", str(tmp_path / "single"), *common)
    assert single.returncode == 1, single.stderr  # the example's deliberate bug
    for k in (1, 2):
        shard = run("test", str(EXAMPLE), "--output-dir", str(tmp_path / "shards" / f"s{k}"),
                    "--shard", f"{k}/2", *common)
        assert shard.returncode in (0, 1), shard.stderr
    merged = run("merge", str(tmp_path / "shards"), "--output-dir", str(tmp_path / "merged"))
    assert merged.returncode == 1, merged.stderr

    def verdicts(folder: str) -> dict[str, str]:
        data = json.loads((tmp_path / folder / "report.json").read_text())
        return {f"{r['method']} {r['endpoint']}": r["outcome"] for r in data["test_results"]}

    assert verdicts("merged") == verdicts("single")
    assert len(verdicts("shards/s1")) + len(verdicts("shards/s2")) == len(verdicts("single"))
    assert verdicts("shards/s1") and verdicts("shards/s2")
    junit = (tmp_path / "merged" / "junit.xml").read_text()
    assert junit.count("<testcase") == len(verdicts("single"))
    assert "merged from 2 shards" in (tmp_path / "merged" / "report.md").read_text()
    # A missing shard is named, not merged silently.
    partial = run("merge", str(tmp_path / "shards" / "s1"), "--output-dir", str(tmp_path / "x"))
    assert partial.returncode == 2 and "2/2 missing" in partial.stderr


@pytest.mark.slow
def test_the_action_merges_shard_reports_into_one_comment(tmp_path: Path,
                                                          fixture_python: Path) -> None:
    from tests.github_api import FakeGitHub, served
    from tests.test_action import run_action

    root = tmp_path / "ws"
    shards = root / "downloaded"
    for label, outcomes in (("1/2", {"GET /a": "passed", "GET /a/{id}": "failed"}),
                            ("2/2", {"GET /b": "passed"})):
        folder = shards / f"api-mcp-test-shard-{label[0]}"
        folder.mkdir(parents=True)
        (folder / "report.json").write_text(json.dumps(to_dict(_shard_report(label, outcomes))))
    api = FakeGitHub()
    with served(api):
        run = run_action(root, api, fixture_python, tmp_path, merge_reports="downloaded",
                         output_dir="merged", base="none")
    assert run.code == 1, run.stdout[-2000:] + run.stderr[-2000:]  # GET /a/{id} failed
    assert (run.outputs["passed"], run.outputs["failed"]) == ("2", "1")
    posts = [r for r in api.writes() if r.method == "POST"]
    assert len(posts) == 1
    body = posts[0].body["body"]
    assert "`GET /a/{id}`" in body and "`GET /b`" in body and "merged from 2 shards" in body
    assert (root / "merged" / "junit.xml").read_text().count("<testcase") == 3


def test_usage_is_read_back_as_its_record_and_an_unknown_shape_is_refused(tmp_path: Path) -> None:
    from runner.report import result

    report = _shard_report("1/1", {"GET /a": "passed"})
    data = result.to_dict(report)
    assert data["usage"] == {"model": "m", "input_tokens": 10, "output_tokens": 2,
                             "cost_usd_estimate": 0.5, "tool_calls": 1}
    assert merge.from_dict(data).usage == report.usage
    assert merge.from_dict({**data, "usage": {}}).usage is None
    for bad in ({"model": "m", "tokens": 3}, {"model": "m", "tool_calls": "3"}, {"tool_calls": 1},
                {"model": "m", "cost_usd_estimate": True}):
        with pytest.raises(ValueError, match="usage"):
            ModelUsage.from_json(bad)
    (tmp_path / "report.json").write_text(json.dumps({**data, "usage": {"model": "m", "x": 1}}))
    with pytest.raises(UsageError, match="not a readable api-mcp-test report"):
        merge.read(tmp_path)
