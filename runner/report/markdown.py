"""The Markdown report: the terminal's table, the job summary and the PR comment body."""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from string import Template
from typing import Any

from runner.models import EndpointResult, RunReport
from runner.report import inert

_TEMPLATE = Template((Path(__file__).parent / "templates" / "report.md.tmpl").read_text())
_ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️"}
_EXCERPT = 600
_LOG_TAIL = 3000

# Every piece of text below that the app or the pull request controls (title, paths, tool
# names, reasons, check messages, bodies, findings, errors, log lines) goes through `inert`:
# it renders as the text it is, never as HTML, a link, a mention, a heading or a marker.


_BASELINE_ICONS = {"new failure": "🆕 new failure", "fixed": "🎉 fixed",
                   "still failing": "still failing", "new endpoint": "new endpoint",
                   "unchanged": ""}


def _table(results: list[EndpointResult], against_base: bool = False) -> str:
    if not results:
        return "_No endpoints were tested._\n"
    base_head = " vs base |" if against_base else ""
    rows = ["| | Endpoint | Tool | Calls | Result |" + base_head,
            "|---|---|---|---:|---|" + ("---|" if against_base else "")]
    for r in results:
        verdict = (r.outcome if r.outcome == "passed"
                   else f"{r.outcome}: {inert.text(r.reason, 160)}")
        if r.warnings:
            verdict += f" (warning: {inert.text(r.warnings[0], 160)})"
        base_cell = f" {_BASELINE_ICONS.get(r.baseline or '', '')} |" if against_base else ""
        rows.append(f"| {_ICONS[r.outcome]} | {inert.code(r.endpoint.key)} | {inert.code(r.tool)} "
                    f"| {len(r.calls)} | {verdict} |{base_cell}")
    return "\n".join(rows) + "\n"


_MAX_CHANGES = 30


def _change(change: Any) -> str:
    return (f"- {inert.code(change.operation, 120)} {inert.text(change.change, 80)}: "
            f"{inert.text(change.detail, 200)}")


def _pr_story(report: RunReport) -> str:
    """What this PR did, above everything else: the story line, then its breaking changes."""
    from runner.baseline import story

    line = story(report)
    if not line:
        return ""
    text = f"**Against the base:** {inert.text(line, 400)}\n"
    breaking = [c for c in report.api_changes if c.breaking]
    if breaking:
        text += "\n**Breaking API changes**\n\n" + "\n".join(
            _change(c) for c in breaking[:_MAX_CHANGES])
        if len(breaking) > _MAX_CHANGES:
            text += f"\n- … and {len(breaking) - _MAX_CHANGES} more (report.json has them all)"
        text += "\n"
    others = [c for c in report.api_changes if not c.breaking]
    if others:
        text += (f"\n<details><summary>Other API changes ({len(others)})</summary>\n\n"
                 + "\n".join(_change(c) for c in others[:_MAX_CHANGES]) + "\n</details>\n")
    return text + "\n"


def _failure_details(results: list[EndpointResult]) -> str:
    blocks = []
    for r in results:
        if r.outcome not in ("failed", "error"):
            continue
        summary = html.escape(inert.clean(r.endpoint.key)[:200], quote=False)
        lines = [f"<details><summary>{_ICONS[r.outcome]} <code>{summary}</code></summary>", ""]
        if r.endpoint.source:
            where = str(r.endpoint.source)
            lines.append(f"Source: {inert.code(where)}\n")
        for check in r.checks:
            if not check.passed:
                lines.append(f"- **{inert.text(check.check, 80)}** "
                             f"({inert.code(check.call_id, 80)}): {inert.text(check.message, 300)}")
                if check.reproduce:
                    lines.append(f"  reproduce: {inert.code(check.reproduce, 600)}")
        for call in r.calls:
            if not any(c.call_id == call.call_id and not c.passed for c in r.checks):
                continue
            body = call.body if isinstance(call.body, str) else json.dumps(call.body, default=str)
            answer = call.status_code if call.status_code is not None else inert.text(call.error)
            lines += [
                "",
                (f"{inert.code(call.call_id, 80)} {inert.text(call.intent, 40)}: "
                 f"{inert.code(f'{call.method} {call.url or call.path}')} with "
                 f"{inert.code(json.dumps(call.arguments, default=str), 300)} → **{answer}**"),
                inert.fence(body or "", _EXCERPT),
            ]
            if call.traceback:
                lines += ["The app's traceback (from app.log):", inert.fence(call.traceback, 4000)]
        lines += ["", "</details>"]
        blocks.append("\n".join(lines))
    return ("\n### Failures\n\n" + "\n\n".join(blocks) + "\n") if blocks else ""


_VERDICTS = {"pass": "✅", "fail": "❌", "concern": "❔"}


def _findings(results: list[EndpointResult]) -> str:
    """The LLM agent's findings per endpoint, with their evidence and short reasoning."""
    rows = []
    for r in results:
        for f in r.findings:
            verdict = f"{_VERDICTS.get(f.verdict, '')} {inert.text(f.verdict, 20)}"
            if not f.accepted:
                verdict = (f"~~{inert.text(f.verdict, 20)}~~ rejected: "
                           f"{inert.text(f.rejection, 120)}")
            why = f" — _{inert.text(f.reasoning, 240)}_" if f.reasoning else ""
            evidence = ", ".join(inert.code(c, 40) for c in f.evidence[:5]) or "none"
            rows.append(f"| {inert.code(r.endpoint.key)} | {verdict} | "
                        f"{inert.text(f.summary, 200)}{why} | {evidence} |")
    if not rows:
        return ""
    return ("\n### Agent findings\n\nAn accepted finding cites calls recorded by the harness; "
            "only an accepted `fail` changes an outcome.\n\n"
            "| Endpoint | Verdict | Finding | Evidence |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


def _nothing_tested(report: RunReport) -> str:
    """The headline of a run that called no endpoint successfully enough to judge it."""
    total = len(report.results)
    if not total:
        return "**Nothing was tested: the API has no operations to call.**"
    reasons = Counter(r.reason for r in report.results if r.reason)
    common = (f" Most common reason ({reasons.most_common(1)[0][1]} of {total}): "
              f"{inert.text(reasons.most_common(1)[0][0], 200)}") if reasons else ""
    return (f"**Nothing was tested: none of the {total} endpoints could be judged** "
            f"({total} skipped).{common}")


def _headline(report: RunReport) -> tuple[str, str]:
    counts = report.counts
    if report.status == "failed":
        return "💥", (f"**The run stopped at the {inert.code(report.failed_stage)} stage.** "
                      f"{inert.text(report.error or '', 1500)}")
    if report.nothing_tested:
        return "⚠️", _nothing_tested(report)
    headline = (f"**{counts['passed']}/{len(report.results)} endpoints passed** "
                f"({report.success_rate}% of tested)")
    others = [f"{counts[k]} {k}" for k in ("failed", "error", "skipped") if counts[k]]
    if others:
        headline += " · " + ", ".join(others)
    return ("✅" if report.overall_success else "❌"), headline


def render(report: RunReport, footer: str = "") -> str:
    spec = report.spec
    icon, headline = _headline(report)
    if spec:
        # The API's title is the app's text: shown as code here, never in our heading.
        title = f"{spec.title} {spec.version}".strip()
        headline += f"\n\napi: {inert.code(title, 80)} · " if title else "\n\n"
        headline += (f"agent: {report.agent} · suite: {report.suite} · framework: "
                     f"{inert.text(spec.framework, 40)} ({inert.text(spec.spec_source, 40)} spec)"
                     f" · app: {inert.code(spec.app_locator)}")
        if spec.synthesized_note:
            headline += f"\n\n> {inert.text(spec.synthesized_note, 600)}"
    if report.auth.get("ok"):
        from runner.auth import describe

        headline += f"\n\n{inert.text(describe(report.auth), 600)}"
    if report.usage:
        usage = ", ".join(f"{k}: {v}" for k, v in report.usage.to_json().items())
        headline += f"\n\nmodel usage: {inert.text(usage, 600)}"
    if report.mcp_readiness:
        headline += f"\n\n{inert.text(report.mcp_readiness.get('summary', ''), 300)}"
    stage_failure = ""
    if report.status == "failed" and report.error_detail:
        tail = report.error_detail[-_LOG_TAIL:]
        stage_failure = (f"\n<details><summary>Log tail</summary>\n\n"
                         f"{inert.fence(tail, _LOG_TAIL + 1)}\n</details>\n")
    stages = "\n".join(f"| {inert.text(s.stage, 40)} | {s.seconds:.2f} | {'' if s.ok else '❌'} "
                        f"{inert.text(s.note, 300)} |" for s in report.stages)
    notes = "".join(f"\n- {inert.text(n, 600)}" for n in report.notes)
    against_base = report.baseline is not None and report.baseline.compared
    return _TEMPLATE.substitute(
        icon=icon,
        headline=_pr_story(report) + headline,
        table=(_table(report.results, against_base) if report.status == "completed" else ""),
        failures=_failure_details(report.results),
        findings=_findings(report.results),
        stage_failure=stage_failure,
        stages=stages,
        total_seconds=f"{sum(s.seconds for s in report.stages):.1f}",
        footer=(f"Notes:{notes}\n\n" if notes else "") + footer,
    )


def fit(markdown: str, limit: int, pointer: str) -> str:
    """Cut a report to `limit` characters at a line boundary, saying where the rest is; a code
    block cut open is closed with its own fence, so the note is not swallowed by it."""
    if len(markdown) <= limit:
        return markdown
    note = f"\n\n…report truncated. {pointer}\n"
    cut = markdown[: max(limit - len(note) - 64, 0)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    open_fence = ""
    for line in cut.split("\n"):
        ticks = len(line) - len(line.lstrip("`"))
        if not open_fence and ticks >= 3:
            open_fence = "`" * ticks
        elif open_fence and ticks >= len(open_fence) and not line.strip("`").strip():
            open_fence = ""
    if open_fence:
        cut += "\n" + open_fence
    return cut + note
