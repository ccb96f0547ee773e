"""Input values that satisfy (or purposely break) a request schema.

`conforms` is the gate every value called valid passes before it is sent: the request schema as
JSON Schema 2020-12, `pattern` and `format` included. `explore` draws valid values with
hypothesis-jsonschema, seeded so a run is reproducible; `edges` adds the values that break
careless code (empty and whitespace strings, non-ASCII, the limits); `violations` breaks the
schema one constraint at a time for the negative checks.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from runner.agent.values import schema_type
from runner.openapi import to_json_schema

# Formats both jsonschema (checking) and hypothesis-jsonschema (generating) know; others
# (OpenAPI's int32, binary, password) only document the value and are dropped.
_KNOWN_FORMATS = ("email", "uuid", "date", "date-time", "time", "ipv4", "ipv6", "hostname",
                  "uri")
_FORMATS = FormatChecker()
# Text careless code mishandles: blank, non-ASCII, emoji, right-to-left, a quote.
EDGE_STRINGS = ("", " ", "Zoë Ångström", "😀🎉", "مرحبا بالعالم", "O'Brien \"x\"")
DEFAULT_SEED = 20240
# Enum values sent as edges: every one of a short enum; of a long one (a language list of a
# hundred) this many spread over it, first and last included (generated values add others).
ENUM_EDGES = 8


def request_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A resolved OpenAPI request schema as JSON Schema: readOnly properties (ids, timestamps)
    are the server's, unknown formats only describe."""
    converted = to_json_schema(schema or {}, "write")

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: walk(v) if k != "properties" else
               {n: walk(s) for n, s in v.items()} if isinstance(v, dict) else v
               for k, v in node.items() if k not in ("discriminator", "xml", "externalDocs")}
        if isinstance(out.get("format"), str) and out["format"] not in _KNOWN_FORMATS:
            del out["format"]
        props = out.get("properties")
        if isinstance(props, dict):
            read_only = {n for n, s in props.items() if isinstance(s, dict) and s.get("readOnly")}
            if read_only:
                out["properties"] = {n: s for n, s in props.items() if n not in read_only}
                if isinstance(out.get("required"), list):
                    out["required"] = [n for n in out["required"] if n not in read_only]
        return out

    return walk(converted)


def problems(value: Any, schema: dict[str, Any] | None) -> list[str]:
    """Why `value` breaks the request schema (empty when it conforms)."""
    json_schema = request_schema(schema)
    if not json_schema:
        return []
    try:
        validator = Draft202012Validator(json_schema, format_checker=_FORMATS)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:160]}"
                for e in validator.iter_errors(value)]
    except (SchemaError, RecursionError, ValueError, TypeError) as exc:
        return [f"the documented schema cannot be checked: {exc}"[:200]]


def conforms(value: Any, schema: dict[str, Any] | None) -> bool:
    return not problems(value, schema)


_DRAWN: dict[str, list[Any]] = {}  # explore's answers by (schema, count, seed)


def explore(schema: dict[str, Any] | None, count: int, seed: int = DEFAULT_SEED) -> list[Any]:
    """Up to `count` distinct valid values drawn by hypothesis-jsonschema, the same ones for
    the same schema and seed. A schema it cannot handle gives none. Answers are kept for the
    run: a create, its update and its partial update often share one body schema, and each
    hypothesis run costs about as much as a call."""
    if count <= 0:
        return []
    key = json.dumps([schema, count, seed], sort_keys=True, default=str)
    if key not in _DRAWN:
        _DRAWN[key] = _explore(schema, count, seed)
    return copy.deepcopy(_DRAWN[key])


def warm_up() -> None:
    """Import hypothesis and draw once (its first run indexes the loaded modules), so the
    first operation does not pay for it: called while the servers start."""
    _explore({"type": "object", "properties": {"n": {"type": "integer"}}}, 2, DEFAULT_SEED)


def _explore(schema: dict[str, Any] | None, count: int, seed: int) -> list[Any]:
    json_schema = _closed(request_schema(schema))
    if not json_schema:
        return []
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import HypothesisException
    from hypothesis_jsonschema import from_schema

    drawn: list[Any] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(from_schema(json_schema, allow_x00=False, codec="utf-8"))
    def collect(value: Any) -> None:
        if value not in drawn:
            drawn.append(copy.deepcopy(value))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
    except (HypothesisException, RecursionError, ValueError, TypeError, KeyError):
        pass  # an unsatisfiable or unsupported schema: no generated values
    return [v for v in drawn[:count] if conforms(v, schema)]


def _closed(node: Any) -> Any:
    """Objects without an explicit `additionalProperties` get none: a tool argument has only
    the documented fields, so made-up extra keys could never be sent."""
    if isinstance(node, list):
        return [_closed(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (_closed(v) if k != "properties" else
               {n: _closed(s) for n, s in v.items()} if isinstance(v, dict) else v)
           for k, v in node.items()}
    if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def edges(schema: dict[str, Any] | None) -> list[Any]:
    """Edge values of one parameter or field that still satisfy its schema."""
    schema = schema or {}
    kind = schema_type(schema)
    found: list[Any] = []
    enum = schema.get("enum")
    if isinstance(enum, list):
        found.extend(spread(enum, ENUM_EDGES))
    elif kind == "string" and not schema.get("format"):
        found.extend(EDGE_STRINGS)
        for key in ("maxLength", "minLength"):
            size = schema.get(key)
            if isinstance(size, int) and 0 < size <= 10_000:
                found.append("x" * size)
                found.append("é" * size)
    elif kind in ("integer", "number"):
        found.extend([0, -1, 1])
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if isinstance(schema.get(key), (int, float)) and not isinstance(schema[key], bool):
                step = 1 if kind == "integer" else 0.5
                limit = schema[key]
                found.append(limit + step if key == "exclusiveMinimum" else
                             limit - step if key == "exclusiveMaximum" else limit)
        if kind == "number":
            found.extend([0.5, -2.25, 1e9])
        else:
            found.append(2**31)
    elif kind == "array":
        item = schema.get("items") or {}
        from runner.agent.values import value_for

        one = value_for(item)
        found.extend([[], [one], [one] * 5])
    elif kind == "boolean":
        found.extend([True, False])
    if _nullable(schema):
        found.append(None)
    unique: list[Any] = []
    for value in found:
        if value not in unique and conforms(value, schema):
            unique.append(value)
    return unique


def spread(values: list[Any], count: int) -> list[Any]:
    """At most `count` of `values`, evenly spaced, the first and last included."""
    if len(values) <= count:
        return list(values)
    step = (len(values) - 1) / (count - 1)
    return [values[round(i * step)] for i in range(count)]


def _nullable(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if schema.get("nullable") is True or (isinstance(kind, list) and "null" in kind):
        return True
    return any(isinstance(o, dict) and o.get("type") == "null"
               for o in (schema.get("anyOf") or []) + (schema.get("oneOf") or []))


def violations(schema: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(what is broken, value) pairs that each break the schema of one field, checked."""
    schema = schema or {}
    kind = schema_type(schema)
    found: list[tuple[str, Any]] = []
    if kind in ("integer", "number"):
        found.append(("wrong type: a string for a number", "not-a-number"))
        if isinstance(schema.get("minimum"), (int, float)):
            found.append(("below minimum", schema["minimum"] - 1))
        if isinstance(schema.get("maximum"), (int, float)):
            found.append(("above maximum", schema["maximum"] + 1))
    elif kind == "string":
        # (A number for a string is left out: many frameworks coerce it, harmlessly.)
        if isinstance(schema.get("maxLength"), int) and schema["maxLength"] < 10_000:
            found.append(("longer than maxLength", "x" * (schema["maxLength"] + 1)))
        if isinstance(schema.get("minLength"), int) and schema["minLength"] > 0:
            found.append(("shorter than minLength", "x" * (schema["minLength"] - 1)))
        if isinstance(schema.get("enum"), list):
            found.append(("not one of the enum values", "not-a-listed-value"))
        if schema.get("pattern") or schema.get("format") in _KNOWN_FORMATS:
            found.append((f"breaks the {'pattern' if schema.get('pattern') else 'format'}",
                          "!!not valid!!"))
    elif kind == "boolean":
        found.append(("wrong type: an object for a boolean", {"x": 1}))
    elif kind == "array":
        found.append(("wrong type: a string for an array", "not-an-array"))
    elif kind == "object":
        found.append(("wrong type: a list for an object", [1, 2]))
    return [(why, value) for why, value in found if not conforms(value, schema)]
