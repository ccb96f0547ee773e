"""The one OpenAPI -> JSON Schema (2020-12) converter, for a direction of travel.

`write` is what a client sends (a tool's input schema): a `readOnly` property (an id the server
makes) is never required. `read` is what the API answers (a response to validate): a
`writeOnly` property (a password) is never required. Both directions turn OpenAPI 3.0's
`nullable: true` into a null type and its boolean `exclusiveMinimum`/`exclusiveMaximum` into
numbers; an OpenAPI 3.1 schema (already JSON Schema) passes through, minus annotations no JSON
Schema tool knows. The input is a resolved schema (see `refs.resolve`).
"""

from __future__ import annotations

from typing import Any, Literal

Direction = Literal["read", "write"]
# Keys whose values map names to schemas (so a property called "example" is not a keyword).
NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions",
                       "dependentSchemas"})
# OpenAPI-only annotations, and titles: noise in a tool's schema, no meaning to a validator.
_DROPPED = frozenset({"nullable", "xml", "externalDocs", "title"})
# The property flag that makes a property not required, by direction.
_NOT_REQUIRED = {"read": "writeOnly", "write": "readOnly"}


def to_json_schema(schema: Any, direction: Direction) -> Any:
    """`schema` (an OpenAPI 3.0/3.1 schema object, `$ref`s resolved) as JSON Schema 2020-12."""
    if not schema:
        return {}
    return _walk(schema, direction)


def _walk(node: Any, direction: Direction) -> Any:
    if isinstance(node, list):
        return [_walk(v, direction) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key == "example":
            out.setdefault("examples", [value])
        elif key in NAME_MAPS and isinstance(value, dict):
            out[key] = {name: _walk(sub, direction) for name, sub in value.items()}
        else:
            out[key] = _walk(value, direction)
    for bound, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        # OpenAPI 3.0: a flag on minimum/maximum (popped either way).
        if isinstance(out.get(bound), bool) and out.pop(bound) and inclusive in out:
            out[bound] = out.pop(inclusive)
    properties = node.get("properties")
    if isinstance(out.get("required"), list) and isinstance(properties, dict):
        flag = _NOT_REQUIRED[direction]
        out["required"] = [name for name in out["required"]
                           if not (isinstance(properties.get(name), dict)
                                   and properties[name].get(flag) is True)]
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out
