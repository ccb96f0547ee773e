"""The shape of the config file, as the JSON Schema published next to this module
(`api-mcp-test.schema.json`, for editor completion: see 'Configuration file' in the README).

Validation turns every jsonschema error into the sentence the schema's nearest `errorMessage`
gives for that key (the same text editors show), prefixed with the key and followed by what was
found. What the schema cannot say (selectors, which auth kind, files that must exist) is checked
by the key's converter (`keys.py`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

SCHEMA_FILE = "api-mcp-test.schema.json"
# Values under these keys may be credentials or settings: a message names their type only.
_PRIVATE = ("env", "value", "password", "form", "json", "basic")
_SHOWS_VALUE = ("type", "pattern", "minimum", "exclusiveMinimum", "enum", "propertyNames")


@cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def keys() -> tuple[str, ...]:
    """The top-level keys, in the order the README lists them."""
    return tuple(schema()["properties"])


def problems(raw: dict[str, Any]) -> dict[str, str]:
    """What breaks the schema, keyed by the top-level key it is under: every problem of a key,
    its deepest first (`budget.calls` says more than `budget`)."""
    found: dict[str, list[str]] = {}
    for error in sorted(Draft7Validator(schema()).iter_errors(raw), key=_order):
        for key, message in _messages(error):
            if message not in found.setdefault(key, []):
                found[key].append(message)
    return {key: " ".join(messages) for key, messages in found.items()}


def _order(error: ValidationError) -> tuple[str, int, str]:
    return (str(error.path[0]) if error.path else "", -len(error.path),
            ".".join(map(str, error.path)))


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    if not error.path and error.validator == "additionalProperties":
        allowed = ", ".join(keys())
        return [(str(name), f"Unknown key `{name}`; allowed keys: {allowed}.")
                for name in error.instance if name not in schema()["properties"]]
    if not error.path:  # the whole file is not a mapping (read_* say so first)
        allowed = ", ".join(keys())
        return [("", f"The file must be a mapping of keys to values; allowed keys: {allowed}.")]
    path = [str(p) for p in error.path]
    where, text = _error_message(error)
    key = ".".join(path[:where])
    message = f"`{key}` {text}"
    if error.validator == "propertyNames":
        message += f" ({_shown(error.instance, path)} is not a variable name)"
    elif error.validator in _SHOWS_VALUE:
        message += f", not {_shown(error.instance, path)}"
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        message += f" (unknown: {', '.join(map(str, extra))})"
    elif error.validator == "required":
        message += f" ({error.message.split(' is a required')[0]} is missing)"
    return [(path[0], message + ".")]


def _error_message(error: ValidationError) -> tuple[int, str]:
    """The nearest `errorMessage` on the way from the root to the failed keyword, and how many
    parts of the instance's path lead to the schema that holds it."""
    node: Any = schema()
    text, where, depth, previous = "is not valid", 0, 0, None
    for part in list(error.absolute_schema_path)[:-1]:
        if isinstance(node, dict) and "$ref" in node:  # jsonschema's path goes through it
            node = _resolve(node["$ref"])
        node = node[part]
        # Into a property, a mapping's values or a list's items: one step down the instance.
        if previous == "properties" or part in ("additionalProperties", "items"):
            depth += 1
        previous = part
        if isinstance(node, dict) and "errorMessage" in node:
            text, where = node["errorMessage"], depth
    if isinstance(node, dict) and "$ref" in node:  # the failed keyword is the reference's
        text = _resolve(node["$ref"]).get("errorMessage", text)
        where = depth
    return where, text


def _resolve(ref: str) -> Any:
    node: Any = schema()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _shown(value: Any, path: list[str]) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if any(part in _PRIVATE for part in path):
        return ("a string" if isinstance(value, str) else "true or false"
                if isinstance(value, bool) else "a number" if value is not None else "empty")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"
