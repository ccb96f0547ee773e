"""Credentials for the API under test: a static header, basic auth, or a login flow (optionally
after registering a generated throwaway user), configured or worked out from the spec.

The runner logs in itself, with httpx against the API's base URL only, after the API is ready and
before the MCP server starts; the resulting headers reach the generated tools through a file the
wrapper rereads when it changes (`API_MCP_TEST_HEADERS_FILE`, see `Credentials`), so the LLM
agent can log in again or out mid-run. What was done is recorded for the report without any
secret: method, path and status of each request, the header name and scheme, never a token or
password.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runner import trust
from runner.discovery.spec import resolve
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthConfig, AuthStep, Endpoint, ToolCall

STAGE = "auth"
HINT = "Check the `auth` settings in .api-mcp-test.yml (see 'Authentication' in the README)."
# Well-known operation names, matched on the last literal path segment.
REGISTER_NAMES = ("register", "registration", "signup", "sign-up", "sign_up")
LOGIN_NAMES = ("token", "login", "signin", "sign-in", "sign_in", "auth", "authenticate",
               "api-token-auth", "obtain", "jwt", "access-token", "session", "sessions")
# Where a token usually is in a login answer, first match wins.
TOKEN_FIELDS = ("access_token", "accessToken", "token", "auth_token", "authToken", "jwt",
                "id_token", "key", "access")
_CONTAINERS = ("data", "result", "auth", "tokens")


@dataclass(frozen=True)
class ThrowawayUser:
    """A user made up for this run (only used where the API offers open sign-up)."""

    username: str
    email: str
    password: str

    @classmethod
    def generate(cls) -> ThrowawayUser:
        name = f"amt_{secrets.token_hex(4)}"
        return cls(username=name, email=f"{name}@example.com",
                   password=f"Amt-{secrets.token_urlsafe(12)}-9x")


@dataclass
class AuthResult:
    """Headers for every tool call, a secret-free record of how they were obtained, and the
    register/login requests as calls (secrets masked) so the checks judge those operations too."""

    headers: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    calls: list[ToolCall] = field(default_factory=list)


@dataclass
class _Session:
    client: httpx.Client
    spec: ApiSpec
    user: ThrowawayUser
    record: dict[str, Any]
    secrets: set[str]
    token_path: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    granted: Mapping[str, str] = field(default_factory=dict)

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


class Credentials:
    """The headers every tool call carries, kept in a file (owner-only, in the run's private
    workspace) that the generated wrapper rereads when it changes. `log_in` obtains them (again:
    a new throwaway user for a sign-up flow), `log_out` sends none until `restore`."""

    def __init__(self, path: Path, auth: AuthConfig | None, spec: ApiSpec, base_url: str,
                 timeout: float = 30.0) -> None:
        self.path = path
        self.auth = auth
        self.spec = spec
        self.base_url = base_url
        self.timeout = timeout
        self.headers: dict[str, str] = {}  # the credentials obtained last
        self.record: dict[str, Any] = {}  # how (no secrets), see authenticate
        self.logins = 0
        self._write({})

    @property
    def offered(self) -> bool:
        """Whether logging in again can work: the first login (configured or automatic) did."""
        return bool(self.record.get("ok"))

    def log_in(self) -> AuthResult:
        """Obtain credentials and make every later call carry them. A configured flow that
        fails raises RunnerError; a failed automatic one keeps the previous credentials (and
        their record)."""
        self.logins += 1
        outcome = authenticate(self.auth, self.spec, self.base_url, self.timeout)
        if outcome.headers or not self.headers:
            self.record, self.headers = outcome.record, outcome.headers
        self._write(self.headers)
        return outcome

    def log_out(self) -> None:
        self._write({})

    def restore(self) -> None:
        self._write(self.headers)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def describe_state(self) -> str:
        """For the model: whether calls carry credentials, and how they were obtained."""
        if self.record.get("mode") == "off":
            return "none: authentication is switched off in the config (auth: off)"
        if self.record.get("ok"):
            return (f"obtained by the runner ({describe(self.record).removeprefix('auth: ')}); "
                    "every tool call carries them")
        if self.record.get("message"):
            return f"none: the login did not work: {self.record['message']}"
        return "none configured"

    def _write(self, headers: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_name(self.path.name + ".new")
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(headers, file)
        os.replace(staged, self.path)  # the wrapper sees the old file or the new, never half


# -- deciding what to do ------------------------------------------------------------------------


def secured(spec: ApiSpec) -> bool:
    schemes = (spec.openapi.get("components") or {}).get("securitySchemes") or {}
    return bool(schemes) or any(e.security for e in spec.endpoints)


def _last_word(path: str) -> str:
    literal = [p for p in path.strip("/").split("/") if p and not p.startswith("{")]
    return literal[-1].lower() if literal else ""


def find_operation(spec: ApiSpec, names: tuple[str, ...]) -> Endpoint | None:
    posts = [e for e in spec.endpoints if e.method == "POST" and "{" not in e.path]
    for name in names:  # in order of preference
        for endpoint in posts:
            if _last_word(endpoint.path) == name:
                return endpoint
    return None


def _oauth2_token_path(spec: ApiSpec) -> str | None:
    schemes = (spec.openapi.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        flow = ((scheme or {}).get("flows") or {}).get("password") or {}
        url = str(flow.get("tokenUrl") or "")
        if url:
            return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else \
                "/" + url.lstrip("/")
    return None


def automatic_plan(spec: ApiSpec) -> tuple[AuthConfig | None, str]:
    """A login flow for a throwaway user from the spec alone, or None and the reason."""
    register = find_operation(spec, REGISTER_NAMES)
    token_path = _oauth2_token_path(spec)
    login = next((e for e in spec.endpoints if e.method == "POST" and e.path == token_path),
                 None) or find_operation(spec, LOGIN_NAMES)
    if login is None or register is None:
        if not secured(spec):
            return None, ""
        missing = "login (token) operation" if login is None else "open sign-up operation"
        return None, (f"operations declare security, but the spec has no {missing} to get "
                      "credentials for a throwaway user")
    return AuthConfig(mode="login", login=_step_for(login), register=_step_for(register)), ""


def _step_for(endpoint: Endpoint) -> AuthStep:
    content_type = (endpoint.request_body or {}).get("content_type", "application/json")
    content = "form" if "form" in content_type else "json"
    return AuthStep(method=endpoint.method, path=endpoint.path, body=None, content=content)


# -- doing it -----------------------------------------------------------------------------------


def authenticate(auth: AuthConfig | None, spec: ApiSpec, base_url: str,
                 timeout: float = 30.0) -> AuthResult:
    """Obtain the headers. A configured flow that fails raises RunnerError (exit 3); an automatic
    one that fails returns no headers and says why in the record."""
    configured = auth is not None and auth.mode != "auto"
    if auth is not None and auth.mode == "off":
        return AuthResult(record={"mode": "off", "source": "config"})
    if not configured:
        auth, reason = automatic_plan(spec)
        if auth is None:
            return AuthResult(record={"mode": "none", "source": "automatic", "ok": False,
                                      "message": reason} if reason else {})
    assert auth is not None
    record: dict[str, Any] = {"mode": auth.mode, "source": "config" if configured else "automatic",
                              "header": auth.header, "calls": []}
    user = ThrowawayUser.generate()
    secrets_used = {user.password, *auth.env.values()}
    with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False) as client:
        session = _Session(client, spec, user, record, secrets_used, auth.token,
                           granted=auth.env)
        try:
            headers = _obtain(auth, session, automatic=not configured)
        except RunnerError as exc:
            record.update(ok=False, message=exc.message)
            if configured:
                raise
            return AuthResult(record=record, calls=session.calls)
    record["ok"] = True
    return AuthResult(headers=headers, record=record, calls=session.calls)


def _obtain(auth: AuthConfig, session: _Session, automatic: bool) -> dict[str, str]:
    user, spec = session.user, session.spec
    if auth.mode == "static":
        return {auth.header: expand(auth.value or "", user, auth.env)}
    if auth.mode == "basic":
        pair = (f"{expand(auth.username or '', user, auth.env)}:"
                f"{expand(auth.password or '', user, auth.env)}")
        return {auth.header: "Basic " + base64.b64encode(pair.encode()).decode()}
    assert auth.login is not None
    if auth.register is not None:
        _send(session, auth.register, "register")
        session.record["user"] = user.username
    answer = _send(session, auth.login, "login")
    token = _token_in(answer, auth.token)
    if token is not None:
        field_name, value = token
        scheme = _scheme(auth, spec, answer, field_name)
        header = auth.header if not automatic else _header_name(spec, auth.header)
        session.record.update(scheme=scheme or "(none)", header=header, token_field=field_name)
        return {header: f"{scheme} {value}" if scheme else value}
    cookies = "; ".join(f"{k}={v}" for k, v in answer.cookies.items())
    if cookies and auth.token is None:
        session.record.update(mode="cookie", header="Cookie")
        return {"Cookie": cookies}
    where = auth.token or "any of " + ", ".join(TOKEN_FIELDS)
    raise RunnerError(STAGE, f"The login {auth.login.method} {auth.login.path} answered "
                      f"{answer.status_code} without a token at {where} and without a cookie.",
                      HINT if not automatic else "")


def expand(text: str, user: ThrowawayUser, granted: Mapping[str, str]) -> str:
    """${NAME} from the runner variables the workflow granted (`AuthConfig.env`, resolved by
    runner/config.py), ${user.username|email|password} from the user."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("user."):
            attribute = name.removeprefix("user.")
            if attribute not in ("username", "email", "password"):
                raise RunnerError(STAGE, f"Unknown placeholder ${{{name}}}.",
                                  "Use ${user.username}, ${user.email} or ${user.password}.")
            return str(getattr(user, attribute))
        if name not in granted:
            raise RunnerError(STAGE, f"${{{name}}} is not a variable the workflow granted.",
                              trust.GRANT_HINT)
        return granted[name]

    return trust.REFERENCE.sub(one, text)


def _send(session: _Session, step: AuthStep, what: str) -> httpx.Response:
    spec, user = session.spec, session.user
    if not step.path.startswith("/") or "://" in step.path:
        raise RunnerError(STAGE, f"The {what} operation path {step.path!r} is not a path on "
                          "the API.", HINT)
    endpoint = next((e for e in spec.endpoints
                     if e.method == step.method and e.path == step.path), None)
    if step.body is not None:
        body = {k: expand(v, user, session.granted) if isinstance(v, str) else v
                for k, v in step.body.items()}
    else:
        body = credentials_body(endpoint, spec, user, full=what == "register")
    began = time.monotonic()
    try:
        if step.content == "form":
            answer = session.client.request(step.method, step.path,
                                            data={k: str(v) for k, v in body.items()})
        else:
            answer = session.client.request(step.method, step.path, json=body)
    except httpx.HTTPError as exc:
        raise RunnerError(STAGE, f"The {what} request {step.method} {step.path} failed: {exc}.",
                          HINT) from exc
    elapsed = round((time.monotonic() - began) * 1000, 1)
    session.record["calls"].append({"step": what, "method": step.method, "path": step.path,
                                    "status_code": answer.status_code, "elapsed_ms": elapsed})
    session.calls.append(_as_call(session, step, what, body, answer, elapsed))
    if answer.status_code >= 400:
        excerpt = session.mask(" ".join(answer.text.split())[:200])
        raise RunnerError(STAGE, f"The {what} request {step.method} {step.path} answered "
                          f"{answer.status_code}: {excerpt or '(empty body)'}", HINT)
    return answer


def _as_call(session: _Session, step: AuthStep, what: str, body: dict[str, Any],
             answer: httpx.Response, elapsed_ms: float) -> ToolCall:
    """The request as a recorded call, with every secret (and the token it returned) masked."""
    try:
        parsed: Any = answer.json()
        is_json = True
    except ValueError:
        parsed, is_json = answer.text[:2000], False
    for path in {session.token_path, None}:
        token = _token_in(answer, path)
        if token is not None:
            session.secrets.add(token[1])
    for value in answer.cookies.values():
        session.secrets.add(value)
    return ToolCall(
        call_id=f"auth-{len(session.calls) + 1}", tool="", method=step.method, path=step.path,
        arguments=session.mask(body), url=str(answer.request.url), status_code=answer.status_code,
        headers={"content-type": answer.headers.get("content-type", "")},
        body=session.mask(parsed), body_is_json=is_json, body_bytes=len(answer.content),
        elapsed_ms=elapsed_ms, intent="valid", agent=f"runner ({what})",
    )


def credentials_body(endpoint: Endpoint | None, spec: ApiSpec, user: ThrowawayUser,
                     full: bool) -> dict[str, Any]:
    """A request body for the generated user from the operation's schema: credential fields get
    the user's values; with `full` (sign-up) other required fields get schema-valid values."""
    from runner.agent.values import value_for

    schema: dict[str, Any] = {}
    if endpoint is not None and endpoint.request_body:
        schema = resolve(endpoint.request_body.get("schema") or {}, spec.openapi)
    properties = schema.get("properties") or {}
    if not properties:
        return {"username": user.username, "email": user.email, "password": user.password}
    required = set(schema.get("required") or [])
    body: dict[str, Any] = {}
    for name, sub in properties.items():
        value = _credential(name, user)
        if value is not None:
            body[name] = value
        elif full and name in required:
            body[name] = value_for(resolve(sub, spec.openapi), name)
        elif name == "grant_type" and "password" in str(sub.get("pattern", "password")):
            body[name] = "password"
    return body


def _credential(name: str, user: ThrowawayUser) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if key in ("username", "user", "login", "name", "handle"):
        return user.username
    if key in ("email", "emailaddress", "mail"):
        return user.email
    if key.startswith("password") or key in ("pass", "passwd", "pwd", "password1", "password2"):
        return user.password
    return None


def _token_in(answer: httpx.Response, path: str | None) -> tuple[str, str] | None:
    try:
        data = answer.json()
    except ValueError:
        return None
    if path is not None:
        value = json_path(data, path)
        return (path, str(value)) if isinstance(value, (str, int)) and value != "" else None
    for container in (data, *(data.get(c) for c in _CONTAINERS if isinstance(data, dict))):
        if isinstance(container, dict):
            for name in TOKEN_FIELDS:
                value = container.get(name)
                if isinstance(value, str) and value:
                    return name, value
    return None


def json_path(data: Any, path: str) -> Any:
    """The value at a simple JSON path: $.a.b, $.a[0].b, $['a']."""
    tokens = re.findall(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]",
                        path.removeprefix("$"))
    current = data
    for name, index, quoted, dquoted in tokens:
        key = name or quoted or dquoted
        if key and isinstance(current, dict):
            current = current.get(key)
        elif index and isinstance(current, list) and int(index) < len(current):
            current = current[int(index)]
        else:
            return None
    return current


def _scheme(auth: AuthConfig, spec: ApiSpec, answer: httpx.Response, field_name: str) -> str:
    if auth.scheme is not None:
        return auth.scheme.strip()
    try:
        token_type = answer.json().get("token_type")
    except (ValueError, AttributeError):
        token_type = None
    if isinstance(token_type, str) and token_type:
        return token_type.capitalize()
    for scheme in ((spec.openapi.get("components") or {}).get("securitySchemes") or {}).values():
        kind = (scheme or {}).get("type")
        if kind == "http" and scheme.get("scheme"):
            return str(scheme["scheme"]).capitalize()
        if kind in ("oauth2", "openIdConnect"):
            return "Bearer"
        if kind == "apiKey" and scheme.get("in") == "header":
            prefix = re.search(r"prefix\W+(\w+)", str(scheme.get("description") or ""))
            if prefix:
                return prefix.group(1)
            if str(scheme.get("name", "")).lower() != "authorization":
                return ""
    return "Token" if field_name == "key" else "Bearer"


def _header_name(spec: ApiSpec, default: str) -> str:
    for scheme in ((spec.openapi.get("components") or {}).get("securitySchemes") or {}).values():
        if (scheme or {}).get("type") == "apiKey" and scheme.get("in") == "header":
            return str(scheme.get("name") or default)
    return default


def describe(record: dict[str, Any]) -> str:
    """One line for the progress output and the report."""
    if not record.get("ok"):
        return ""
    logins = [f"{c['method']} {c['path']}" for c in record.get("calls", [])]
    how = {"static": "static header", "basic": "basic auth",
           "cookie": "session cookie"}.get(record["mode"], "token")
    scheme = f" {record['scheme']}" if record.get("scheme") not in (None, "(none)") else ""
    via = f" from {' then '.join(logins)}" if logins else ""
    return f"auth: {how}{scheme} in {record.get('header')}{via} ({record['source']})"


def configure_hint(spec: ApiSpec | None) -> str:
    """How to configure auth, for the report when operations answered 401/403."""
    login = find_operation(spec, LOGIN_NAMES) if spec else None
    operation = f"{login.method} {login.path}" if login else "POST /token"
    return (f"Configure credentials in .api-mcp-test.yml, for example `auth: {{login: "
            f"{{operation: \"{operation}\", json: {{username: tester, password: "
            f"\"${{API_PASSWORD}}\"}}}}}}` or `auth: {{header: Authorization, value: "
            f"\"Bearer ${{API_TOKEN}}\"}}` (see 'Authentication' in the README).")
