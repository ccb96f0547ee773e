"""Moved to `runner.openapi` (the project's OpenAPI library); these names stay importable while
the callers move over."""

from __future__ import annotations

import copy
from typing import Any

from runner.openapi import (
    endpoints_from_openapi,
    pick_json_content,
    pointer_get,
    resolve,
    response_schema,
    swagger2_to_openapi3,
)

__all__ = [
    "endpoints_from_openapi",
    "pick_json_content",
    "pointer_get",
    "resolve",
    "response_schema",
    "swagger2_to_openapi3",
    "to_json_schema",
]
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def to_json_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """An OpenAPI 3.0 schema object as plain JSON Schema (2020-12) to validate a response with:
    `nullable` becomes a null type, and writeOnly properties (a password) are not required."""
    if not schema:
        return {}
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: (walk_map(v) if k in _SCHEMA_MAPS else walk(v))
                   for k, v in node.items() if k not in ("nullable", "example")}
            if node.get("nullable") is True:
                if "type" in out and isinstance(out["type"], str):
                    out["type"] = [out["type"], "null"]
                elif "type" not in out:
                    out = {"anyOf": [out, {"type": "null"}]}
            properties = node.get("properties")
            if isinstance(out.get("required"), list) and isinstance(properties, dict):
                out["required"] = [name for name in out["required"]
                                   if not (properties.get(name) or {}).get("writeOnly")]
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    def walk_map(node: Any) -> Any:
        # `properties` maps names to schemas: a property may be called "example".
        return {k: walk(v) for k, v in node.items()} if isinstance(node, dict) else walk(node)

    return walk(schema)
