"""Shard reports back into one: `api-mcp-test merge` (and the action's `merge-reports` input)
reads the report.json of every shard of a matrix and renders one JUnit file, one report and one
set of verdicts, as one run would have.

A report.json is read back into the same records the run rendered from; fields a newer or older
runner wrote that these records do not have are left out, missing ones take their defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner.errors import UsageError
from runner.models import (
    ApiChange,
    ApiSpec,
    Baseline,
    CheckResult,
    Endpoint,
    EndpointResult,
    Finding,
    ModelUsage,
    RepoInfo,
    RunReport,
    SourceLocation,
    StageTiming,
    ToolCall,
    from_fields,
)
from runner.shard import parse_shard

_MAX_REPORT_BYTES = 64 * 1024 * 1024


def _result(entry: dict[str, Any]) -> EndpointResult:
    endpoint = Endpoint(method=str(entry.get("method", "")), path=str(entry.get("endpoint", "")),
                        operation_id=str(entry.get("operation_id") or ""),
                        source=SourceLocation.from_json(entry.get("source")))
    calls = [from_fields(ToolCall, {"method": endpoint.method, "path": endpoint.path, "tool": "",
                                "arguments": {}, **call})
             for call in entry.get("calls") or []]
    return EndpointResult(
        endpoint=endpoint, tool=str(entry.get("tool") or ""), outcome=entry["outcome"],
        reason=entry.get("error") or "", calls=calls,
        checks=[from_fields(CheckResult, c) for c in entry.get("checks") or []],
        findings=[from_fields(Finding, f) for f in entry.get("findings") or []],
        warnings=list(entry.get("warnings") or []), baseline=entry.get("baseline"))


def from_dict(data: dict[str, Any]) -> RunReport:
    """A report.json back into the record it was written from."""
    info = data.get("api_info") or None
    spec = None
    results = [_result(e) for e in data.get("test_results") or []]
    if info:
        spec = ApiSpec(framework=str(info.get("framework", "")), app_locator=str(info.get("app", "")),
                       openapi={}, endpoints=[r.endpoint for r in results],
                       spec_source=info.get("spec_source", "native"),
                       title=str(info.get("title", "")), version=str(info.get("version", "")))
    baseline = data.get("baseline")
    return RunReport(
        status=data["status"], repo_info=from_fields(RepoInfo, data["repo_info"])
        if data.get("repo_info") else None, spec=spec, results=results,
        stages=[from_fields(StageTiming, s) for s in data.get("stages") or []],
        agent=str(data.get("agent", "")), suite=str(data.get("suite", "")),
        failed_stage=data.get("failed_stage"), error=data.get("error"),
        error_detail=data.get("error_detail"), usage=ModelUsage.from_json(data.get("usage")),
        notes=list(data.get("notes") or []), auth=dict(data.get("auth") or {}),
        baseline=from_fields(Baseline, baseline) if baseline else None,
        api_changes=[from_fields(ApiChange, c) for c in data.get("api_changes") or []],
        shard=data.get("shard"), mcp_readiness=dict(data.get("mcp_readiness") or {}))


def read(path: Path) -> RunReport:
    """One shard's report.json (or the folder holding it)."""
    report_path = path / "report.json" if path.is_dir() else path
    try:
        if report_path.stat().st_size > _MAX_REPORT_BYTES:
            raise UsageError(f"{report_path} is larger than {_MAX_REPORT_BYTES // 2**20} MB.")
        return from_dict(json.loads(report_path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UsageError(f"No report.json at {path}.",
                         "Give the report folders (or report.json files) the shards wrote, "
                         "e.g. the downloaded artifacts.") from None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{report_path} is not a readable api-mcp-test report "
                         f"({type(exc).__name__}).", "Give the report.json a shard wrote.") \
            from None


def find_reports(paths: list[Path]) -> list[Path]:
    """Every report.json under the given files and folders, sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            # A shard's own base run (its baseline/ folder) is not a shard.
            found.update(p for p in path.rglob("report.json") if p.is_file()
                         and "baseline" not in p.relative_to(path).parts[:-1])
    if not found:
        raise UsageError(f"No report.json under {', '.join(str(p) for p in paths)}.",
                         "Give the folders the shards' reports were downloaded to.")
    return sorted(found)


def merge(reports: list[RunReport]) -> RunReport:
    """One report from every shard of one matrix: results in shard order, stages and notes
    labelled by shard, usage added up, the contract changes once."""
    shards = _in_shard_order(reports)
    first = shards[0][1]
    merged = RunReport(status="completed", repo_info=first.repo_info, spec=None,
                       agent=first.agent, suite=first.suite, auth=first.auth,
                       baseline=first.baseline, api_changes=first.api_changes,
                       mcp_readiness=first.mcp_readiness)
    for label, report in shards:
        merged.results.extend(report.results)
        merged.stages.extend(StageTiming(f"{s.stage} [{label}]", s.seconds, s.ok, s.note)
                             for s in report.stages)
        merged.notes.extend(f"shard {label}: {n}" for n in report.notes)
        if report.usage is not None:
            merged.usage = report.usage if merged.usage is None else merged.usage + report.usage
        if report.status == "failed" and merged.status != "failed":
            merged.status = "failed"
            merged.failed_stage = report.failed_stage
            merged.error = f"shard {label}: {report.error or 'failed'}"
            merged.error_detail = report.error_detail
    spec = next((r.spec for r in reports if r.spec is not None), None)
    if spec is not None:
        merged.spec = ApiSpec(framework=spec.framework, app_locator=spec.app_locator, openapi={},
                              endpoints=[r.endpoint for r in merged.results],
                              spec_source=spec.spec_source, title=spec.title,
                              version=spec.version)
    merged.notes.insert(0, f"merged from {len(reports)} shards")
    return merged


def _in_shard_order(reports: list[RunReport]) -> list[tuple[str, RunReport]]:
    """(label, report) by shard, after checking every shard of one matrix is there once."""
    if not reports:
        raise UsageError("No shard reports to merge.")
    parsed = [parse_shard(r.shard, "shard") if r.shard else None for r in reports]
    if any(p is None for p in parsed):
        if len(reports) == 1:
            return [("1/1", reports[0])]
        raise UsageError("A report to merge was not written by a sharded run (--shard K/N).",
                         "Give exactly the reports of one matrix's shards.")
    counts = {p.count for p in parsed if p}
    indexes = sorted(p.index for p in parsed if p)
    count = max(counts)
    missing = sorted(set(range(1, count + 1)) - set(indexes))
    if len(counts) > 1 or missing or len(indexes) != len(set(indexes)):
        problem = (f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing" if missing
                   else "a shard appears twice" if len(indexes) != len(set(indexes))
                   else f"shards of different splits ({', '.join(map(str, sorted(counts)))})")
        raise UsageError(f"The shard reports do not make one run: {problem}.",
                         "Merge the reports of every job of one matrix (a failed job still "
                         "writes its report; upload it with if: always()).")
    labelled = sorted(zip(parsed, reports, strict=True), key=lambda pair: pair[0].index)  # type: ignore[union-attr]
    return [(str(shard), report) for shard, report in labelled]


def write(report: RunReport, output_dir: Path) -> Path:
    """The merged junit.xml, report.md and report.json in `output_dir`."""
    from runner.report import junit, markdown, result

    output_dir.mkdir(parents=True, exist_ok=True)
    report.artifacts = {"output_dir": str(output_dir),
                        **{kind: str((output_dir / name).resolve()) for kind, name in
                           (("junit", "junit.xml"), ("markdown", "report.md"),
                            ("json", "report.json"))}}
    (output_dir / "junit.xml").write_text(junit.render(report), encoding="utf-8",
                                          errors="replace")
    (output_dir / "report.md").write_text(markdown.render(report), encoding="utf-8",
                                          errors="replace")
    (output_dir / "report.json").write_text(json.dumps(result.to_dict(report), indent=2,
                                                       default=str), encoding="utf-8")
    return output_dir
