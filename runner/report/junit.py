"""JUnit XML: one testcase per operation, named `METHOD /path`."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from junit_xml import TestCase, TestSuite, to_xml_report_string

from runner.models import EndpointResult, RunReport

_EXCERPT = 1500


def _call_text(result: EndpointResult) -> str:
    lines = []
    for call in result.calls:
        body = call.body if isinstance(call.body, str) else json.dumps(call.body, default=str)
        lines.append(
            f"[{call.call_id}] {call.intent} {call.method} {call.url or call.path} "
            f"args={json.dumps(call.arguments, default=str)[:300]} -> "
            f"{call.status_code if call.status_code is not None else call.error} "
            f"({call.elapsed_ms:.1f} ms)\n  body: {(body or '')[:_EXCERPT]}"
        )
    lines += [f"warning: {w}" for w in result.warnings]
    return "\n".join(lines)


def _testcase(result: EndpointResult, classname: str) -> TestCase:
    elapsed = sum(c.elapsed_ms for c in result.calls) / 1000.0
    case = TestCase(result.endpoint.key, classname=classname, elapsed_sec=elapsed,
                    stdout=_call_text(result), file=(result.endpoint.source or {}).get("file"),
                    line=(result.endpoint.source or {}).get("line"))
    failed_checks = sorted({c.check for c in result.checks if not c.passed})
    if result.outcome == "failed":
        case.add_failure_info(message=result.reason[:500], output=_call_text(result),
                              failure_type=",".join(failed_checks) or "failed")
    elif result.outcome == "error":
        case.add_error_info(message=result.reason[:500], output=_call_text(result),
                            error_type=",".join(failed_checks) or "error")
    elif result.outcome == "skipped":
        case.add_skipped_info(message=result.reason[:500])
    return case


def render(report: RunReport) -> str:
    title = report.spec.title if report.spec and report.spec.title else "API"
    classname = f"api-mcp-test.{report.spec.framework if report.spec else 'unknown'}"
    cases = [_testcase(r, classname) for r in report.results]
    if report.status == "failed":
        # A stage failure is one errored testcase, so a JUnit consumer shows it.
        stage = TestCase(f"stage: {report.failed_stage}", classname="api-mcp-test.stages")
        stage.add_error_info(message=report.error or "stage failed",
                             output=report.error_detail or "", error_type=report.failed_stage)
        cases.append(stage)
    properties = {"agent": report.agent, "suite": report.suite}
    if report.spec:
        properties["spec_source"] = report.spec.spec_source
    if report.baseline is not None:
        properties["baseline"] = report.baseline.ref
        properties["api_breaking_changes"] = str(sum(c.breaking for c in report.api_changes))
    suite = TestSuite(f"api-mcp-test: {title}", cases, properties=properties)
    xml = to_xml_report_string([suite], encoding="utf-8")
    return _with_baseline(xml, report) if report.baseline is not None else xml


def _with_baseline(xml: str, report: RunReport) -> str:
    """Each testcase's status against the base as a `baseline` property (new failure, fixed,
    ...), so JUnit viewers can filter on it; junit-xml has no testcase properties."""
    root = ElementTree.fromstring(xml.encode("utf-8"))
    by_name = {r.endpoint.key: r.baseline for r in report.results if r.baseline}
    for case in root.iter("testcase"):
        status = by_name.get(case.get("name", ""))
        if status:
            properties = ElementTree.Element("properties")
            ElementTree.SubElement(properties, "property", name="baseline", value=status)
            case.insert(0, properties)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)
