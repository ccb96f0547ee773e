"""The LLM agent's verdicts: `record_finding`, checked against the call log.

Evidence, not opinion: a finding must cite call ids the generated wrapper recorded (outside the
model) for the endpoint it is about; one citing no recorded call, a call made before the model
started or only calls to other endpoints is kept but marked rejected, and the model is told
why. The intent a finding gives its cited calls (valid, invalid, boundary, not_found) is the
intent the checks judge them by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from runner.agent.calllog import CallLog
from runner.models import Endpoint, Finding

INTENTS = ("valid", "invalid", "boundary", "not_found")
VERDICTS = ("pass", "fail", "concern")


@dataclass
class Evidence:
    """Validates findings against the call log and keeps the model's intents for calls."""

    call_log: CallLog
    endpoints: dict[str, Endpoint]  # key and tool name -> endpoint
    before: set[str]  # call ids in the log before the LLM started (not its evidence)
    findings: list[Finding] = field(default_factory=list)
    intents: dict[str, str] = field(default_factory=dict)

    def record(self, endpoint: str, verdict: str, summary: str, evidence_call_ids: list[str],
               reasoning: str, intent: str) -> str:
        target = self.endpoints.get(endpoint_key(endpoint))
        finding = Finding(endpoint=target.key if target else endpoint.strip(),
                          verdict=verdict if verdict in VERDICTS else "concern",  # type: ignore[arg-type]
                          summary=summary.strip()[:500], evidence=[str(i) for i in evidence_call_ids],
                          reasoning=reasoning.strip()[:1000])
        cited = {i: self.call_log.get(i) for i in finding.evidence}
        unknown = [i for i, call in cited.items() if call is None or i in self.before]
        problem = ""
        if target is None:
            problem = f"unknown endpoint {endpoint!r}"
        elif verdict not in VERDICTS:
            problem = f"verdict must be one of {', '.join(VERDICTS)}"
        elif intent not in INTENTS:
            problem = f"intent must be one of {', '.join(INTENTS)}"
        elif not finding.evidence:
            problem = "cites no recorded call"
        elif unknown:
            problem = f"cites call ids that were never recorded: {', '.join(unknown)}"
        elif not any(c is not None and c.endpoint_key == target.key for c in cited.values()):
            problem = f"none of the cited calls is to {target.key}"
        if problem:
            finding.accepted, finding.rejection = False, problem
            self.findings.append(finding)
            return f"Rejected: {problem}. Cite call_id values from tool results of this endpoint."
        for call_id, call in cited.items():
            if call is not None and call.endpoint_key == finding.endpoint:
                self.intents[call_id] = intent
        self.findings.append(finding)
        return "Recorded."


def endpoint_key(text: str) -> str:
    parts = text.strip().split(None, 1)
    return f"{parts[0].upper()} {parts[1].strip()}" if len(parts) == 2 else text.strip()



def finding_tool(evidence: Evidence) -> Callable[..., str]:
    """The `record_finding` tool the model is given."""
    def record_finding(endpoint: str, verdict: Literal["pass", "fail", "concern"],
                       summary: str, evidence_call_ids: list[str], reasoning: str = "",
                       intent: Literal["valid", "invalid", "boundary", "not_found"] = "valid",
                       ) -> str:
        """Record a verdict about one endpoint, citing the calls that show it.

        Args:
            endpoint: The operation as "METHOD /path" (or its tool name).
            verdict: pass, fail (the API is wrong) or concern (suspicious).
            summary: One sentence.
            evidence_call_ids: call_id values from tool results that show it.
            reasoning: At most three sentences on why.
            intent: What the cited calls of this endpoint tested: valid, invalid,
                boundary or not_found.
        """
        return evidence.record(endpoint, verdict, summary, evidence_call_ids, reasoning,
                               intent)

    return record_finding
