"""A copy-paste `curl` reproduction of a recorded call, for the failures in the reports.

The call log records the URL and the tool arguments, not the bytes sent: the body is rebuilt
from the arguments the way the generated tool sends them (body fields under their documented
names; the raw-request tool's json_body / body_text as given). Credentials are never written:
a secured operation gets a placeholder header to fill in.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from runner.models import Endpoint, ToolCall

RAW_TOOL = "api_mcp_test_raw_request"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def request_body(call: ToolCall, endpoint: Endpoint) -> Any:
    """The JSON body the call sent (None: none)."""
    if call.tool == RAW_TOOL:
        return call.arguments.get("json_body")
    if not endpoint.request_body:
        return None
    params = {_norm(p.name) for p in endpoint.parameters}
    params |= {_norm(p.name) + p.location for p in endpoint.parameters}
    schema = endpoint.request_body.get("schema") or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    if "body" in call.arguments and not (props and "body" in props):
        return call.arguments["body"]
    body = {}
    for arg, value in call.arguments.items():
        if _norm(arg) in params:
            continue
        name = next((p for p in (props or {}) if _norm(p) in (_norm(arg),
                                                            _norm(arg).removesuffix("body"))),
                    arg)
        body[name] = value
    return body


def curl(call: ToolCall, endpoint: Endpoint) -> str:
    """One shell line that sends the same request again."""
    method = str(call.arguments.get("method") or call.method) if call.tool == RAW_TOOL \
        else call.method
    parts = ["curl", "-i", "-X", method.upper(), call.url or call.path]
    if endpoint.security:
        parts += ["-H", "Authorization: <your credentials>"]
    body = request_body(call, endpoint)
    text = call.arguments.get("body_text") if call.tool == RAW_TOOL else None
    content_type = str((endpoint.request_body or {}).get("content_type") or "application/json")
    if body is not None:
        if "form" in content_type and isinstance(body, dict):
            for key, value in body.items():
                parts += ["--data-urlencode", f"{key}={value}"]
        else:
            parts += ["-H", "Content-Type: application/json",
                      "--data-raw", json.dumps(body, ensure_ascii=False)]
    elif isinstance(text, str):
        parts += ["--data-raw", text]
    return " ".join(shlex.quote(p) for p in parts)
