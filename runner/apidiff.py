"""What a pull request did to the API's contract: the base spec's operations against the head's.

Every difference becomes one `ApiChange` with a stable `change` name (the rule that found it) and
whether it breaks existing clients. The rules follow what API diff tools (oasdiff) call breaking:
a client written against the base must keep working against the head. Requests may accept more
and demand less; responses may promise more and must not take anything away.

Works on `Endpoint` records, whose schemas discovery has already resolved (`$ref`s inlined).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from runner.models import ApiChange, Endpoint, Parameter, RequestBody

Direction = Literal["request", "response"]
# Schemas from untrusted documents can be deep: compare this far, then stop quietly.
_MAX_DEPTH = 24
# Constraint -> whether a larger value narrows what a request may send.
_LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")


def diff_endpoints(base: list[Endpoint], head: list[Endpoint]) -> list[ApiChange]:
    """Every contract change from `base` to `head`, breaking ones first, then by operation."""
    base_by_key = {e.key: e for e in base}
    head_by_key = {e.key: e for e in head}
    changes: list[ApiChange] = []
    moved = _moved_operations(base_by_key, head_by_key)
    for old_key, new in moved.items():
        old = base_by_key[old_key]
        what = "method" if old.path == new.path else "path"
        changes.append(ApiChange(new.key, f"{what}-changed", True,
                                 f"operation {new.operation_id} moved from {old_key} to {new.key}"))
        changes.extend(_operation_changes(old, new))
    moved_to = {e.key for e in moved.values()}
    for key, old in base_by_key.items():
        if key not in head_by_key and key not in moved:
            changes.append(ApiChange(key, "operation-removed", True,
                                     f"{key} is gone ({old.operation_id})"))
    for key, new in head_by_key.items():
        if key in base_by_key:
            changes.extend(_operation_changes(base_by_key[key], new))
        elif key not in moved_to:
            changes.append(ApiChange(key, "operation-added", False, f"new operation {key}"))
    return sorted(changes, key=lambda c: (not c.breaking, c.operation, c.change, c.detail))


def changed_operations(changes: list[ApiChange]) -> set[str]:
    """Operations of the head that the changes touch (removed ones have no head operation)."""
    return {c.operation for c in changes if c.change != "operation-removed"}


def _moved_operations(base: dict[str, Endpoint], head: dict[str, Endpoint]) -> dict[str, Endpoint]:
    """Base operations that left their key but kept their operationId under a new key."""
    new_by_id = {e.operation_id: e for k, e in head.items() if k not in base and e.operation_id}
    return {key: new_by_id[old.operation_id] for key, old in base.items()
            if key not in head and old.operation_id in new_by_id}


def _operation_changes(old: Endpoint, new: Endpoint) -> Iterator[ApiChange]:
    key = new.key
    if new.security and not old.security:
        yield ApiChange(key, "security-added", True, "the operation now requires credentials")
    elif old.security and not new.security:
        yield ApiChange(key, "security-removed", False, "the operation no longer requires "
                        "credentials")
    yield from _parameter_changes(key, old.parameters, new.parameters)
    yield from _body_changes(key, old.request_body, new.request_body)
    yield from _response_changes(key, old.responses, new.responses)


def _parameter_changes(key: str, old: tuple[Parameter, ...],
                       new: tuple[Parameter, ...]) -> Iterator[ApiChange]:
    before = {(p.location, p.name): p for p in old}
    after = {(p.location, p.name): p for p in new}
    for where, param in after.items():
        label = f"{param.location} parameter '{param.name}'"
        previous = before.get(where)
        if previous is None:
            if param.required:
                yield ApiChange(key, "required-parameter-added", True, f"new required {label}")
            else:
                yield ApiChange(key, "optional-parameter-added", False, f"new optional {label}")
            continue
        if param.required and not previous.required:
            yield ApiChange(key, "parameter-became-required", True, f"{label} is now required")
        yield from _schema_changes(key, label, previous.schema, param.schema, "request", 0)
    for (location, name), param in before.items():
        if (location, name) not in after:
            yield ApiChange(key, "parameter-removed", False,
                            f"{location} parameter '{name}' is no longer documented")


def _body_changes(key: str, old: RequestBody | None,
                  new: RequestBody | None) -> Iterator[ApiChange]:
    if new is None:
        if old is not None:
            yield ApiChange(key, "request-body-removed", False, "the request body is gone")
        return
    if old is None:
        if new.required:
            yield ApiChange(key, "request-body-added", True, "a required request body was added")
        else:
            yield ApiChange(key, "request-body-added", False, "an optional request body was added")
        return
    if new.required and not old.required:
        yield ApiChange(key, "request-body-became-required", True, "the request body is now "
                        "required")
    if old.content_type != new.content_type:
        yield ApiChange(key, "request-content-type-changed", True,
                        f"request body {old.content_type} -> {new.content_type}")
        return
    yield from _schema_changes(key, "request body", old.schema, new.schema, "request", 0)


def _success(responses: dict[str, Any]) -> dict[str, Any]:
    return {code: r for code, r in responses.items() if str(code).startswith("2")}


def _json_schema(response: Any) -> dict[str, Any] | None:
    content = (response or {}).get("content") if isinstance(response, dict) else None
    if not isinstance(content, dict):
        return None
    for media, item in content.items():
        if "json" in media and isinstance(item, dict) and isinstance(item.get("schema"), dict):
            return item["schema"]
    return None


def _response_changes(key: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[ApiChange]:
    old_ok, new_ok = _success(old), _success(new)
    if old_ok and new_ok and not set(old_ok) & set(new_ok):
        yield ApiChange(key, "success-status-changed", True,
                        f"success status {', '.join(sorted(old_ok))} -> "
                        f"{', '.join(sorted(new_ok))}")
    for code in sorted(set(old_ok) & set(new_ok)):
        before, after = _json_schema(old_ok[code]), _json_schema(new_ok[code])
        if before is None or after is None:
            continue
        yield from _schema_changes(key, f"{code} response", before, after, "response", 0)


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema allows (None: any), with 3.0's nullable as "null"."""
    declared = schema.get("type")
    if declared is None:
        variants = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(variants, list) and all(isinstance(v, dict) for v in variants):
            found: set[str] = set()
            for variant in variants:
                inner = _types(variant)
                if inner is None:
                    return None
                found |= inner
            return found or None
        return None
    types = set(declared) if isinstance(declared, list) else {str(declared)}
    if "number" in types:
        types.add("integer")  # every integer is a number
    if schema.get("nullable") is True:
        types.add("null")
    return types


def _schema_changes(key: str, label: str, old: Any, new: Any, direction: Direction,
                    depth: int) -> Iterator[ApiChange]:
    """Changes inside one schema. `direction` decides what breaks a client: a request schema
    must not accept less, a response schema must not return anything the client did not expect."""
    if depth > _MAX_DEPTH or not isinstance(old, dict) or not isinstance(new, dict):
        return
    request = direction == "request"
    before, after = _types(old), _types(new)
    if before is not None and after is not None and before != after:
        narrowed, widened = not before <= after, not after <= before
        # A request must not accept less; a response must not return anything new.
        if request:
            name = "request-type-narrowed" if narrowed else "request-type-widened"
        else:
            name = "response-type-changed" if widened else "response-type-narrowed"
        yield ApiChange(key, name, narrowed if request else widened,
                        f"{label}: type {_show(before)} -> {_show(after)}")
    if old.get("format") != new.get("format") and new.get("format") is not None:
        yield ApiChange(key, f"{direction}-format-changed", True,
                        f"{label}: format {old.get('format')} -> {new.get('format')}")
    yield from _enum_changes(key, label, old.get("enum"), new.get("enum"), request)
    if request:
        yield from _bound_changes(key, label, old, new)
        if new.get("pattern") and new.get("pattern") != old.get("pattern"):
            yield ApiChange(key, "request-pattern-changed", True,
                            f"{label}: pattern {old.get('pattern')!r} -> {new.get('pattern')!r}")
    yield from _property_changes(key, label, old, new, direction, depth)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        yield from _schema_changes(key, _field(label, "[]"), old["items"], new["items"],
                                   direction, depth + 1)


def _enum_changes(key: str, label: str, old: Any, new: Any, request: bool) -> Iterator[ApiChange]:
    if not isinstance(new, list):
        return
    if not isinstance(old, list):
        if request:
            yield ApiChange(key, "request-enum-added", True, f"{label}: now limited to "
                            f"{_show(new)}")
        return
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    if removed and request:
        yield ApiChange(key, "request-enum-value-removed", True,
                        f"{label}: no longer accepts {_show(removed)}")
    if added and not request:
        yield ApiChange(key, "response-enum-value-added", True,
                        f"{label}: may now return {_show(added)}")
    if added and request:
        yield ApiChange(key, "request-enum-value-added", False,
                        f"{label}: now also accepts {_show(added)}")


def _bound_changes(key: str, label: str, old: dict[str, Any],
                   new: dict[str, Any]) -> Iterator[ApiChange]:
    for name in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
        a, b = old.get(name), new.get(name)
        if not isinstance(b, (int, float)) or isinstance(b, bool) or a == b:
            continue
        lower = name in _LOWER_BOUNDS
        if a is None or (isinstance(a, (int, float)) and (b > a if lower else b < a)):
            yield ApiChange(key, "request-constraint-narrowed", True,
                            f"{label}: {name} {a} -> {b}")


def _property_changes(key: str, label: str, old: dict[str, Any], new: dict[str, Any],
                      direction: Direction, depth: int) -> Iterator[ApiChange]:
    before = old.get("properties") if isinstance(old.get("properties"), dict) else None
    after = new.get("properties") if isinstance(new.get("properties"), dict) else None
    if before is None or after is None:
        return
    old_required = set(old.get("required") or [])
    new_required = set(new.get("required") or [])
    request = direction == "request"
    for name, schema in after.items():
        field = _field(label, name)
        if name not in before:
            if request and name in new_required:
                yield ApiChange(key, "required-field-added", True, f"new required {field}")
            elif request:
                yield ApiChange(key, "optional-field-added", False, f"new optional {field}")
            else:
                yield ApiChange(key, "response-field-added", False, f"new {field}")
            continue
        if request and name in new_required and name not in old_required:
            yield ApiChange(key, "field-became-required", True, f"{field} is now required")
        if not request and name in old_required and name not in new_required:
            yield ApiChange(key, "response-field-became-optional", True,
                            f"{field} may now be missing")
        yield from _schema_changes(key, field, before[name], schema, direction, depth + 1)
    for name in before:
        if name in after:
            continue
        if request:
            yield ApiChange(key, "request-field-removed", False,
                            f"{_field(label, name)} is no longer documented")
        else:
            yield ApiChange(key, "response-field-removed", True, f"{_field(label, name)} is gone")


def _field(label: str, name: str) -> str:
    """`200 response field 'owner'`, then `200 response field 'owner.name'` one level down."""
    if label.endswith("'") and " field '" in label:
        return f"{label[:-1]}.{name}'"
    return f"{label} field '{name}'"


def _show(values: Any) -> str:
    items = sorted(values, key=str) if isinstance(values, (set, frozenset)) else list(values)
    text = "|".join(str(v) for v in items[:8])
    return text + ("|…" if len(items) > 8 else "")
