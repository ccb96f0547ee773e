"""JUnit XML: one testcase per operation, named `METHOD /path`.

Written with the standard library (ElementTree, pretty-printed by minidom) in the layout Jenkins,
GitHub test reporters and junit-xml's users know: `testsuites` > `testsuite` (with `properties`)
> `testcase` (`failure`, `error` or `skipped`, then `system-out`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from xml.dom import minidom
from xml.etree import ElementTree

from runner.models import EndpointResult, RunReport
from runner.report import inert

_EXCERPT = 1500
# Characters XML 1.0 cannot carry (controls, surrogates, non-characters): dropped, not escaped.
_ILLEGAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufddf\ufffe\uffff"
                      + "".join(f"{chr(p - 1)}{chr(p)}" for p in range(0x1FFFF, 0x110000, 0x10000))
                      + "]")


@dataclass
class Case:
    """One testcase; `outcome` is the child element (failure, error, skipped) or None."""

    name: str
    classname: str
    seconds: float = 0.0
    outcome: str | None = None
    kind: str = ""  # the outcome's `type`
    message: str = ""
    output: str = ""  # the outcome's text
    stdout: str = ""
    file: str | None = None
    line: int | None = None
    properties: dict[str, str] = field(default_factory=dict)


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


def _case(result: EndpointResult, classname: str) -> Case:
    source = result.endpoint.source
    failed_checks = ",".join(sorted({c.check for c in result.checks if not c.passed}))
    text = _call_text(result)
    case = Case(inert.plain(result.endpoint.key, 300), classname,
                seconds=sum(c.elapsed_ms for c in result.calls) / 1000.0, stdout=text,
                file=inert.plain(source.file, 500) if source else None,
                line=source.line if source else None)
    if result.baseline:  # new failure, fixed, ...: JUnit viewers can filter on it
        case.properties["baseline"] = result.baseline
    if result.outcome in ("failed", "error"):
        outcome = "failure" if result.outcome == "failed" else "error"
        case.outcome, case.kind = outcome, failed_checks or result.outcome
        case.message, case.output = inert.plain(result.reason, 500), text
    elif result.outcome == "skipped":
        case.outcome, case.kind, case.message = "skipped", "skipped", inert.plain(result.reason, 500)
    return case


def _stage_case(report: RunReport) -> Case | None:
    """A failed stage, or every endpoint skipped, as one errored testcase: not a green suite."""
    if report.status == "failed":
        return Case(f"stage: {report.failed_stage}", "api-mcp-test.stages", outcome="error",
                    kind=report.failed_stage or "error",
                    message=inert.plain(report.error or "stage failed", 2000),
                    output=inert.plain(report.error_detail or ""))
    if report.nothing_tested:
        return Case("nothing tested", "api-mcp-test.stages", outcome="error",
                    kind="nothing-tested", message="No endpoint could be judged: every one was "
                    "skipped (see their reasons).")
    return None


def _properties(parent: ElementTree.Element, values: dict[str, str]) -> None:
    if values:
        element = ElementTree.SubElement(parent, "properties")
        for name, value in values.items():
            ElementTree.SubElement(element, "property", name=name, value=str(value))


def _testcase(suite: ElementTree.Element, case: Case) -> None:
    attributes = {"name": case.name}
    if case.seconds:
        attributes["time"] = f"{case.seconds:f}"
    attributes["classname"] = case.classname
    if case.file:
        attributes["file"] = case.file
    if case.line:
        attributes["line"] = str(case.line)
    element = ElementTree.SubElement(suite, "testcase", attributes)
    _properties(element, case.properties)
    # An empty failure or error would read as a pass to some viewers: it always has a message.
    if case.outcome is not None and (case.message or case.output or case.outcome == "skipped"):
        outcome = ElementTree.SubElement(element, case.outcome, type=case.kind)
        if case.message:
            outcome.set("message", case.message)
        outcome.text = case.output or None
    if case.stdout:
        ElementTree.SubElement(element, "system-out").text = case.stdout


def render(report: RunReport) -> str:
    title = inert.plain(report.spec.title, 200) if report.spec and report.spec.title else "API"
    classname = f"api-mcp-test.{report.spec.framework if report.spec else 'unknown'}"
    cases = [_case(r, classname) for r in report.results]
    stage = _stage_case(report)
    cases += [stage] if stage else []
    properties = {"agent": report.agent, "suite": report.suite}
    if report.spec:
        properties["spec_source"] = report.spec.spec_source
    if report.baseline is not None:
        properties["baseline"] = report.baseline.ref
        properties["api_breaking_changes"] = str(sum(c.breaking for c in report.api_changes))
    seconds = sum(c.seconds for c in cases)
    counts = {"disabled": "0",
              "errors": str(sum(c.outcome == "error" for c in cases)),
              "failures": str(sum(c.outcome == "failure" for c in cases))}
    root = ElementTree.Element("testsuites", {**counts, "tests": str(len(cases)),
                                              "time": str(float(seconds))})
    suite = ElementTree.SubElement(root, "testsuite", {
        **counts, "name": f"api-mcp-test: {title}",
        "skipped": str(sum(c.outcome == "skipped" for c in cases)),
        "tests": str(len(cases)), "time": str(seconds or 0)})
    _properties(suite, properties)
    for case in cases:
        _testcase(suite, case)
    xml = _ILLEGAL.sub("", ElementTree.tostring(root, encoding="unicode"))
    return minidom.parseString(xml).toprettyxml(encoding="utf-8").decode("utf-8")
