"""OpenAPI schemas -> what a tool argument says: a Python type (as an AST expression) and the
JSON Schema keywords the type cannot carry, kept as JSON Schema in the tool's input schema."""

from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass
from typing import Any

# Schema keys that only describe or constrain a scalar; with nothing else it is fully typed.
DESCRIPTIVE_KEYS = frozenset([
    "type", "description", "title", "default", "format", "example", "examples", "enum",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "pattern", "multipleOf", "deprecated", "readOnly", "writeOnly", "nullable", "const",
    "minItems", "maxItems", "uniqueItems",
])
# The contract a tool's caller should see, kept as JSON Schema keywords next to the type.
CONSTRAINT_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                   "minLength", "maxLength", "pattern", "format", "minItems", "maxItems",
                   "uniqueItems", "examples", "deprecated")
SCALAR_TYPES = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}


def split_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the schema without its null alternative, whether null was allowed)."""
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        if len(rest) == 1:
            return {**schema, "type": rest[0]}, True
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            if len(rest) == 1 and isinstance(rest[0], dict):
                outer = {k: v for k, v in schema.items() if k != combinator}
                return {**rest[0], **outer}, True
    return schema, False


def literal(value: Any) -> ast.expr:
    """A JSON value as a Python literal expression (escaping is ast.unparse's job)."""
    if isinstance(value, dict):
        return ast.Dict(keys=[ast.Constant(str(k)) for k in value],
                        values=[literal(v) for v in value.values()])
    if isinstance(value, list | tuple):
        return ast.List(elts=[literal(v) for v in value], ctx=ast.Load())
    if isinstance(value, float) and not math.isfinite(value):  # NaN, infinity: no literal
        return ast.Call(func=name("float"), args=[ast.Constant(str(value))], keywords=[])
    return ast.Constant(value)


def name(identifier: str) -> ast.Name:
    return ast.Name(id=identifier, ctx=ast.Load())


def subscript(base: str, *args: ast.expr) -> ast.Subscript:
    index = args[0] if len(args) == 1 else ast.Tuple(elts=list(args), ctx=ast.Load())
    return ast.Subscript(value=name(base), slice=index, ctx=ast.Load())


def or_none(node: ast.expr) -> ast.expr:
    return ast.BinOp(left=node, op=ast.BitOr(), right=ast.Constant(None))


@dataclass(frozen=True)
class ArgType:
    """A schema as a Python type: `node` is the type without null, `simple` whether the type
    says all the schema requires (else the schema is shown as it is), `schema` without null."""

    node: ast.expr
    simple: bool
    nullable: bool
    schema: dict[str, Any]


def _scalar(schema: dict[str, Any]) -> ast.expr | None:
    """The Python type for a schema with only descriptive keys, or None when it is complex."""
    if not set(schema) <= DESCRIPTIVE_KEYS:
        return None
    enum = [schema["const"]] if "const" in schema else schema.get("enum")
    if isinstance(enum, list) and enum:
        values = [v for v in enum if v is not None]
        if values and all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            return subscript("Literal", *(ast.Constant(v) for v in values))
        return None
    kind = schema.get("type")
    if kind is None and set(schema) <= {"description", "default", "examples", "deprecated"}:
        return name("Any")
    return name(SCALAR_TYPES[kind]) if isinstance(kind, str) and kind in SCALAR_TYPES else None


def python_type(schema: dict[str, Any]) -> ArgType:
    inner, nullable = split_null(schema)
    scalar = _scalar(inner)
    if scalar is not None:
        return ArgType(scalar, True, nullable, inner)
    if inner.get("type") == "array" and set(inner) <= DESCRIPTIVE_KEYS | {"items"}:
        items = inner.get("items")
        item = _scalar(items) if isinstance(items, dict) else None
        if item is not None and isinstance(items, dict) and set(items) <= {"type"}:
            return ArgType(subscript("list", item), True, nullable, inner)
        return ArgType(subscript("list", name("Any")), False, nullable, inner)
    if inner.get("type") == "object":
        return ArgType(subscript("dict", name("str"), name("Any")), False, nullable, inner)
    return ArgType(name("Any"), False, nullable, inner)


def constraints(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema keywords of a simple schema its Python type does not express."""
    return {k: schema[k] for k in CONSTRAINT_KEYS if k in schema}


def describe(description: str, schema: dict[str, Any]) -> str:
    """The description, plus the API's default (the tool leaves an omitted value out, so the
    API applies it: it is information, not the tool's default)."""
    text = " ".join((description or str(schema.get("description") or "")).split())
    if "default" in schema and not isinstance(schema["default"], dict | list):
        default = json.dumps(schema["default"], ensure_ascii=False)
        text = (text.rstrip(".") + ". " if text else "") + f"Default: {default}."
    return text
