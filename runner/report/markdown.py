"""The Markdown report: the terminal's table, the job summary and the PR comment body."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from runner.models import EndpointResult, RunReport

_TEMPLATE = Template((Path(__file__).parent / "templates" / "report.md.tmpl").read_text())
_ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️"}
_EXCERPT = 600


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text[:limit] + ("…" if len(text) > limit else "")


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
        verdict = r.outcome if r.outcome == "passed" else f"{r.outcome}: {_cell(r.reason)}"
        if r.warnings:
            verdict += f" (warning: {_cell(r.warnings[0])})"
        base_cell = f" {_BASELINE_ICONS.get(r.baseline or '', '')} |" if against_base else ""
        rows.append(f"| {_ICONS[r.outcome]} | `{r.endpoint.key}` | `{r.tool}` | {len(r.calls)} "
                    f"| {verdict} |{base_cell}")
    return "\n".join(rows) + "\n"


_MAX_CHANGES = 30


def _pr_story(report: RunReport) -> str:
    """What this PR did, above everything else: the story line, then its breaking changes."""
    from runner.baseline import story

    line = story(report)
    if not line:
        return ""
    text = f"**Against the base:** {_cell(line, 400)}\n"
    breaking = [c for c in report.api_changes if c.breaking]
    if breaking:
        text += "\n**Breaking API changes**\n\n" + "\n".join(
            f"- `{_cell(c.operation, 120)}` {c.change}: {_cell(c.detail, 200)}"
            for c in breaking[:_MAX_CHANGES])
        if len(breaking) > _MAX_CHANGES:
            text += f"\n- … and {len(breaking) - _MAX_CHANGES} more (report.json has them all)"
        text += "\n"
    others = [c for c in report.api_changes if not c.breaking]
    if others:
        text += (f"\n<details><summary>Other API changes ({len(others)})</summary>\n\n"
                 + "\n".join(f"- `{_cell(c.operation, 120)}` {c.change}: {_cell(c.detail, 200)}"
                             for c in others[:_MAX_CHANGES]) + "\n</details>\n")
    return text + "\n"


def _failure_details(results: list[EndpointResult]) -> str:
    blocks = []
    for r in results:
        if r.outcome not in ("failed", "error"):
            continue
        lines = [f"<details><summary>{_ICONS[r.outcome]} <code>{r.endpoint.key}</code></summary>",
                 ""]
        if r.endpoint.source:
            lines.append(f"Source: `{r.endpoint.source.get('file')}:"
                         f"{r.endpoint.source.get('line')}`\n")
        for check in r.checks:
            if not check.passed:
                lines.append(f"- **{check.check}** ({check.call_id}): {_cell(check.message, 300)}")
        for call in r.calls:
            if not any(c.call_id == call.call_id and not c.passed for c in r.checks):
                continue
            body = call.body if isinstance(call.body, str) else json.dumps(call.body, default=str)
            lines += [
                "",
                (f"`{call.call_id}` {call.intent}: `{call.method} {call.url or call.path}` "
                f"with `{json.dumps(call.arguments, default=str)[:300]}` → "
                f"**{call.status_code if call.status_code is not None else call.error}**"),
                "```",
                (body or "")[:_EXCERPT],
                "```",
            ]
        lines += ["", "</details>"]
        blocks.append("\n".join(lines))
    return ("\n### Failures\n\n" + "\n\n".join(blocks) + "\n") if blocks else ""


_VERDICTS = {"pass": "✅", "fail": "❌", "concern": "❔"}


def _findings(results: list[EndpointResult]) -> str:
    """The LLM agent's findings per endpoint, with their evidence and short reasoning."""
    rows = []
    for r in results:
        for f in r.findings:
            verdict = f"{_VERDICTS[f.verdict]} {f.verdict}"
            if not f.accepted:
                verdict = f"~~{f.verdict}~~ rejected: {_cell(f.rejection, 120)}"
            why = f" — _{_cell(f.reasoning, 240)}_" if f.reasoning else ""
            evidence = ", ".join(f"`{c}`" for c in f.evidence[:5]) or "none"
            rows.append(f"| `{r.endpoint.key}` | {verdict} | {_cell(f.summary, 200)}{why} "
                        f"| {evidence} |")
    if not rows:
        return ""
    return ("\n### Agent findings\n\nAn accepted finding cites calls recorded by the harness; "
            "only an accepted `fail` changes an outcome.\n\n"
            "| Endpoint | Verdict | Finding | Evidence |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")


def render(report: RunReport, footer: str = "") -> str:
    spec = report.spec
    counts = report.counts
    total = len(report.results)
    if report.status == "failed":
        icon = "💥"
        headline = (f"**The run stopped at the `{report.failed_stage}` stage.** "
                    f"{report.error or ''}")
    else:
        icon = "✅" if report.overall_success else "❌"
        headline = (f"**{counts['passed']}/{total} endpoints passed** "
                    f"({report.success_rate}% of tested)")
        others = [f"{counts[k]} {k}" for k in ("failed", "error", "skipped") if counts[k]]
        if others:
            headline += " · " + ", ".join(others)
    if spec:
        headline += (f"\n\nagent: {report.agent} · suite: {report.suite} · framework: "
                     f"{spec.framework} ({spec.spec_source} spec) · app: `{spec.app_locator}`")
        if spec.synthesized_note:
            headline += f"\n\n> {spec.synthesized_note}"
    if report.auth.get("ok"):
        from runner.auth import describe

        headline += f"\n\n{describe(report.auth)}"
    if report.usage:
        usage = ", ".join(f"{k}: {v}" for k, v in report.usage.items())
        headline += f"\n\nmodel usage: {usage}"
    stage_failure = ""
    if report.status == "failed" and report.error_detail:
        stage_failure = f"\n<details><summary>Log tail</summary>\n\n```\n" \
                        f"{report.error_detail[-3000:]}\n```\n</details>\n"
    stages = "\n".join(f"| {s.stage} | {s.seconds:.2f} | {'' if s.ok else '❌'} {s.note} |"
                       for s in report.stages)
    notes = "".join(f"\n- {n}" for n in report.notes)
    against_base = report.baseline is not None and report.baseline.compared
    return _TEMPLATE.substitute(
        icon=icon,
        title=(f"{spec.title} {spec.version}".strip() if spec and spec.title else "API"),
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
    """Cut a report to `limit` characters at a line boundary, saying where the rest is."""
    if len(markdown) <= limit:
        return markdown
    note = f"\n\n…report truncated. {pointer}\n"
    cut = markdown[: limit - len(note)]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + note
