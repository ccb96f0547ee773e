"""Hard checks on every recorded response: small named functions, listed and selected by name.

A check returns None when it does not apply to a call (e.g. no schema documented), so a report
never claims a check passed that did not run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runner.discovery.spec import response_schema, to_json_schema
from runner.models import CheckResult, Endpoint, EndpointResult, Finding, ToolCall

Check = Callable[[ToolCall, Endpoint], CheckResult | None]
CHECKS: dict[str, Check] = {}
# A valid call answered with these is "not tested: needs auth", not a failure.
_AUTH_STATUSES = (401, 403)
# Intents of calls made to succeed: a schema-valid call, or a guess when the spec is synthesized.
_MEANT_TO_SUCCEED = ("valid", "guess")
# The runner's own sign-up/login requests (intent `auth`, runner/auth): a 4xx there is the
# runner's guess failing (the notes say "automatic login did not work"), not the API's fault, so
# only these checks judge it.
_AUTH_REFUSED_CHECKS = ("response_received", "not_a_server_error")


def check(fn: Check) -> Check:
    CHECKS[fn.__name__] = fn
    return fn


def _result(fn_name: str, call: ToolCall, passed: bool, message: str = "") -> CheckResult:
    return CheckResult(check=fn_name, passed=passed, call_id=call.call_id, message=message)


@check
def response_received(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """The API answered at all (no timeout, refused connection or tool error)."""
    if call.error or call.status_code is None:
        return _result("response_received", call, False, call.error or "no response")
    return _result("response_received", call, True)


@check
def not_a_server_error(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """No 5xx, whatever the input."""
    if call.status_code is None:
        return None
    if call.status_code >= 500:
        return _result("not_a_server_error", call, False,
                       f"server error {call.status_code}: {_excerpt(call.body)}")
    return _result("not_a_server_error", call, True)


@check
def status_code_documented(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """The status code (or its class, or `default`) appears in the operation's responses."""
    if call.status_code is None or not endpoint.responses:
        return None
    key, _ = response_schema(endpoint, call.status_code)
    if key is None:
        documented = ", ".join(sorted(endpoint.responses)) or "none"
        return _result("status_code_documented", call, False,
                       f"status {call.status_code} is not documented (documented: {documented})")
    return _result("status_code_documented", call, True)


@check
def content_type_conformance(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """The response's media type is one the operation documents for that status."""
    if call.status_code is None or call.body_bytes == 0:
        return None
    key, _ = response_schema(endpoint, call.status_code)
    if key is None:
        return None
    content = (endpoint.responses.get(key) or {}).get("content") or {}
    if not content:
        return None
    actual = (call.headers.get("content-type") or "").split(";")[0].strip().lower()
    documented = [media.split(";")[0].strip().lower() for media in content]
    if any(_media_matches(actual, media) for media in documented):
        return _result("content_type_conformance", call, True)
    return _result("content_type_conformance", call, False,
                   f"content-type {actual or '(none)'} not in documented {', '.join(documented)}")


@check
def response_schema_conformance(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A JSON body validates against the documented response schema (JSON Schema 2020-12)."""
    if call.status_code is None or not call.body_is_json or call.body_truncated:
        return None
    _, schema = response_schema(endpoint, call.status_code)
    if not schema:
        return None
    json_schema = to_json_schema(schema)
    try:
        validator = Draft202012Validator(json_schema)
        errors = sorted(validator.iter_errors(call.body), key=lambda e: list(e.absolute_path))
    except SchemaError as exc:
        return _result("response_schema_conformance", call, False,
                       f"documented schema is invalid: {exc.message}")
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        return _result("response_schema_conformance", call, False,
                       f"body does not match schema at {where}: {first.message[:200]}{more}")
    return _result("response_schema_conformance", call, True)


@check
def valid_input_accepted(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """Arguments built to satisfy the schema get a success answer (2xx/3xx).

    Not applied to guesses (synthesized spec): there a 4xx is a warning, see `guess_rejected`.
    """
    if (call.intent not in ("valid", "boundary", "auth") or call.status_code is None
            or call.status_code >= 500):
        return None
    if call.status_code in _AUTH_STATUSES:
        return None  # reported as "needs auth", not as a failure
    if call.status_code >= 400:
        return _result("valid_input_accepted", call, False,
                       f"schema-valid input was rejected with {call.status_code}: "
                       f"{_excerpt(call.body)}")
    return _result("valid_input_accepted", call, True)


@check
def invalid_input_rejected(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """Input that breaks the schema or names a missing resource gets a 4xx, not a success."""
    if call.intent not in ("invalid", "not_found") or call.status_code is None:
        return None
    if 400 <= call.status_code < 500:
        return _result("invalid_input_rejected", call, True)
    return _result("invalid_input_rejected", call, False,
                   f"{call.intent.replace('_', '-')} input answered {call.status_code}")


def needs_auth(call: ToolCall) -> bool:
    return call.intent in _MEANT_TO_SUCCEED and call.status_code in _AUTH_STATUSES


def guess_rejected(call: ToolCall) -> str | None:
    """A warning when a guessed request (synthesized spec: the valid input is unknown) got a
    4xx: maybe a bug, maybe only our guess; a person should look. A 5xx fails as usual."""
    if call.intent != "guess" or call.status_code is None or call.status_code in _AUTH_STATUSES:
        return None
    if 400 <= call.status_code < 500:
        return (f"a guessed request got {call.status_code}; the valid input is unknown "
                f"(synthesized spec): check by hand ({call.call_id}: {_excerpt(call.body, 120)})")
    return None


def select(names: Iterable[str] = ()) -> dict[str, Check]:
    chosen = list(names)
    unknown = [n for n in chosen if n not in CHECKS]
    if unknown:
        from runner.errors import UsageError

        raise UsageError(f"Unknown check(s): {', '.join(unknown)}.",
                         f"Choose from: {', '.join(CHECKS)}.")
    return {n: CHECKS[n] for n in chosen} if chosen else dict(CHECKS)


def run_checks(call: ToolCall, endpoint: Endpoint, checks: dict[str, Check]) -> list[CheckResult]:
    if call.intent == "auth" and call.status_code is not None and 400 <= call.status_code < 500:
        checks = {n: fn for n, fn in checks.items() if n in _AUTH_REFUSED_CHECKS}
    results = []
    for fn in checks.values():
        outcome = fn(call, endpoint)
        if outcome is not None:
            results.append(outcome)
    return results


def _media_matches(actual: str, documented: str) -> bool:
    if documented in ("*/*", actual):
        return True
    if documented.endswith("/*"):
        return actual.startswith(documented[:-1])
    return False


def _excerpt(body: Any, limit: int = 200) -> str:
    text = body if isinstance(body, str) else repr(body)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")



def evaluate(
    endpoints: list[Endpoint],
    calls: list[ToolCall],
    tool_names: dict[str, str],
    checks: dict[str, Check],
) -> list[EndpointResult]:
    """Per-endpoint verdicts from the recorded calls alone."""
    by_endpoint: dict[str, list[ToolCall]] = {}
    for call in calls:
        by_endpoint.setdefault(call.endpoint_key, []).append(call)
    results = []
    for endpoint in endpoints:
        own = by_endpoint.get(endpoint.key, [])
        result = EndpointResult(endpoint=endpoint, tool=tool_names.get(endpoint.key, ""),
                                outcome="passed", calls=own)
        for call in own:
            result.checks.extend(run_checks(call, endpoint, checks))
            warning = guess_rejected(call)
            if warning:
                result.warnings.append(warning)
        valid = [c for c in own if c.intent in _MEANT_TO_SUCCEED]
        if valid and all(needs_auth(c) for c in valid):
            result.outcome = "skipped"
            result.reason = (f"not tested: needs auth (answered {valid[0].status_code}); "
                             "configure credentials for the API under test")
            results.append(result)
            continue
        failed = [c for c in result.checks if not c.passed]
        if not own:
            result.outcome, result.reason = "error", "not exercised: no call reached this endpoint"
        elif failed:
            transport_only = all(c.check == "response_received" for c in failed)
            result.outcome = "error" if transport_only else "failed"
            result.reason = "; ".join(f"{c.check}: {c.message}" for c in failed[:3])
        results.append(result)
    return results


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
