"""Per-operation verdicts from the recorded calls and the named checks (runner/checks.py).

No false alarms: a 4xx the operation documents is a fine answer to valid input; an undocumented
4xx is a warning unless the run is strict, and so is an invalid optional query value the API
ignored; a 404/409/410 that the run's own earlier calls
explain (stock used up, already deleted, already on loan) is never a failure; guesses and the
runner's own login requests are judged leniently; an operation the budget left out is skipped
with the reason.
"""

from __future__ import annotations

from runner.checks import Check, excerpt, run_checks
from runner.evidence import curl
from runner.models import CheckResult, Endpoint, EndpointResult, Finding, ToolCall

_AUTH_STATUSES = (401, 403)
# Intents of calls made to succeed (their 401/403 means "needs auth").
_MEANT_TO_SUCCEED = ("valid", "guess", "explore", "boundary")
_LENIENT = ("guess", "auth")
# Checks whose failure on a 4xx is a warning unless strict: the API may document less than
# it answers, and valid input can still meet a state the run made.
_SOFT_ON_4XX = ("positive_data_acceptance", "status_code_conformance")
_STATEFUL = (404, 409, 410, 412, 423)
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def needs_auth(call: ToolCall) -> bool:
    return call.intent in _MEANT_TO_SUCCEED and call.status_code in _AUTH_STATUSES


def lenient_warning(call: ToolCall) -> str | None:
    """A warning when a guessed request (the valid input is unknown) or the runner's own login
    request got a 4xx: maybe a bug, maybe only the guess; a person should look."""
    if call.intent not in _LENIENT or call.status_code is None:
        return None
    if call.status_code in _AUTH_STATUSES and call.intent == "guess":
        return None
    if 400 <= call.status_code < 500:
        what = ("the runner's own login request" if call.intent == "auth" else
                "a guessed request (the valid input is unknown: a synthesized spec, or a "
                "value only the API knows)")
        return (f"{what} got {call.status_code}: check by hand "
                f"({call.call_id}: {excerpt(call.body, 120)})")
    return None


guess_rejected = lenient_warning  # the earlier name


def evaluate(
    endpoints: list[Endpoint],
    calls: list[ToolCall],
    tool_names: dict[str, str],
    checks: dict[str, Check],
    strict: bool = False,
    not_called: dict[str, str] | None = None,
) -> list[EndpointResult]:
    """Per-endpoint verdicts from the recorded calls alone (in the order they were made).
    `not_called`: why the agent left an operation out (a budget), shown as its skip reason."""
    by_endpoint: dict[str, list[ToolCall]] = {}
    explained: set[str] = set()  # call ids whose 4xx earlier writes of the run may explain
    wrote = False
    for call in calls:
        by_endpoint.setdefault(call.endpoint_key, []).append(call)
        if wrote and call.status_code in _STATEFUL:
            explained.add(call.call_id)
        if call.method in _WRITES and call.status_code and 200 <= call.status_code < 300:
            wrote = True
    by_id = {c.call_id: c for c in calls}
    results = []
    for endpoint in endpoints:
        own = by_endpoint.get(endpoint.key, [])
        result = EndpointResult(endpoint=endpoint, tool=tool_names.get(endpoint.key, ""),
                                outcome="passed", calls=own)
        for call in own:
            for outcome in run_checks(call, endpoint, checks):
                soft = _softened(outcome, call, strict, call.call_id in explained)
                if soft:
                    result.warnings.append(soft)
                    outcome.passed, outcome.message = True, f"warning: {soft}"
                elif not outcome.passed:
                    smallest = by_id.get(call.expect.get("shrunk_to", "")) \
                        if outcome.check == "not_a_server_error" else None
                    if smallest is not None:  # the reduced input is the reproduction
                        outcome.message += (" (the smallest input found that still fails: "
                                            f"{smallest.call_id} with "
                                            f"{excerpt(smallest.arguments, 160)})")
                    if call.url:
                        outcome.reproduce = curl(smallest or call, endpoint)
                result.checks.append(outcome)
            warning = lenient_warning(call)
            if warning:
                result.warnings.append(warning)
        if not own:
            result.outcome = "skipped"
            result.reason = (not_called or {}).get(endpoint.key) or (
                "not tested: no call reached this operation (the agent's call budget or time "
                "ran out first; raise --max-tool-calls)")
            results.append(result)
            continue
        valid = [c for c in own if c.intent in _MEANT_TO_SUCCEED]
        if valid and all(needs_auth(c) for c in valid):
            result.outcome = "skipped"
            result.reason = (f"not tested: needs auth (answered {valid[0].status_code}); "
                             "configure credentials for the API under test")
            results.append(result)
            continue
        failed = [c for c in result.checks if not c.passed]
        if failed:
            transport_only = all(c.check == "response_received" for c in failed)
            result.outcome = "error" if transport_only else "failed"
            result.reason = "; ".join(f"{c.check}: {c.message}" for c in failed[:3])
        results.append(result)
    return results


def _softened(outcome: CheckResult, call: ToolCall, strict: bool, explained: bool) -> str:
    """The warning a failed check becomes (empty: it stays a failure)."""
    if (not outcome.passed and not strict and outcome.check == "negative_data_rejection"
            and call.expect.get("optional_query")):
        # Many frameworks ignore an optional query value they cannot parse (DRF's paging,
        # filters): worth a look, not a failure unless the run is strict.
        return f"{outcome.check}: {outcome.message} (an optional query value was ignored)"
    if outcome.passed or call.status_code is None or not 400 <= call.status_code < 500:
        return ""
    if call.intent in _LENIENT and outcome.check in _SOFT_ON_4XX:
        return f"{outcome.check}: {outcome.message}"
    if outcome.check not in _SOFT_ON_4XX:
        return ""
    if explained:
        return (f"{outcome.check}: {outcome.message} (explained by the run's own earlier "
                "calls: an earlier write may have used up, removed or locked the resource)")
    return "" if strict else f"{outcome.check}: {outcome.message}"


def apply_findings(results: list[EndpointResult], findings: list[Finding]) -> list[str]:
    """Attach the LLM agent's findings to their endpoints; return notes for the rest.

    The outcome still comes from the hard checks, with one addition: an accepted `fail` finding
    (it cites recorded calls of that endpoint) fails an endpoint the checks passed, with the
    reason "agent finding: ...". Rejected findings and `pass`/`concern` verdicts never change an
    outcome; they are shown with the endpoint.
    """
    by_key = {r.endpoint.key: r for r in results}
    notes = []
    for finding in findings:
        result = by_key.get(finding.endpoint)
        if result is None:
            notes.append(f"rejected agent finding for {finding.endpoint!r}: {finding.rejection} "
                         f"({finding.summary[:160]})")
            continue
        result.findings.append(finding)
        if finding.accepted and finding.verdict == "fail" and result.outcome == "passed":
            result.outcome = "failed"
            result.reason = f"agent finding: {finding.summary}"
    return notes
