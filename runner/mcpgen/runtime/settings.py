"""The server's settings and the API's credentials, read from the environment when it starts."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .request import Parts


class SettingsError(ValueError):
    """An environment variable of the server holds an unusable value."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    timeout: float = 30.0
    max_body: int = 1048576
    result_limit: int = 8000
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], default_base_url: str = "") -> Settings:
        base_url = (environ.get("API_BASE_URL") or default_base_url).strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise SettingsError("Set API_BASE_URL to the API's base URL, e.g. http://127.0.0.1:8000")
        return cls(
            base_url=base_url,
            timeout=_positive(environ, "API_MCP_TEST_TIMEOUT", 30.0),
            max_body=int(_positive(environ, "API_MCP_TEST_MAX_BODY", 1048576)),
            result_limit=int(_positive(environ, "API_MCP_TEST_RESULT_LIMIT", 8000)),
            headers=parse_headers(environ.get("API_MCP_TEST_HEADERS", ""), "API_MCP_TEST_HEADERS"),
        )


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SettingsError(f"{name} must be a positive number, got {raw!r}")
    return value


def parse_headers(raw: str, source: str) -> dict[str, str]:
    """A JSON object of header names to values; SettingsError saying what is wrong."""
    if not raw.strip():
        return {}
    try:
        headers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{source} is not valid JSON: {exc}") from None
    if not isinstance(headers, dict):
        raise SettingsError(f"{source} must be a JSON object of header names to values")
    return {str(name): str(value) for name, value in headers.items()}


@dataclass(frozen=True)
class Credential:
    """A security scheme of the API, filled from the environment variable `variable`.

    kind: bearer (`Authorization: Bearer $VAR`), basic (`$VAR` is `user:password`), or header,
    query, cookie (an API key sent under `name`). An unset variable sends nothing.
    """

    kind: str
    variable: str
    name: str = "Authorization"

    def apply(self, environ: Mapping[str, str], request: Parts) -> None:
        value = environ.get(self.variable, "")
        if not value:
            return
        if self.kind == "bearer":
            request.headers["Authorization"] = f"Bearer {value}"
        elif self.kind == "basic":
            request.headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
        elif self.kind == "query":
            request.params.setdefault(self.name, value)
        elif self.kind == "cookie":
            request.cookies.setdefault(self.name, value)
        else:
            request.headers[self.name] = value
