"""What a login answer holds: the token (and a refresh token), its expiry, the scheme it goes
with, and the CSRF token a cookie session needs. Pure functions of answers and cookies."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import string
from typing import Any

import httpx

# Where a token usually is in a login answer, first match wins.
TOKEN_FIELDS = ("access_token", "accessToken", "token", "auth_token", "authToken", "jwt",
                "id_token", "key", "access")
REFRESH_TOKEN_FIELDS = ("refresh_token", "refreshToken", "refresh")
_CONTAINERS = ("data", "result", "auth", "tokens")
# Cookies a CSRF-protected session sends back in a header, and the header: Django's csrftoken
# (X-CSRFToken), flask-jwt-extended's csrf_access_token next to a JWT cookie (X-CSRF-TOKEN),
# Angular-style XSRF-TOKEN (X-XSRF-TOKEN), csrf_token, Tornado's _xsrf.
CSRF_COOKIES = {"csrftoken": "X-CSRFToken", "csrf_access_token": "X-CSRF-TOKEN",
                "csrf_token": "X-CSRFToken", "xsrf-token": "X-XSRF-TOKEN", "_xsrf": "X-XSRFToken",
                "csrf": "X-CSRF-Token"}
_SAFE = frozenset(string.ascii_letters + string.digits)


def parsed(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _containers(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return []
    return [data, *(data[c] for c in _CONTAINERS if isinstance(data.get(c), dict))]


def token_in(data: Any, path: str | None = None) -> tuple[str, str] | None:
    """(where, token) in a login answer's JSON: at `path` when given, else the first of
    TOKEN_FIELDS at the top or in a `data`/`result`/`auth`/`tokens` object."""
    if path is not None:
        value = json_path(data, path)
        return (path, str(value)) if isinstance(value, (str, int)) and value != "" else None
    for container in _containers(data):
        for name in TOKEN_FIELDS:
            value = container.get(name)
            if isinstance(value, str) and value:
                return name, value
    return None


def refresh_token_in(data: Any) -> str | None:
    for container in _containers(data):
        for name in REFRESH_TOKEN_FIELDS:
            value = container.get(name)
            if isinstance(value, str) and value:
                return value
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


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified ({} for anything else): only `exp` and `iat` are used."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def expiry(token: str) -> tuple[float, float] | None:
    """(issued, expires) as Unix times for a JWT with an `exp` claim."""
    claims = jwt_claims(token)
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, (int, float)):
        return None
    return (float(issued) if isinstance(issued, (int, float)) else float(expires) - 300,
            float(expires))


def answer_scheme(data: Any, field_name: str, framework: str = "") -> str | None:
    """The scheme the login answer names (`token_type: bearer`), else a hint from the field:
    dj-rest-auth answers `{"key": ...}` and DRF's obtain_auth_token `{"token": ...}` (on
    Django) for `Authorization: Token`."""
    token_type = data.get("token_type") if isinstance(data, dict) else None
    if isinstance(token_type, str) and token_type.strip():
        return token_type.strip().capitalize()
    if field_name == "key" or (field_name == "token" and framework == "django"):
        return "Token"
    return None


def schemes_to_try(configured: str | None, answered: str | None, spec: str | None) -> list[str]:
    """Header schemes in the order to try them: configured (alone), the login answer's, the
    spec's, then the common ones (Bearer, Token)."""
    if configured is not None:
        return [configured.strip()]
    order = [s for s in (answered, spec) if s is not None]
    return list(dict.fromkeys([*order, "Bearer", "Token"]))


def csrf_failure(answer: httpx.Response) -> bool:
    """A 403 that says CSRF (Django: "CSRF Failed: CSRF token missing.", "CSRF verification
    failed"; Flask-WTF: "The CSRF token is missing.")."""
    return answer.status_code in (400, 403) and "csrf" in answer.text[:2000].lower()


def csrf_cookie(cookies: httpx.Cookies) -> tuple[str, str, str] | None:
    """(cookie, header, value) of a CSRF cookie the session holds."""
    for name, value in pairs(cookies):
        header = CSRF_COOKIES.get(name.lower())
        if header and value:
            return name, header, value
    return None


def minted_csrf() -> str:
    """A token for a double-submit CSRF check (Django: 32 letters or digits in the cookie and the
    same in the header) when the API sets no cookie of its own before the first request."""
    return "".join(secrets.choice(sorted(_SAFE)) for _ in range(32))


def pairs(cookies: httpx.Cookies) -> list[tuple[str, str]]:
    """(name, value) of every cookie, the last one set winning (httpx's mapping raises on a
    name set for two paths)."""
    return list({c.name: (c.name, c.value or "") for c in cookies.jar}.values())


def cookie_headers(cookies: httpx.Cookies, base_url: str) -> dict[str, str]:
    """Headers for a cookie session: the cookies, and for a CSRF-protected one the token in its
    header with a same-origin Referer (Django checks the Referer over HTTPS)."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in pairs(cookies))}
    found = csrf_cookie(cookies)
    if found is not None:
        headers[found[1]] = found[2]
        headers["Referer"] = base_url.rstrip("/") + "/"
    return headers
