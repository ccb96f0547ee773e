"""A generated tool's input schema, read from its signature without building a pydantic model.

FastMCP builds a pydantic model per tool to derive its schema (~5 ms a tool: 25 s of CPU for
5,000 tools before the server answers `initialize`). The generated tools use a small set of
types (int, float, str, bool, Any, Literal, list, dict[str, Any], `X | None`, and `Annotated`
with pydantic's `Field(description=..., json_schema_extra=...)` or `WithJsonSchema(...)`), whose
JSON Schema is written here the way pydantic writes it, then compressed as FastMCP compresses
it, so a client sees the same schema. Any other signature is left to FastMCP (`None`)."""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from fastmcp.utilities.json_schema import compress_schema
from pydantic import WithJsonSchema
from pydantic.fields import FieldInfo

SCALARS: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}
# The FieldInfo attributes a generated `Field(...)` sets; any other makes the type unknown here.
FIELD_KEYS = frozenset({"description", "json_schema_extra"})


class Unknown(Exception):
    """A type this module does not write (FastMCP's pydantic path does)."""


def schemas(fn: Any) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The input and output schemas of `fn` as FastMCP would give them, or None for a
    signature outside the generated vocabulary."""
    code = fn.__code__
    if code.co_flags & (0x04 | 0x08) or code.co_posonlyargcount or code.co_kwonlyargcount:
        return None  # *args, **kwargs, positional- or keyword-only parameters
    names = code.co_varnames[: code.co_argcount]
    defaults = fn.__defaults__ or ()
    first_default = len(names) - len(defaults)
    hints = fn.__annotations__
    properties: dict[str, Any] = {}
    try:
        if any(isinstance(hint, str) for hint in hints.values()):  # `from __future__ import`
            hints = get_type_hints(fn, include_extras=True)
        returns = output_schema(hints.get("return"))
        for index, name in enumerate(names):
            if name not in hints:
                return None
            prop = {**_schema(hints[name]), "title": name.title().replace("_", " ").strip()}
            if index >= first_default:
                default = defaults[index - first_default]
                if default is not None and not isinstance(default, str | int | float | bool):
                    return None
                prop["default"] = default
            properties[name] = prop
    except (Unknown, NameError):
        return None
    raw: dict[str, Any] = {"additionalProperties": False, "properties": properties,
                           "type": "object"}
    required = list(names[:first_default])
    if required:
        raw["required"] = required
    return compress_schema(raw, prune_titles=True), returns


def _schema(hint: Any) -> dict[str, Any]:
    origin = get_origin(hint)
    if hint is Any:
        return {}
    if hint in SCALARS:
        return {"type": SCALARS[hint]}
    if origin is Annotated:
        base, *metadata = get_args(hint)
        schema = _schema(base)
        for item in metadata:
            schema = _apply(schema, item)
        return schema
    if origin in (types.UnionType, Union):
        options = [a for a in get_args(hint) if a is not type(None)]
        if len(options) != 1 or len(get_args(hint)) != 2:
            raise Unknown(hint)
        return {"anyOf": [_schema(options[0]), {"type": "null"}]}
    if origin is Literal:
        return _literal(get_args(hint))
    if origin is list and len(get_args(hint)) == 1:
        return {"items": _schema(get_args(hint)[0]), "type": "array"}
    if origin is dict and len(get_args(hint)) == 2 and get_args(hint)[0] is str:
        values = get_args(hint)[1]
        return {"additionalProperties": True if values is Any else _schema(values),
                "type": "object"}
    raise Unknown(hint)


def output_schema(returns: Any) -> dict[str, Any] | None:
    """The output schema FastMCP gives the generated tools' return types: none for `Any` (the
    shipped server), an open object for `dict[str, Any]` (the harness' record of a call)."""
    if returns is Any:
        return None
    if get_origin(returns) is dict and get_args(returns) == (str, Any):
        return {"additionalProperties": True, "type": "object"}
    raise Unknown(returns)


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


def _literal(values: tuple[Any, ...]) -> dict[str, Any]:
    if not values or any(isinstance(v, bool) or not isinstance(v, str | int) for v in values):
        raise Unknown(values)
    kinds = {type(v) for v in values}
    kind = {"type": SCALARS[kinds.pop()]} if len(kinds) == 1 else {}
    if len(values) == 1:
        return {"const": values[0], **kind}
    return {"enum": list(values), **kind}
