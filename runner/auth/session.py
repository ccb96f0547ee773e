"""One login's HTTP exchange with the API: the requests of a sign-up, a login or a refresh, the
CSRF retry, and each request recorded as the runner's own call with every secret masked.
What to send and which credentials come out of the answers is runner/auth/flow.py's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from runner.auth import plan, tokens
from runner.auth.seed import SeededUser
from runner.auth.user import HINT, STAGE, ThrowawayUser, credential_kind, credentials_body, expand
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthStep, ToolCall

INTENT = "auth"  # the intent of the runner's own calls: judged leniently (runner/checks.py)


@dataclass
class Session:
    client: httpx.Client
    spec: ApiSpec
    user: ThrowawayUser
    record: dict[str, Any]
    secrets: set[str]
    token_path: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    login_name: str = "username"  # what the sign-up named the user by: username or email
    granted: Mapping[str, str] = field(default_factory=dict)  # the ${NAME}s it may expand
    seeded: SeededUser | None = None  # the user was created in the throwaway database

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self.secrets:
                if secret:
                    value = value.replace(secret, "***")
            return value
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        return value


def send(session: Session, step: AuthStep, what: str) -> httpx.Response:
    spec, user = session.spec, session.user
    if not step.path.startswith("/") or "://" in step.path:
        raise RunnerError(STAGE, f"The {what} operation path {step.path!r} is not a path on "
                          "the API.", HINT)
    endpoint = plan.endpoint_of(spec, step.method, step.path)
    if step.body is not None:
        body = {k: expand(v, user, session.granted) if isinstance(v, str) else v
                for k, v in step.body.items()}
    else:
        body = credentials_body(endpoint, spec, user, full=what == "register",
                                login_name=session.login_name)
    request: dict[str, Any] = {}
    basic = step.content == "basic" or plan.wants_basic(spec, endpoint)
    if basic:  # the user's name and password as HTTP basic
        name = next((str(v) for k, v in body.items() if credential_kind(k) == "username"),
                    getattr(user, session.login_name))
        password = next((str(v) for k, v in body.items() if credential_kind(k) == "password"),
                        user.password)
        request["auth"] = (name, password)
        if step.content == "basic" or not (endpoint and endpoint.request_body):
            body = {}
    if not basic or body:
        if step.content == "form":
            request["data"] = {k: str(v) for k, v in body.items()}
        else:
            request["json"] = body
    answer = _request(session, step, what, body, request)
    if tokens.csrf_failure(answer):
        request["headers"] = _csrf_headers(session, step.path)
        answer = _request(session, step, what, body, request)
    if answer.status_code >= 400:
        excerpt = session.mask(" ".join(answer.text.split())[:200])
        raise RunnerError(STAGE, f"The {what} request {step.method} {step.path} answered "
                          f"{answer.status_code}: {excerpt or '(empty body)'}", HINT)
    return answer


def _request(session: Session, step: AuthStep, what: str, body: dict[str, Any],
             request: dict[str, Any]) -> httpx.Response:
    began = time.monotonic()
    try:
        answer = session.client.request(step.method, step.path, **request)
    except httpx.HTTPError as exc:
        raise RunnerError(STAGE, f"The {what} request {step.method} {step.path} failed: {exc}.",
                          HINT) from exc
    elapsed = note(session, what, step.method, step.path, answer.status_code, began)
    session.calls.append(_as_call(session, step, what, body, answer, elapsed))
    return answer


def note(session: Session, what: str, method: str, path: str, status: int,
          began: float) -> float:
    elapsed = round((time.monotonic() - began) * 1000, 1)
    session.record["calls"].append({"step": what, "method": method, "path": path,
                                    "status_code": status, "elapsed_ms": elapsed})
    return elapsed


def _csrf_headers(session: Session, path: str) -> dict[str, str]:
    """The CSRF header for a retry: the API's own CSRF cookie (a GET of the same path usually
    sets it), else a minted one in Django's `csrftoken` cookie (a double-submit check)."""
    client = session.client
    if tokens.csrf_cookie(client.cookies) is None:
        began = time.monotonic()
        try:
            answer = client.get(path)
            note(session, "csrf", "GET", path, answer.status_code, began)
        except httpx.HTTPError:
            pass
    found = tokens.csrf_cookie(client.cookies)
    if found is None:
        value = tokens.minted_csrf()
        client.cookies.set("csrftoken", value)
        found = ("csrftoken", "X-CSRFToken", value)
    session.secrets.add(found[2])
    return {found[1]: found[2], "Referer": str(client.base_url).rstrip("/") + "/"}


def _as_call(session: Session, step: AuthStep, what: str, body: dict[str, Any],
             answer: httpx.Response, elapsed_ms: float) -> ToolCall:
    """The request as a recorded call, with every secret (and the token it returned) masked."""
    data = tokens.parsed(answer)
    for path in {session.token_path, None}:
        token = tokens.token_in(data, path)
        if token is not None:
            session.secrets.add(token[1])
    refresh = tokens.refresh_token_in(data)
    if refresh:
        session.secrets.add(refresh)
    for _, value in tokens.pairs(answer.cookies):
        session.secrets.add(value)
    return ToolCall(
        call_id=f"auth-{len(session.calls) + 1}", tool="", method=step.method, path=step.path,
        arguments=session.mask(body), url=str(answer.request.url), status_code=answer.status_code,
        headers={"content-type": answer.headers.get("content-type", "")},
        body=session.mask(data if data is not None else answer.text[:2000]),
        body_is_json=data is not None, body_bytes=len(answer.content),
        elapsed_ms=elapsed_ms, intent=INTENT, agent=f"runner ({what})",
    )
