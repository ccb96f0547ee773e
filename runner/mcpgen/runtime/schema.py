"""A generated tool's schemas and argument validator, read from its signature without building
a pydantic model.

FastMCP builds a pydantic model per tool to derive its schema (~5 ms a tool: 25 s of CPU for
5,000 tools before the server answers `initialize`), and another on each call to validate the
arguments. The generated tools use a small set of types (int, float, str, bool, Any, Literal,
list, dict[str, ...], `X | None`, and `Annotated` with pydantic's `Field(description=...,
json_schema_extra=...)` or `WithJsonSchema(...)`): their JSON Schema is written here the way
pydantic writes it, then compressed as FastMCP compresses it, so a client sees the same schema;
their validator is the pydantic-core schema pydantic would build (same coercions, same errors).
Any other signature is left to FastMCP (`None`)."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from fastmcp.utilities.json_schema import compress_schema
from pydantic import WithJsonSchema
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, SchemaValidator
from pydantic_core import core_schema as cs

SCALARS: dict[Any, tuple[str, Any]] = {
    int: ("integer", cs.int_schema), float: ("number", cs.float_schema),
    str: ("string", cs.str_schema), bool: ("boolean", cs.bool_schema),
}
# The FieldInfo attributes a generated `Field(...)` sets; any other makes the type unknown here.
FIELD_KEYS = frozenset({"description", "json_schema_extra"})


class Unknown(Exception):
    """A type this module does not write (FastMCP's pydantic path does)."""


@dataclass(frozen=True)
class Signature:
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    arguments: CoreSchema  # pydantic-core's arguments schema

    def validator(self, fn: Any) -> SchemaValidator:
        """Validates a call's arguments and calls `fn` with them (its result is returned)."""
        return SchemaValidator(cs.call_schema(self.arguments, fn))


def signature(fn: Any) -> Signature | None:
    """The schemas of `fn` as FastMCP would give them and its arguments' validator, or None
    for a signature outside the generated vocabulary."""
    code = fn.__code__
    if code.co_flags & (0x04 | 0x08) or code.co_posonlyargcount or code.co_kwonlyargcount:
        return None  # *args, **kwargs, positional- or keyword-only parameters
    names = code.co_varnames[: code.co_argcount]
    defaults = fn.__defaults__ or ()
    first_default = len(names) - len(defaults)
    hints = fn.__annotations__
    properties: dict[str, Any] = {}
    parameters = []
    try:
        if any(isinstance(hint, str) for hint in hints.values()):  # `from __future__ import`
            hints = get_type_hints(fn, include_extras=True)
        returns = output_schema(hints.get("return"))
        for index, name in enumerate(names):
            if name not in hints:
                return None
            json, core = _schema(hints[name])
            prop = {**json, "title": name.title().replace("_", " ").strip()}
            if index >= first_default:
                default = defaults[index - first_default]
                if default is not None and not isinstance(default, str | int | float | bool):
                    return None
                prop["default"] = default
                core = cs.with_default_schema(core, default=default)
            properties[name] = prop
            parameters.append(cs.arguments_parameter(name, core))
    except (Unknown, NameError):
        return None
    raw: dict[str, Any] = {"additionalProperties": False, "properties": properties,
                           "type": "object"}
    required = list(names[:first_default])
    if required:
        raw["required"] = required
    return Signature(compress_schema(raw, prune_titles=True), returns,
                     cs.arguments_schema(parameters))


def output_schema(returns: Any) -> dict[str, Any] | None:
    """The output schema FastMCP gives the generated tools' return types: none for `Any` (the
    shipped server), an open object for `dict[str, Any]` (the harness' record of a call)."""
    if returns is Any:
        return None
    if get_origin(returns) is dict and get_args(returns) == (str, Any):
        return {"additionalProperties": True, "type": "object"}
    raise Unknown(returns)


def _schema(hint: Any) -> tuple[dict[str, Any], CoreSchema]:
    """(JSON Schema, pydantic-core schema) of a type."""
    origin = get_origin(hint)
    if hint is Any:
        return {}, cs.any_schema()
    if hint in SCALARS:
        kind, core = SCALARS[hint]
        return {"type": kind}, core()
    if origin is Annotated:  # what it adds is for the JSON Schema only
        base, *metadata = get_args(hint)
        json, core = _schema(base)
        for item in metadata:
            json = _apply(json, item)
        return json, core
    if origin in (types.UnionType, Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) != 1 or len(get_args(hint)) != 2:
            raise Unknown(hint)
        json, core = _schema(options[0])
        return {"anyOf": [json, {"type": "null"}]}, cs.nullable_schema(core)
    if origin is Literal:
        return _literal(get_args(hint))
    if origin is list and len(get_args(hint)) == 1:
        json, core = _schema(get_args(hint)[0])
        return {"items": json, "type": "array"}, cs.list_schema(core)
    if origin is dict and len(get_args(hint)) == 2 and get_args(hint)[0] is str:
        values = get_args(hint)[1]
        json, core = ({}, cs.any_schema()) if values is Any else _schema(values)
        return ({"additionalProperties": True if values is Any else json, "type": "object"},
                cs.dict_schema(cs.str_schema(), core))
    raise Unknown(hint)


def _apply(schema: dict[str, Any], item: Any) -> dict[str, Any]:
    if isinstance(item, WithJsonSchema) and item.mode is None \
            and isinstance(item.json_schema, dict):
        return dict(item.json_schema)
    if isinstance(item, FieldInfo) and item._attributes_set.keys() <= FIELD_KEYS \
            and not item.metadata:
        if item.description is not None:
            schema["description"] = item.description
        extra = item.json_schema_extra
        if isinstance(extra, dict):
            schema.update(extra)
        elif extra is not None:
            raise Unknown(item)
        return schema
    raise Unknown(item)


def _literal(values: tuple[Any, ...]) -> tuple[dict[str, Any], CoreSchema]:
    if not values or any(isinstance(v, bool) or not isinstance(v, str | int) for v in values):
        raise Unknown(values)
    kinds = {type(v) for v in values}
    kind = {"type": SCALARS[kinds.pop()][0]} if len(kinds) == 1 else {}
    json = {"const": values[0], **kind} if len(values) == 1 else {"enum": list(values), **kind}
    return json, cs.literal_schema(list(values))
