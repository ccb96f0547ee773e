"""The JSON result: the seed's result dict, plus stage timings and artifacts."""

from __future__ import annotations

from typing import Any

from runner.models import EndpointResult, RunReport, as_plain

BODY_EXCERPT = 2000


def call_summary(call: Any) -> dict[str, Any]:
    body = call.body if isinstance(call.body, str) else as_plain(call.body)
    text = body if isinstance(body, str) else None
    if text is not None and len(text) > BODY_EXCERPT:
        body = text[:BODY_EXCERPT] + "..."
    return {
        "call_id": call.call_id,
        "tool": call.tool,
        "intent": call.intent,
        "expect": as_plain(getattr(call, "expect", {})) or None,
        "agent": call.agent,
        "arguments": as_plain(call.arguments),
        "url": call.url,
        "status_code": call.status_code,
        "elapsed_ms": round(call.elapsed_ms, 2),
        "body": body,
        "body_truncated": call.body_truncated,
        "error": call.error,
        "traceback": call.traceback or None,
    }


def endpoint_dict(result: EndpointResult) -> dict[str, Any]:
    return {
        "endpoint": result.endpoint.path,
        "method": result.endpoint.method,
        "operation_id": result.endpoint.operation_id,
        "tool": result.tool,
        "outcome": result.outcome,
        "success": result.success,
        "error": result.reason or None,
        "source": result.endpoint.source.to_json() if result.endpoint.source else None,
        "checks": [as_plain(c) for c in result.checks],
        "calls": [call_summary(c) for c in result.calls],
        "findings": [as_plain(f) for f in result.findings],
        "warnings": result.warnings,
        "baseline": result.baseline,
    }


def to_dict(report: RunReport) -> dict[str, Any]:
    spec = report.spec
    return {
        "status": report.status,
        "overall_success": report.overall_success,
        "success_rate": report.success_rate,
        "endpoints_tested": len(report.results),
        "summary": report.counts,
        "failed_stage": report.failed_stage,
        "error": report.error,
        "error_detail": report.error_detail,
        "agent": report.agent,
        "suite": report.suite,
        "repo_info": as_plain(report.repo_info) if report.repo_info else None,
        "api_info": spec.metadata if spec else None,
        "test_results": [endpoint_dict(r) for r in report.results],
        "stages": [as_plain(s) for s in report.stages],
        "usage": report.usage.to_json() if report.usage else {},
        "notes": report.notes,
        "auth": report.auth,
        "baseline": as_plain(report.baseline) if report.baseline else None,
        "api_changes": [as_plain(c) for c in report.api_changes],
        "mcp_readiness": report.mcp_readiness or None,
        "shard": report.shard,
        "artifacts": report.artifacts,
    }
