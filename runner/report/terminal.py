"""The terminal's table: one line per endpoint, the counts, and the PR's story (app text made
inert: no escape sequences reach a developer's terminal)."""

from __future__ import annotations

from runner.baseline import story
from runner.models import RunReport
from runner.report import inert

_MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def render(report: RunReport) -> str:
    """The table, counts and notes a person reads after a run ("" when there is nothing)."""
    lines: list[str] = []
    if not report.results:
        if report.nothing_tested:
            lines.append("Nothing was tested: the API has no operations to call.")
    else:
        lines += _table(report)
    if story(report):
        lines.append(inert.terminal(story(report)))
    return "".join(line + "\n" for line in lines)


def _table(report: RunReport) -> list[str]:
    keys = {id(r): inert.one_line(r.endpoint.key, 120) for r in report.results}
    width = max(len(k) for k in keys.values())
    lines = []
    for r in report.results:
        reason = r.reason if r.reason and r.outcome != "passed" else ""
        if r.warnings and not reason:
            reason = f"warning: {r.warnings[0]}"
        against_base = f"  [{r.baseline}]" if r.baseline not in (None, "unchanged") else ""
        reason = f"  {inert.one_line(reason, 160)}" if reason else ""
        lines.append(f"{_MARKS[r.outcome]:<5} {keys[id(r)]:<{width}}  "
                     f"{inert.one_line(r.tool, 80)}{reason}{against_base}")
    counts = report.counts
    lines.append(f"\n{counts['passed']} passed, {counts['failed']} failed"
                 + (f", {counts['skipped']} skipped" if counts["skipped"] else "")
                 + (f", {counts['error']} errors" if counts["error"] else "")
                 + f" ({report.success_rate}% of tested endpoints passed)")
    if report.nothing_tested:
        lines.append("Nothing was tested: no endpoint could be judged (see the reasons above).")
    warned = sum(bool(r.warnings) for r in report.results)
    if warned:
        lines.append(f"{warned} endpoint(s) with warnings: see the report.")
    if report.spec and report.spec.synthesized_note:
        lines.append(report.spec.synthesized_note)
    return lines
