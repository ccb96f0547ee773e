"""An HTTP answer -> the call's record (the harness' call log holds it as a `ToolCall`) and what
the tool returns: a compact record of the exchange (the harness) or the API's body, a tool
error for a 4xx/5xx answer or a transport error (the shipped server)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastmcp.exceptions import ToolError

RESULT_HEADERS = ("content-type", "location", "content-length", "allow", "www-authenticate",
                  "retry-after")
# Deeper JSON is kept as text: MCP serializers and JSON readers stop near 255 levels.
MAX_JSON_DEPTH = 200


def new_call(tool: str, method: str, template: str, arguments: dict[str, Any], url: str
             ) -> dict[str, Any]:
    """The record of one call, as the harness' call log holds it (a `ToolCall`)."""
    return {
        "call_id": "c-" + uuid.uuid4().hex[:10], "tool": tool, "method": method,
        "path": template, "arguments": arguments, "url": url, "status_code": None,
        "headers": {}, "body": None, "body_is_json": False, "body_truncated": False,
        "body_bytes": 0, "elapsed_ms": 0.0, "error": None,
    }


def failed(call: dict[str, Any], method: str, as_result: bool) -> dict[str, Any]:
    """A call that got no answer (`call["error"]` says why): a record, or a tool error."""
    if not as_result:
        raise ToolError(f"{method} {call['url']} failed: {call['error']}") from None
    return {"call_id": call["call_id"], "status_code": None, "headers": {}, "body": None,
            "body_truncated": False, "elapsed_ms": call["elapsed_ms"], "error": call["error"]}


def answered(call: dict[str, Any], method: str, body_text: str, limit: int, as_result: bool
             ) -> Any:
    """A call with an answer (recorded in `call`): a record, the body, or a tool error;
    body text over `limit` characters is cut."""
    shown, truncated = call["body"], call["body_truncated"]
    if len(body_text) > limit:
        shown, truncated = body_text[:limit], True
    status = call["status_code"]
    if not as_result:
        if status >= 400:
            raise ToolError(f"HTTP {status} from {method} {call['url']}: "
                            + (body_text[:limit] or "(no body)"))
        return shown
    return {
        "call_id": call["call_id"],
        "status_code": status,
        "headers": {k: v for k, v in call["headers"].items() if k in RESULT_HEADERS},
        "body": shown,
        "body_truncated": truncated,
        "elapsed_ms": call["elapsed_ms"],
        "error": None,
    }


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iterative: no recursion limit to hit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value holds a string no UTF-8 encoder accepts (`"\\ud800"`)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decode(data: bytes, charset: str | None) -> str:
    """Body text; undecodable bytes and unknown charsets never fail."""
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def parse_body(data: bytes, content_type: str, charset: str | None, truncated: bool
               ) -> tuple[Any, bool, str]:
    """(body as recorded, whether it is parsed JSON, body text). JSON too deep to carry or
    holding lone surrogates stays the text it is, so it is recorded and shown like any answer."""
    body_text = decode(data, charset)
    if truncated or "json" not in content_type or not body_text:
        return (body_text if data else None), False, body_text
    try:
        parsed = json.loads(body_text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
        return body_text, False, body_text
    if json_depth_exceeds(parsed, MAX_JSON_DEPTH) or has_lone_surrogate(parsed):
        return body_text, False, body_text
    return parsed, True, body_text
