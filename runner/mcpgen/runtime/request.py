"""A tool call's arguments -> the parts of an HTTP request: where each argument goes, and how
values are written into a path, query, header, cookie or body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Operation:
    """One API operation: where each tool argument (by Python name) goes in the request.

    `params` maps a Python name to (location, wire name); location is path, query, header,
    cookie, field (a property of a JSON/form body object) or body (the whole body).
    """

    tool: str
    method: str
    path: str
    params: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    content_type: str = "application/json"

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Parts:
    """A request being assembled."""

    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    form: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    drop: set[str] = field(default_factory=set)  # lower-case names of headers not to send


def new_parts(url: str, query: Mapping[str, Any] | None = None) -> Parts:
    params = {k: query_value(v) for k, v in (query or {}).items() if v is not None}
    return Parts(url=url, params=params)


def operation_parts(operation: Operation, arguments: Mapping[str, Any], base_url: str) -> Parts:
    """The request of one tool call: `arguments` by Python name, None meaning omitted."""
    path = operation.path
    parts = new_parts("")
    fields: dict[str, Any] = {}
    body: Any = None
    for name, value in arguments.items():
        if value is None or name not in operation.params:
            continue
        location, wire = operation.params[name]
        if location == "path":
            path = path.replace("{" + wire + "}", segment(value))
        elif location == "query":
            parts.params[wire] = query_value(value)
        elif location == "header":
            parts.headers[wire] = text(value)
        elif location == "cookie":
            parts.cookies[wire] = text(value)
        elif location == "field":
            fields[wire] = value
        else:
            body = value
    if fields:
        body = {**body, **fields} if isinstance(body, dict) else fields
    encode_body(parts, body, operation.content_type)
    parts.url = base_url + path
    return parts


def encode_body(parts: Parts, body: Any, content_type: str) -> None:
    if body is None:
        return
    if content_type == FORM and isinstance(body, dict):
        parts.form = {k: query_value(v) for k, v in body.items()}
    elif content_type.startswith("multipart/") and isinstance(body, dict):
        parts.files = {k: (None, text(v)) for k, v in body.items()}
    else:
        raw = json.dumps(body, ensure_ascii=False) if "json" in content_type else text(body)
        parts.content = raw.encode("utf-8", "surrogatepass")
        parts.headers["Content-Type"] = content_type


def text(value: Any) -> str:
    """A parameter value as it goes into a URL or header."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def segment(value: Any) -> str:
    """One path segment, fully percent-encoded; `.` and `..` cannot climb the path."""
    encoded = quote(text(value), safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def query_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list | tuple):
        return [text(v) for v in value]
    return value
