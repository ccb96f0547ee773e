"""JUnit XML: one testcase per operation, named `METHOD /path`."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from junit_xml import TestCase, TestSuite, to_xml_report_string

from runner.models import EndpointResult, RunReport
from runner.report import inert

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
        if call.traceback:
            lines.append("  the app's traceback (from app.log):\n" + call.traceback)
    lines += [f"warning: {w}" for w in result.warnings]
    lines += sorted({f"reproduce: {c.reproduce}" for c in result.checks if c.reproduce})
    return inert.plain("\n".join(lines))


def _testcase(result: EndpointResult, classname: str) -> TestCase:
    elapsed = sum(c.elapsed_ms for c in result.calls) / 1000.0
    source = result.endpoint.source or {}
    case = TestCase(inert.plain(result.endpoint.key, 300), classname=classname,
                    elapsed_sec=elapsed, stdout=_call_text(result),
                    file=inert.plain(source["file"], 500) if source.get("file") else None,
                    line=source.get("line"))
    failed_checks = sorted({c.check for c in result.checks if not c.passed})
    reason = inert.plain(result.reason, 500)
    if result.outcome == "failed":
        case.add_failure_info(message=reason, output=_call_text(result),
                              failure_type=",".join(failed_checks) or "failed")
    elif result.outcome == "error":
        case.add_error_info(message=reason, output=_call_text(result),
                            error_type=",".join(failed_checks) or "error")
    elif result.outcome == "skipped":
        case.add_skipped_info(message=reason)
    return case


def render(report: RunReport) -> str:
    title = inert.plain(report.spec.title, 200) if report.spec and report.spec.title else "API"
    classname = f"api-mcp-test.{report.spec.framework if report.spec else 'unknown'}"
    cases = [_testcase(r, classname) for r in report.results]
    if report.status == "failed":
        # A stage failure is one errored testcase, so a JUnit consumer shows it.
        stage = TestCase(f"stage: {report.failed_stage}", classname="api-mcp-test.stages")
        stage.add_error_info(message=inert.plain(report.error or "stage failed", 2000),
                             output=inert.plain(report.error_detail or ""),
                             error_type=report.failed_stage)
        cases.append(stage)
    elif report.nothing_tested:
        # Every endpoint skipped is not a green suite: one errored testcase says so.
        nothing = TestCase("nothing tested", classname="api-mcp-test.stages")
        nothing.add_error_info(message="No endpoint could be judged: every one was skipped "
                               "(see their reasons).", error_type="nothing-tested")
        cases.append(nothing)
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
