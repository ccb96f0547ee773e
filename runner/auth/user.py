"""The generated user and the request bodies made for it: which field wants the user's name,
email or password, and `${...}` placeholders in configured values."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner import trust
from runner.auth import plan
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthStep, Endpoint

STAGE = "auth"
HINT = "Check the `auth` settings in .api-mcp-test.yml (see 'Authentication' in the README)."


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


def login_name(spec: ApiSpec, register: AuthStep) -> str:
    """How the sign-up names the user: `email` when it asks for an email and no username."""
    if register.body is not None:
        keys = {credential_kind(k) for k in register.body}
    else:
        keys = {credential_kind(k)
                for k in plan.body_fields(spec, plan.endpoint_of(spec, register.method,
                                                                 register.path))}
    return "email" if "email" in keys and "username" not in keys else "username"


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


def credentials_body(endpoint: Endpoint | None, spec: ApiSpec, user: ThrowawayUser,
                     full: bool, login_name: str = "username") -> dict[str, Any]:
    """A request body for the generated user from the operation's schema: credential fields get
    the user's values (a field naming the user gets `login_name`'s value, or the email when its
    format says email); with `full` (sign-up) other required fields get schema-valid values."""
    from runner.agent.values import value_for

    schema: dict[str, Any] = {}
    if endpoint is not None and endpoint.request_body:
        schema = endpoint.request_body.schema  # resolved in discovery
    properties = schema.get("properties") or {}
    if not properties:  # no schema (synthesized spec): the usual names, both for a sign-up
        guess = {"username": getattr(user, login_name), "email": user.email,
                 "password": user.password}
        return {**guess, "password1": user.password, "password2": user.password} if full \
            else guess
    required = set(schema.get("required") or [])
    body: dict[str, Any] = {}
    for name, sub in properties.items():
        sub = sub if isinstance(sub, dict) else {}
        kind = credential_kind(name)
        if kind == "username" and (login_name == "email" or sub.get("format") == "email"):
            kind = "email"
        if kind is not None:
            body[name] = getattr(user, kind)
        elif full and name in required:
            body[name] = value_for(sub, name)
        elif name == "grant_type" and "password" in str(sub.get("pattern", "password")):
            body[name] = "password"
    return body


def credential_kind(name: str) -> str | None:
    """Which of the user's values a body field wants: username, email or password."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if key in ("username", "user", "login", "name", "handle", "userid"):
        return "username"
    if key in ("email", "emailaddress", "mail", "useremail"):
        return "email"
    if "password" in key or key in ("pass", "passwd", "pwd"):
        return "password"
    return None
