"""Hard checks on every recorded response: small named functions, listed and selected by name.

A check returns None when it does not apply to a call (e.g. no schema documented), so a report
never claims a check passed that did not run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema.exceptions import SchemaError

from runner.evidence import parse_traceback
from runner.models import CheckResult, Endpoint, ToolCall
from runner.openapi import response_errors, response_schema

Check = Callable[[ToolCall, Endpoint], CheckResult | None]
CHECKS: dict[str, Check] = {}
# A valid call answered with these is "not tested: needs auth", not a failure.
_AUTH_STATUSES = (401, 403)
# Intents of calls whose input satisfies the documented schema (and the runner's own login).
_POSITIVE = ("valid", "boundary", "explore", "auth")
# The runner's own sign-up/login requests (intent `auth`, runner/auth): a 4xx there is the
# runner's guess failing (the notes say "automatic login did not work"), not the API's fault, so
# only these checks judge it.
_AUTH_REFUSED_CHECKS = ("response_received", "not_a_server_error")
# Earlier names of checks, still accepted by --check.
ALIASES = {"status_code_documented": "status_code_conformance",
           "valid_input_accepted": "positive_data_acceptance",
           "invalid_input_rejected": "negative_data_rejection"}


def check(fn: Check | None = None, *, answered: str | None = None) -> Any:
    """Register a check by its name. `answered=INTENT`: it applies only to calls of that intent
    that got an answer (declared next to the check, not in its first lines)."""
    def register(fn: Check) -> Check:
        if answered is not None:
            judge = fn

            @functools.wraps(judge)
            def fn(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
                if call.intent != answered or call.status_code is None:
                    return None
                return judge(call, endpoint)
        CHECKS[fn.__name__] = fn
        return fn
    return register(fn) if fn is not None else register


def _result(fn_name: str, call: ToolCall, passed: bool, message: str = "") -> CheckResult:
    return CheckResult(check=fn_name, passed=passed, call_id=call.call_id, message=message)


def _refused(fn_name: str, call: ToolCall, failure: str) -> CheckResult:
    """A request the API must refuse: any answer but a 2xx passes; a 2xx fails with `failure`."""
    accepted = 200 <= (call.status_code or 0) < 300
    return _result(fn_name, call, not accepted, failure if accepted else "")


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
        logged = parse_traceback(call.traceback) if call.traceback else None
        cause = f"; the app raised {logged.summary()}" if logged else ""
        return _result("not_a_server_error", call, False,
                       f"server error {call.status_code}: {excerpt(call.body, 120)}{cause}")
    return _result("not_a_server_error", call, True)


_REFUSAL_PROBES = ("after_delete", "no_auth", "not_found", "invalid", "other_user")


@check
def status_code_conformance(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """The status code (or its class, or `default`) appears in the operation's responses.
    A probe made to be refused (a deleted or unknown id, no credentials, invalid input) is
    judged by its own check: whether its 4xx is documented says nothing about the API."""
    if call.status_code is None or not endpoint.responses:
        return None
    if call.intent in _REFUSAL_PROBES and 400 <= call.status_code < 500:
        return None
    key, _ = response_schema(endpoint, call.status_code)
    if key is None:
        documented = ", ".join(sorted(endpoint.responses)) or "none"
        return _result("status_code_conformance", call, False,
                       f"status {call.status_code} is not documented (documented: {documented})")
    return _result("status_code_conformance", call, True)


@check
def response_headers_conformance(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """The headers the response documents as required are present."""
    if call.status_code is None:
        return None
    key, _ = response_schema(endpoint, call.status_code)
    documented = ((endpoint.responses.get(key) or {}).get("headers") or {}) if key else {}
    required = [name for name, spec in documented.items()
                if isinstance(spec, dict) and spec.get("required")]
    if not required:
        return None
    sent = {k.lower() for k in call.headers}
    missing = [name for name in required if name.lower() not in sent]
    if missing:
        return _result("response_headers_conformance", call, False,
                       f"documented header(s) missing: {', '.join(missing)}")
    return _result("response_headers_conformance", call, True)


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
    """A JSON body validates against the documented response schema, in its document's dialect
    (OpenAPI 3.0 or 3.1 / JSON Schema 2020-12)."""
    if call.status_code is None or not call.body_is_json or call.body_truncated:
        return None
    _, schema = response_schema(endpoint, call.status_code)
    if not schema:
        return None
    try:
        errors = response_errors(call.body, schema, endpoint.openapi_version)
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
def positive_data_acceptance(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """Input built to satisfy the schema gets a success, or a 4xx the operation documents
    (an undocumented 4xx is a warning unless --strict)."""
    if call.intent not in _POSITIVE or call.status_code is None or call.status_code >= 500:
        return None
    if call.status_code in _AUTH_STATUSES:
        return None  # reported as "needs auth", not as a failure
    key, _ = response_schema(endpoint, call.status_code)
    if call.status_code >= 400 and key in (None, "default"):
        return _result("positive_data_acceptance", call, False,
                       f"schema-valid input was rejected with {call.status_code}: "
                       f"{excerpt(call.body)}")
    return _result("positive_data_acceptance", call, True)


@check
def negative_data_rejection(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """Input that breaks the schema (wrong type, out of range, missing field...) gets a 4xx."""
    if call.intent != "invalid" or call.status_code is None or "missing_header" in call.expect:
        return None
    return _expect_4xx("negative_data_rejection", call,
                       f"input that breaks the schema ({call.expect.get('broken', 'invalid')})")


@check
def missing_required_header(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A request without a required header gets a 4xx."""
    if call.intent != "invalid" or call.status_code is None or "missing_header" not in call.expect:
        return None
    return _expect_4xx("missing_required_header", call,
                       f"a request without the required header {call.expect['missing_header']}")


@check(answered="not_found")
def unknown_id_rejection(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """An id that names no resource gets a 4xx."""
    if call.method == "DELETE" and 200 <= call.status_code < 300:
        return None  # an idempotent delete may answer 204 for what is already gone
    return _expect_4xx("unknown_id_rejection", call, "an id that names no resource")


@check(answered="after_create")
def ensure_resource_availability(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A created resource is readable by its id / Location, with the fields sent, and is
    listed in its collection."""
    if call.status_code in _AUTH_STATUSES or call.status_code >= 500:
        return None
    if call.status_code >= 300:
        return _result("ensure_resource_availability", call, False,
                       f"the resource created by {call.expect.get('after', 'an earlier call')} "
                       f"is not readable: {call.status_code}")
    problem = _state_problem(call)
    return _result("ensure_resource_availability", call, not problem, problem)


@check(answered="after_update")
def update_persisted(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A read after a successful update shows the updated fields."""
    if call.status_code >= 300:
        return None  # readability is ensure_resource_availability's
    problem = _state_problem(call)
    return _result("update_persisted", call, not problem, problem)


@check(answered="after_delete")
def use_after_free(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """After a successful delete, a read of the resource answers 404/410."""
    if call.status_code in (404, 410):
        return _result("use_after_free", call, True)
    if 200 <= call.status_code < 300:
        return _result("use_after_free", call, False,
                       f"the resource deleted by {call.expect.get('after', 'an earlier call')} "
                       f"still answers {call.status_code}: {excerpt(call.body, 120)}")
    return None  # a 4xx other than not-found says nothing about the deletion


@check(answered="no_auth")
def ignored_auth(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """An operation that requires credentials refuses a request without them."""
    why = call.expect.get("why")
    return _refused("ignored_auth", call, f"answered {call.status_code} without credentials "
                    f"(it requires them{': ' + why if why else ''})")


@check(answered="other_user")
def object_level_authorization(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """Another user cannot read, change or delete a user's resource (OWASP API1, BOLA)."""
    return _refused("object_level_authorization", call,
                    f"a second user's {call.method} of the first user's resource answered "
                    f"{call.status_code} ({call.expect.get('after', 'an earlier call')})")


@check
def paging_respected(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A paging parameter (limit, per_page, page_size, size) bounds the number of items."""
    if call.intent != "paging" or not _ok_json(call):
        return None
    items = items_of(call.body)
    limit = int(call.expect.get("max_items", 0))
    if items is None:
        return None
    if len(items) > limit:
        return _result("paging_respected", call, False,
                       f"{call.expect.get('param', 'limit')}={limit} answered {len(items)} items")
    return _result("paging_respected", call, True)


@check
def filter_respected(call: ToolCall, endpoint: Endpoint) -> CheckResult | None:
    """A filter parameter named after a field of the items returns only matching items."""
    if call.intent != "filter" or not _ok_json(call):
        return None
    items = items_of(call.body)
    name, wanted = call.expect.get("field"), call.expect.get("value")
    if items is None or not name:
        return None
    wrong = [i for i in items if isinstance(i, dict) and name in i
             and _text(i[name]) != _text(wanted)]
    if wrong:
        return _result("filter_respected", call, False,
                       f"{name}={_text(wanted)} also returned items with {name}="
                       f"{_text(wrong[0][name])} ({len(wrong)} of {len(items)})")
    return _result("filter_respected", call, True)


def _expect_4xx(name: str, call: ToolCall, what: str) -> CheckResult:
    if 400 <= call.status_code < 500:  # type: ignore[operator]
        return _result(name, call, True)
    return _result(name, call, False, f"{what} was answered {call.status_code}")


def _ok_json(call: ToolCall) -> bool:
    return bool(call.status_code and 200 <= call.status_code < 300 and call.body_is_json)


def items_of(body: Any) -> list[Any] | None:
    """The items of a collection answer: the list itself, or the list in a paging envelope."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "data", "results", "records", "objects", "content"):
            if isinstance(body.get(key), list):
                return body[key]
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _state_problem(call: ToolCall) -> str:
    """What differs between the fields the agent expects (sent and echoed) and the answer."""
    fields = call.expect.get("fields") or {}
    contains = call.expect.get("contains")
    body = call.body if call.body_is_json else None
    if contains:
        items = items_of(body) or []
        name, value = contains
        if not any(isinstance(i, dict) and i.get(name) == value for i in items):
            return (f"the item created by {call.expect.get('after', 'an earlier call')} "
                    f"({name}={value!r}) is not in the list ({len(items)} items)")
        return ""
    if fields and not isinstance(body, dict):
        return "the answer is not an object to compare the fields with"
    for name, sent in fields.items():
        if isinstance(body, dict) and name in body and body[name] != sent:
            return (f"{name} is {body[name]!r}, but "
                    f"{call.expect.get('after', 'an earlier call')} set it to {sent!r}")
    # Fields the write's answer did not echo: only a value unchanged from before the write
    # is a lost update (any other value may be the server's normal form of the one sent).
    for name, change in (call.expect.get("unchanged") or {}).items():
        if isinstance(body, dict) and name in body and body[name] == change["was"]:
            return (f"{name} is still {change['was']!r}: "
                    f"{call.expect.get('after', 'an earlier call')} set it to "
                    f"{change['sent']!r} and answered success")
    return ""


def select(names: Iterable[str] = ()) -> dict[str, Check]:
    chosen = [ALIASES.get(n, n) for n in names]
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


def excerpt(body: Any, limit: int = 200) -> str:
    text = body if isinstance(body, str) else repr(body)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")
