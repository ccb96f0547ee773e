"""Reading the spec for a login: which operations sign up, log in and refresh a token, which
security schemes the other operations want, and one protected operation to try credentials on.

Pure functions of the spec: nothing here sends a request.
"""

from __future__ import annotations

import re
from typing import Any

from runner.models import ApiSpec, AuthConfig, AuthStep, Endpoint, RequestBody

# Well-known operation names, matched on the last literal path segment, in order of preference.
REGISTER_NAMES = ("register", "registration", "signup", "sign-up", "sign_up")
# A POST creating one of these with a password in its body is an open sign-up too (`POST /users`).
ACCOUNT_COLLECTIONS = ("users", "accounts", "members", "user", "account")
LOGIN_NAMES = ("token", "pair", "login", "tokens", "signin", "sign-in", "sign_in", "auth",
               "authenticate", "api-token-auth", "obtain", "jwt", "access-token", "session",
               "sessions")
REFRESH_NAMES = ("refresh", "token-refresh", "refresh-token", "refresh_token")
REFRESH_FIELDS = ("refresh", "refresh_token", "refreshToken")
_ANONYMOUS = ({},)  # `security: [{}]`: the operation may be called without credentials


def schemes(spec: ApiSpec) -> dict[str, dict[str, Any]]:
    found = (spec.openapi.get("components") or {}).get("securitySchemes") or {}
    return {str(k): v for k, v in found.items() if isinstance(v, dict)}


def secured(spec: ApiSpec) -> bool:
    return bool(schemes(spec)) or any(e.security for e in spec.endpoints)


def requirement(spec: ApiSpec, endpoint: Endpoint) -> list[str]:
    """The names of the security schemes the operation accepts ([] when none or anonymous)."""
    operation = ((spec.openapi.get("paths") or {}).get(endpoint.path) or {}).get(
        endpoint.method.lower()) or {}
    listed = operation.get("security", spec.openapi.get("security")) or []
    if not isinstance(listed, list) or any(r == {} for r in listed):
        return []
    return [str(name) for r in listed if isinstance(r, dict) for name in r]


def _last_word(path: str) -> str:
    literal = [p for p in path.strip("/").split("/") if p and not p.startswith("{")]
    return literal[-1].lower() if literal else ""


# Words that make a path something else than a login, though it names a token (`token-refresh`).
NOT_LOGIN = ("refresh", "verify", "revoke", "blacklist", "logout", "register", "password",
             "reset", "signup", "confirm", "activate", "email")


def find_operation(spec: ApiSpec, names: tuple[str, ...]) -> Endpoint | None:
    posts = [e for e in spec.endpoints if e.method == "POST" and "{" not in e.path]
    for name in names:  # in order of preference
        for endpoint in posts:
            if _last_word(endpoint.path) == name:
                return endpoint
    return None


def _login_by_words(spec: ApiSpec) -> Endpoint | None:
    """A login named by one of its words: `token-auth`, `token_obtain_pair`, `obtain-token`."""
    for endpoint in spec.endpoints:
        words = set(re.split(r"[-_.]", _last_word(endpoint.path)))
        if (endpoint.method == "POST" and "{" not in endpoint.path and len(words) > 1
                and words & {"token", "login", "signin", "jwt", "obtain"}
                and not words & set(NOT_LOGIN)):
            return endpoint
    return None


def body_fields(spec: ApiSpec, endpoint: Endpoint | None) -> dict[str, Any]:
    """The properties of the operation's (object) request body (resolved in discovery)."""
    if endpoint is None or not endpoint.request_body:
        return {}
    properties = endpoint.request_body.schema.get("properties")
    return properties if isinstance(properties, dict) else {}


def _sign_up(spec: ApiSpec) -> Endpoint | None:
    named = find_operation(spec, REGISTER_NAMES)
    if named is not None:
        return named
    for name in ACCOUNT_COLLECTIONS:  # `POST /api/users` with a password, open to anyone
        for endpoint in spec.endpoints:
            if (endpoint.method == "POST" and "{" not in endpoint.path
                    and _last_word(endpoint.path) == name and not requirement(spec, endpoint)
                    and any("password" in f.lower() for f in body_fields(spec, endpoint))):
                return endpoint
    return None


def _oauth2_token_path(spec: ApiSpec) -> str | None:
    for scheme in schemes(spec).values():
        flow = (scheme.get("flows") or {}).get("password") or {}
        url = str(flow.get("tokenUrl") or "")
        if url:
            return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else \
                "/" + url.lstrip("/")
    return None


def login_operation(spec: ApiSpec) -> Endpoint | None:
    token_path = _oauth2_token_path(spec)
    return next((e for e in spec.endpoints if e.method == "POST" and e.path == token_path),
                None) or find_operation(spec, LOGIN_NAMES) or _login_by_words(spec)


def refresh_operation(spec: ApiSpec) -> tuple[Endpoint, str] | None:
    """The operation that trades a refresh token for a new access token, and its body field."""
    endpoint = find_operation(spec, REFRESH_NAMES)
    if endpoint is None:
        return None
    fields = body_fields(spec, endpoint)
    name = next((f for f in REFRESH_FIELDS if f in fields), None)
    if name is None and fields:
        return None  # a refresh that wants something else (a cookie, an id): not ours to guess
    return endpoint, name or "refresh"


def automatic_plan(spec: ApiSpec, seed: bool = False) -> tuple[AuthConfig | None, str]:
    """A login flow for a throwaway user from the spec alone, or None and the reason. With
    `seed` (the run can create a user in its throwaway database, runner/auth/seed.py), an API
    without open sign-up logs that user in: through its login operation, or for a Django
    project without one (or whose synthesized spec shows no security) with credentials made
    for the user; a plan without `register` and with `login` None says so."""
    register = _sign_up(spec)
    login = login_operation(spec)
    if login is not None and register is not None:
        return AuthConfig(mode="login", login=step_for(login), register=step_for(register)), ""
    if seed and (login is not None or spec.framework == "django") and (
            secured(spec) or spec.spec_source == "synthesized" or login is not None):
        return AuthConfig(mode="login", login=step_for(login) if login else None), ""
    if not secured(spec):
        return None, ""
    missing = "login (token) operation" if login is None else "open sign-up operation"
    return None, (f"operations declare security, but the spec has no {missing} to get "
                  "credentials for a throwaway user")


def step_for(endpoint: Endpoint) -> AuthStep:
    content_type = (endpoint.request_body or RequestBody()).content_type
    content = "form" if "form" in content_type else "json"
    return AuthStep(method=endpoint.method, path=endpoint.path, body=None, content=content)


def endpoint_of(spec: ApiSpec, method: str, path: str) -> Endpoint | None:
    return next((e for e in spec.endpoints if e.method == method and e.path == path), None)


def wants_basic(spec: ApiSpec, endpoint: Endpoint | None) -> bool:
    """The login itself is guarded by HTTP basic (`POST /api/tokens` answering a token)."""
    if endpoint is None:
        return False
    kinds = schemes(spec)
    return any((kinds.get(name) or {}).get("type") == "http"
               and str(kinds[name].get("scheme", "")).lower() == "basic"
               for name in requirement(spec, endpoint))


def token_scheme(spec: ApiSpec) -> tuple[str, str | None]:
    """(header, scheme) the protected operations want for a token, from the scheme they name
    most (basic, cookie and the login's own schemes aside); scheme None: unknown."""
    return token_schemes(spec)[0]


def token_schemes(spec: ApiSpec) -> list[tuple[str, str | None]]:
    """Each (header, scheme) the spec offers for a token, the one operations name most first
    (an API taking an API key or a Bearer token lists both); never empty."""
    kinds = schemes(spec)
    counts: dict[str, int] = {}
    for endpoint in spec.endpoints:
        for name in requirement(spec, endpoint):
            counts[name] = counts.get(name, 0) + 1
    found: list[tuple[str, str | None]] = []
    for name in sorted(kinds, key=lambda n: -counts.get(n, 0)):
        scheme = kinds[name]
        kind = scheme.get("type")
        if kind == "http" and str(scheme.get("scheme", "")).lower() != "basic":
            found.append(("Authorization", str(scheme.get("scheme") or "bearer").capitalize()))
        elif kind in ("oauth2", "openIdConnect"):
            found.append(("Authorization", "Bearer"))
        elif kind == "apiKey" and scheme.get("in") == "header":
            header = str(scheme.get("name") or "Authorization")
            prefix = re.search(r"prefix\W+(\w+)", str(scheme.get("description") or ""))
            found.append((header, prefix.group(1) if prefix else
                          None if header.lower() == "authorization" else ""))
    return list(dict.fromkeys(found)) or [("Authorization", None)]


def probe_operation(spec: ApiSpec, skip: set[str]) -> Endpoint | None:
    """A protected GET with nothing to fill in (`GET /api/me/`), to try credentials on."""
    plain = [e for e in spec.endpoints
             if e.method == "GET" and "{" not in e.path and e.key not in skip
             and not any(p.required for p in e.parameters)]
    secured_ones = [e for e in plain if e.security]
    # The signed-in user's own resource first: it exists for a user made a moment ago (and
    # without declared security, as in a synthesized spec, it is the one sure to need a login).
    own = ("me", "user", "profile", "whoami", "account", "current")
    if secured_ones:
        return next((e for e in secured_ones if _last_word(e.path) in own), secured_ones[0])
    return next((e for e in plain if _last_word(e.path) in own), None)


def configure_hint(spec: ApiSpec | None) -> str:
    """How to configure auth, for the report when operations answered 401/403."""
    login = find_operation(spec, LOGIN_NAMES) if spec else None
    operation = f"{login.method} {login.path}" if login else "POST /token"
    return (f"Configure credentials in .api-mcp-test.yml, for example `auth: {{login: "
            f"{{operation: \"{operation}\", json: {{username: tester, password: "
            f"\"${{API_PASSWORD}}\"}}}}}}` or `auth: {{header: Authorization, value: "
            f"\"Bearer ${{API_TOKEN}}\"}}` (see 'Authentication' in the README).")
