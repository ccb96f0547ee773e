"""Schema-driven argument values: documented examples first, then a value that fits the schema."""

from __future__ import annotations

import re
from typing import Any

_FORMAT_VALUES: dict[str, Any] = {
    "email": "user@example.com",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "date-time": "2024-01-15T10:30:00Z",
    "date": "2024-01-15",
    "time": "10:30:00",
    "uri": "https://example.com/resource",
    "url": "https://example.com/resource",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "password": "S3cure-passw0rd!",
    "byte": "aGVsbG8=",
    "binary": "hello",
}


def documented_example(schema: dict[str, Any]) -> tuple[bool, Any]:
    """(found, value) from example / examples / default / const / enum, in that order."""
    if "example" in schema:
        return True, schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        return True, first.get("value") if isinstance(first, dict) else first
    if "default" in schema and schema["default"] is not None:
        return True, schema["default"]
    if "const" in schema:
        return True, schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        non_null = [v for v in enum if v is not None]
        return True, (non_null or enum)[0]
    return False, None


def schema_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else None
    if kind:
        return str(kind)
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def value_for(schema: dict[str, Any] | None, name: str = "", depth: int = 0) -> Any:
    """A valid value for `schema` (already `$ref`-resolved)."""
    schema = schema or {}
    found, value = documented_example(schema)
    if found:
        return value
    for combinator in ("allOf",):
        if schema.get(combinator):
            merged: dict[str, Any] = {}
            for part in schema[combinator]:
                merged = _merge(merged, part)
            return value_for({**{k: v for k, v in schema.items() if k != combinator}, **merged},
                             name, depth)
    for combinator in ("anyOf", "oneOf"):
        options = [o for o in schema.get(combinator, []) if schema_type(o) != "null" or len(o) > 1]
        if options:
            return value_for(options[0], name, depth)
    kind = schema_type(schema)
    if kind == "object" or (kind is None and depth == 0 and schema.get("properties")):
        if depth > 4:
            return {}
        props = schema.get("properties") or {}
        # A request leaves out readOnly fields (ids, timestamps): the server sets them.
        return {key: value_for(sub, key, depth + 1) for key, sub in props.items()
                if not (isinstance(sub, dict) and sub.get("readOnly"))}
    if kind == "array":
        count = max(1, int(schema.get("minItems") or 1))
        item = value_for(schema.get("items") or {"type": "string"}, name, depth + 1)
        if schema.get("uniqueItems") and count > 1:
            return [item] if not isinstance(item, (int, str)) else _distinct(item, count)
        return [item] * count
    if kind == "integer":
        return _number(schema, 1, integer=True)
    if kind == "number":
        return _number(schema, 1.5, integer=False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name)


def _merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = {**left, **right}
    if "properties" in left or "properties" in right:
        merged["properties"] = {**left.get("properties", {}), **right.get("properties", {})}
        merged["required"] = [*left.get("required", []), *right.get("required", [])]
    return merged


def _distinct(item: Any, count: int) -> list[Any]:
    if isinstance(item, int):
        return [item + i for i in range(count)]
    return [f"{item}{i}" for i in range(count)]


def _number(schema: dict[str, Any], fallback: float, integer: bool) -> int | float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), (int, float)):
        low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
    if isinstance(schema.get("exclusiveMaximum"), (int, float)):
        high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
    value: float = fallback
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0:
        value = multiple * max(1, round(value / multiple))
    return int(value) if integer else float(value)


def _string(schema: dict[str, Any], name: str) -> str:
    # A pattern that is one literal word (OAuth2's grant_type "^password$") is the only value.
    literal = re.fullmatch(r"\^\(?([\w\-. @]+)(?:\|[^)]*)?\)?\$", str(schema.get("pattern") or ""))
    if literal:
        return literal.group(1)
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_VALUES:
        return str(_FORMAT_VALUES[fmt])
    lowered = name.lower()
    if "email" in lowered:
        text = "user@example.com"
    elif lowered.endswith(("url", "uri")):
        text = "https://example.com"
    elif lowered in ("password", "passwd"):
        text = "S3cure-passw0rd!"
    else:
        text = (name or "value").replace("_", "-") if name else "value"
        text = f"test-{text}"
    low = int(schema.get("minLength") or 0)
    high = schema.get("maxLength")
    if len(text) < low:
        text = text + "x" * (low - len(text))
    if isinstance(high, int) and len(text) > high:
        text = text[: max(high, low)]
    return text


def boundary_values(schema: dict[str, Any]) -> list[Any]:
    """Edge values inside the documented constraints (comprehensive suite)."""
    kind = schema_type(schema)
    values: list[Any] = []
    if kind in ("integer", "number"):
        for key in ("minimum", "maximum"):
            if isinstance(schema.get(key), (int, float)):
                values.append(schema[key])
    elif kind == "string" and not schema.get("enum") and not schema.get("format"):
        if isinstance(schema.get("maxLength"), int) and schema["maxLength"] <= 10_000:
            values.append("x" * schema["maxLength"])
        if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
            values.append("x" * schema["minLength"])
    return values
