"""Doing the login: a static header, basic auth, or sign-up then login for a generated user, the
way real stacks want it.

- The sign-up's cookies are dropped before the login: a session cookie replayed to a token login
  makes DRF's SessionAuthentication demand a CSRF token ("CSRF Failed", dj-rest-auth).
- A login guarded by HTTP basic (`POST /api/tokens`) gets the user's name and password that way.
- A 403 that says CSRF is retried once with the API's CSRF cookie (fetched with a GET of the same
  path) or a minted double-submit one, in `X-CSRFToken` with a same-origin Referer.
- The login field that names the user gets what the sign-up named them by: the email when the
  sign-up asked for an email and no username.
- The answer's token goes in a header (scheme from the config, the answer, the spec, then Bearer
  and Token); without a token, the session's cookies (with their CSRF header) are the
  credentials. When the spec has a protected GET with nothing to fill in, each candidate is tried
  on it and the first one it accepts is used.
Every request is recorded as the runner's own (intent `auth`), with every secret masked.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from runner.auth import plan, tokens
from runner.auth.seed import Minted, Seeder
from runner.auth.session import Session, note, send
from runner.auth.user import (
    HINT,
    STAGE,
    ThrowawayUser,
    expand,
    login_name,
)
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthConfig, Timeouts, ToolCall

_MAX_TRIES = 6  # candidate credentials tried on the probe operation


@dataclass
class AuthResult:
    """Headers for every tool call, a secret-free record of how they were obtained, the
    requests as calls (secrets masked) so the checks judge those operations too, and what
    renewing the credentials needs (the user, a refresh token, the token's expiry)."""

    headers: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    calls: list[ToolCall] = field(default_factory=list)
    user: ThrowawayUser | None = None
    refresh_token: str | None = None
    expires: tuple[float, float] | None = None  # (issued, expires) of a JWT access token


def authenticate(auth: AuthConfig | None, spec: ApiSpec, base_url: str,
                 timeout: float = Timeouts.call,
                 user: ThrowawayUser | None = None,
                 seeder: Seeder | None = None) -> AuthResult:
    """Obtain the headers. A configured flow that fails raises RunnerError (exit 3); an automatic
    one that fails returns no headers and says why in the record. With `user`, log that user in
    again (no sign-up). With `seeder` (automatic only), an API without open sign-up, or whose
    sign-up fails, gets a user created in the run's throwaway database."""
    configured = auth is not None and auth.mode != "auto"
    if auth is not None and auth.mode == "off":
        return AuthResult(record={"mode": "off", "source": "config"})
    if not configured:
        auth, reason = plan.automatic_plan(spec, seed=seeder is not None)
        if auth is None:
            return AuthResult(record={"mode": "none", "source": "automatic", "ok": False,
                                      "message": reason} if reason else {})
    assert auth is not None
    result = _attempt(auth, spec, base_url, timeout, user, configured,
                      seeder if not configured else None)
    if (not result.headers and not configured and seeder is not None
            and auth.register is not None and user is None):
        # The sign-up (or the login after it) did not work: a user of the run's own instead.
        failed = result.record.get("message", "")
        seeded = _attempt(replace(auth, register=None), spec, base_url, timeout, None, False,
                          seeder)
        seeded.calls = [*result.calls, *seeded.calls]
        seeded.record["calls"] = [*result.record.get("calls", ()),
                                  *seeded.record.get("calls", ())]
        seeded.record["sign_up_error"] = failed
        return seeded
    return result


def _attempt(auth: AuthConfig, spec: ApiSpec, base_url: str, timeout: float,
             user: ThrowawayUser | None, configured: bool,
             seeder: Seeder | None) -> AuthResult:
    record: dict[str, Any] = {"mode": auth.mode, "source": "config" if configured else "automatic",
                              "header": auth.header, "calls": []}
    again = user is not None
    seeded = None
    if not configured and auth.register is None and seeder is not None:
        seeded = seeder.user()
        if seeded is None:
            record.update(ok=False, message=seeder.error or "no user could be created")
            return AuthResult(record=record)
        user = seeded.user
        record["user_created"] = seeded.how
    user = user or ThrowawayUser.generate()
    secrets_used = {user.password, *auth.env.values()}
    result = AuthResult(record=record, user=user)
    with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False) as client:
        session = Session(client, spec, user, record, secrets_used, auth.token,
                           granted=auth.env, seeded=seeded)
        if seeded is not None:
            session.login_name = seeded.login_name
            for minted in seeded.minted:
                session.secrets.update([*minted.headers.values(), *minted.cookies.values()])
        try:
            result.headers = _obtain(auth, session, result, automatic=not configured,
                                     sign_up=not again)
        except RunnerError as exc:
            record.update(ok=False, message=exc.message)
            if configured:
                raise
            result.calls = session.calls
            return result
    record["ok"] = True
    result.calls = session.calls
    return result


def _obtain(auth: AuthConfig, session: Session, result: AuthResult, automatic: bool,
            sign_up: bool) -> dict[str, str]:
    user, spec = session.user, session.spec
    if auth.mode == "static":
        return {auth.header: expand(auth.value or "", user, auth.env)}
    if auth.mode == "basic":
        pair = (f"{expand(auth.username or '', user, auth.env)}:"
                f"{expand(auth.password or '', user, auth.env)}")
        return {auth.header: "Basic " + base64.b64encode(pair.encode()).decode()}
    if auth.register is not None:
        if sign_up:
            send(session, auth.register, "register")
        session.record["user"] = user.username
        session.login_name = login_name(spec, auth.register)
        session.client.cookies.clear()  # a sign-up's session must not reach the login
    if auth.login is None or session.seeded is not None:
        return _seeded_login(auth, session, result)
    answer = send(session, auth.login, "login")
    return _from_answer(auth, session, result, answer, automatic)


def _seeded_login(auth: AuthConfig, session: Session, result: AuthResult) -> dict[str, str]:
    """The created user logs in through the login operation (by the other name when the
    first is refused: a form field called username that wants the email); failing that, or
    without one, the credentials minted for it are tried."""
    seeded = session.seeded
    assert seeded is not None
    session.record["user"] = seeded.user.username
    failure = "the API has no login operation"
    if auth.login is not None:
        for name in dict.fromkeys((session.login_name, "email", "username")):
            session.login_name = name
            try:
                answer = send(session, auth.login, "login")
                return _from_answer(auth, session, result, answer, automatic=True)
            except RunnerError as exc:
                failure = exc.message
            session.client.cookies.clear()
    candidates = [(_minted_headers(session, minted), {"mode": "minted", "minted": minted.how,
                                                      "header": next(iter(minted.headers),
                                                                     "Cookie")})
                  for minted in seeded.minted]
    if not candidates:
        raise RunnerError(STAGE, f"The user created in the throwaway database could not log "
                          f"in: {failure}.", "")
    session.record["login_error"] = failure
    headers, how = _first_accepted(session, candidates, auth)
    session.record.update({k: v for k, v in how.items() if v is not None})
    return headers


def _minted_headers(session: Session, minted: Minted) -> dict[str, str]:
    """A minted credential as headers: a session cookie goes with a CSRF cookie and header of
    our own (a double-submit check, Django's), for the calls that change things."""
    headers = dict(minted.headers)
    if minted.cookies:
        csrf = tokens.minted_csrf()
        session.secrets.add(csrf)
        pairs = {**minted.cookies, "csrftoken": csrf}
        headers.update({"Cookie": "; ".join(f"{k}={v}" for k, v in pairs.items()),
                        "X-CSRFToken": csrf,
                        "Referer": str(session.client.base_url).rstrip("/") + "/"})
    return headers


def _from_answer(auth: AuthConfig, session: Session, result: AuthResult,
                 answer: httpx.Response, automatic: bool) -> dict[str, str]:
    """The credentials a login answered (a token in a header, else the session's cookies)."""
    assert auth.login is not None
    spec = session.spec
    data = tokens.parsed(answer)
    token = tokens.token_in(data, auth.token)
    candidates: list[tuple[dict[str, str], dict[str, Any]]] = []
    if token is not None:
        field_name, value = token
        answered = tokens.answer_scheme(data, field_name, spec.framework)
        offered = plan.token_schemes(spec) if automatic else [(auth.header, None)]
        # Each header the spec offers with its own scheme first, then the other schemes.
        pairs = [(header, scheme) for header, spec_scheme in offered
                 for scheme in tokens.schemes_to_try(auth.scheme, answered, spec_scheme)[:1]]
        pairs += [(header, scheme) for header, spec_scheme in offered
                  for scheme in tokens.schemes_to_try(auth.scheme, answered, spec_scheme)]
        for header, scheme in dict.fromkeys(pairs):
            candidates.append(({header: f"{scheme} {value}" if scheme else value},
                               {"scheme": scheme or "(none)", "header": header,
                                "token_field": field_name}))
        result.refresh_token = tokens.refresh_token_in(data)
        result.expires = tokens.expiry(value)
    if session.client.cookies.jar and auth.token is None:
        headers = tokens.cookie_headers(session.client.cookies, str(session.client.base_url))
        candidates.append((headers, {"mode": "cookie", "header": "Cookie",
                                     "csrf": next((h for h in headers if "csrf" in h.lower()
                                                   or "xsrf" in h.lower()), None)}))
    if not candidates:
        where = auth.token or "any of " + ", ".join(tokens.TOKEN_FIELDS)
        raise RunnerError(STAGE, f"The login {auth.login.method} {auth.login.path} answered "
                          f"{answer.status_code} without a token at {where} and without a "
                          "cookie.", HINT if not automatic else "")
    headers, how = _first_accepted(session, candidates, auth)
    session.record.update({k: v for k, v in how.items() if v is not None})
    if how.get("mode") == "cookie":
        result.refresh_token = result.expires = None  # the cookies are the credentials
    elif result.refresh_token:
        # Once now: the refresh operation is tested with a real token (the agent cannot know
        # one), and a refresh that does not work shows before the run depends on it.
        headers = _refresh(session, result, how) or headers
    return headers


def _first_accepted(session: Session, candidates: list[tuple[dict[str, str], dict[str, Any]]],
                    auth: AuthConfig) -> tuple[dict[str, str], dict[str, Any]]:
    """The first candidate a protected operation accepts (the first one when there is no such
    operation to ask, or when it refuses them all)."""
    skip = {f"{s.method} {s.path}" for s in (auth.login, auth.register) if s is not None}
    probe = plan.probe_operation(session.spec, skip)
    if probe is None or len(candidates) == 1:
        return candidates[0]
    base = str(session.client.base_url).rstrip("/")
    for headers, how in candidates[:_MAX_TRIES]:
        request = httpx.Request("GET", base + probe.path, headers=headers)  # no cookie jar
        began = time.monotonic()
        try:
            answer = session.client.send(request)
        except httpx.HTTPError:
            break
        note(session, "check", "GET", probe.path, answer.status_code, began)
        if answer.status_code not in (401, 403):
            return headers, how
    session.record["check"] = f"GET {probe.path} refused every credential tried"
    return candidates[0]


def describe(record: dict[str, Any]) -> str:
    """One line for the progress output and the report."""
    if not record.get("ok"):
        return ""
    logins = [f"{c['method']} {c['path']}" for c in record.get("calls", [])
              if c.get("step") in ("register", "login") and int(c.get("status_code") or 500) < 400]
    how = {"static": "static header", "basic": "basic auth",
           "cookie": "session cookie"}.get(record["mode"], "token")
    scheme = f" {record['scheme']}" if record.get("scheme") not in (None, "(none)") else ""
    if record.get("mode") == "cookie":
        scheme = " with CSRF header" if record.get("csrf") else ""
    if record.get("mode") == "minted":
        how, scheme = f"{record.get('minted')} made for it", ""
    via = f" from {' then '.join(dict.fromkeys(logins))}" if logins else ""
    created = (f"; the user was created in the run's throwaway database "
               f"({record['user_created']})") if record.get("user_created") else ""
    return f"auth: {how}{scheme} in {record.get('header')}{via} ({record['source']}){created}"


def renew(auth: AuthConfig | None, spec: ApiSpec, base_url: str, previous: AuthResult,
          timeout: float = Timeouts.call, seeder: Seeder | None = None) -> AuthResult:
    """Fresh credentials for the same user: the refresh token traded at the spec's refresh
    operation (simplejwt, ninja-jwt, dj-rest-auth), else the same user logged in again."""
    if previous.refresh_token and previous.record.get("mode") != "cookie":
        user = previous.user or ThrowawayUser.generate()
        with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False) as client:
            session = Session(client, spec, user, previous.record, {previous.refresh_token})
            fresh = AuthResult(record=previous.record, user=previous.user,
                               refresh_token=previous.refresh_token)
            fresh.headers = _refresh(session, fresh, previous.record)
        if fresh.headers:
            return fresh
    return authenticate(auth, spec, base_url, timeout, user=previous.user, seeder=seeder)


def _refresh(session: Session, result: AuthResult, how: dict[str, Any]) -> dict[str, str]:
    """The refresh token traded for a new access token at the spec's refresh operation (no
    headers when there is none or it refuses); `result` gets the new expiry and refresh token."""
    found = plan.refresh_operation(session.spec)
    if found is None or not result.refresh_token or not how.get("header"):
        return {}
    endpoint, name = found
    step = replace(plan.step_for(endpoint), body={name: result.refresh_token})
    try:
        answer = send(session, step, "refresh")
    except RunnerError as exc:
        session.record["refresh_error"] = exc.message
        return {}
    data = tokens.parsed(answer)
    token = tokens.token_in(data)
    if token is None:
        session.record["refresh_error"] = f"{step.path} answered no token"
        return {}
    result.expires = tokens.expiry(token[1])
    result.refresh_token = tokens.refresh_token_in(data) or result.refresh_token
    scheme = how.get("scheme")
    value = f"{scheme} {token[1]}" if scheme not in (None, "(none)", "") else token[1]
    return {str(how["header"]): value}
