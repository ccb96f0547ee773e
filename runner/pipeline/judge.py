"""Stage `checks`: every recorded call judged by the selected checks, per operation."""

from __future__ import annotations

from dataclasses import dataclass, field

from runner import auth as auth_mod
from runner import checks as checks_mod
from runner import verdicts
from runner.models import ApiSpec, EndpointResult, Finding, ToolCall
from runner.runconfig import CheckSettings


@dataclass
class Judged:
    results: list[EndpointResult]
    notes: list[str] = field(default_factory=list)


def judge(spec: ApiSpec, calls: list[ToolCall], tool_names: dict[str, str],
          settings: CheckSettings, findings: list[Finding], not_called: dict[str, str],
          logged_in: bool) -> Judged:
    selected = checks_mod.select(settings.checks)
    results = verdicts.evaluate(spec.endpoints, calls, tool_names, selected,
                                strict=settings.strict, not_called=not_called)
    notes = list(verdicts.apply_findings(results, findings))
    needs_auth = [r for r in results if r.outcome == "skipped" and "needs auth" in r.reason]
    if needs_auth:
        granted = " even with the credentials obtained" if logged_in else ""
        notes.append(f"{len(needs_auth)} operation(s) not tested: they answered 401/403{granted}. "
                     + auth_mod.configure_hint(spec))
    return Judged(results, notes)
