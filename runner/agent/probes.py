"""Calls beyond the first valid one: edges and generated input (comprehensive), missing ids,
and the probes that check state and meaning after a write (every suite).

Each probe is a PlannedCall whose intent names the check that judges it (runner/checks.py) and
whose `expect` carries what that check compares with, so a verdict needs no run context.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from runner.agent.generate import edges, explore, violations
from runner.agent.planner import PlannedCall, id_field, norm, objects_in
from runner.models import Endpoint, ToolCall

MISSING_ID = 987654321
# Query parameters that bound the number of items in a collection answer.
PAGING_PARAMS = ("limit", "per_page", "perpage", "page_size", "pagesize", "size", "max_results",
                 "maxresults", "count", "top", "first")
# Generated (hypothesis) values per operation, by suite: the documented default of --examples.
EXAMPLES_PER_OPERATION = {"smoke": 0, "comprehensive": 6, "custom": 0}


def path_arguments(endpoint: Endpoint, schema: dict[str, Any]) -> list[str]:
    """The tool arguments that fill the operation's path parameters."""
    names = {norm(p.name) for p in endpoint.parameters if p.location == "path"}
    props = schema.get("properties") or {}
    return [a for a in props if norm(a) in names or norm(a).removesuffix("path") in names]


def input_calls(endpoint: Endpoint, tool: str, arguments: dict[str, Any], schema: dict[str, Any],
                api: dict[str, tuple[str, dict[str, Any]]], examples: int) -> list[PlannedCall]:
    """Missing ids, edge values of each argument and generated bodies, every one checked
    against the documented schema first."""
    planned: list[PlannedCall] = []
    path_args = path_arguments(endpoint, schema)
    props = schema.get("properties") or {}
    for arg in path_args:
        if (props.get(arg) or {}).get("type") == "integer":
            planned.append(PlannedCall(endpoint, tool, {**arguments, arg: MISSING_ID},
                                       "not_found"))
    # Edge values of different arguments share calls: round k sets every argument to its k-th
    # edge, so an operation costs as many calls as its argument with the most edges. A 5xx is
    # then reduced to its cause by shrinking (runner/agent/shrink.py).
    per_arg: dict[str, list[Any]] = {}
    for arg, arg_schema in props.items():
        if arg in path_args:
            continue
        # The API's schema when known, even an empty one (the tool's says `Any` then).
        _, documented = api.get(norm(arg), ("", arg_schema))
        typed = typed_like(documented, arguments.get(arg))
        per_arg[arg] = [e for e in edges(typed) if arguments.get(arg, ...) != e]
    for k in range(max((len(v) for v in per_arg.values()), default=0)):
        changed = {arg: values[k] for arg, values in per_arg.items() if k < len(values)}
        planned.append(PlannedCall(endpoint, tool, {**arguments, **changed}, "boundary",
                                   {"varied": sorted(changed)}))
    optional = [a for a in arguments if a in per_arg and a not in (schema.get("required") or [])]
    if optional:  # every optional argument left out at once: the smallest valid call
        planned.append(PlannedCall(endpoint, tool,
                                   {k: v for k, v in arguments.items() if k not in optional},
                                   "boundary", {"absent": optional}))
    for drawn in _drawn_arguments(arguments, props, path_args, api, examples):
        planned.append(PlannedCall(endpoint, tool, drawn, "explore"))
    return planned


def _drawn_arguments(arguments: dict[str, Any], props: dict[str, Any], path_args: list[str],
                     api: dict[str, tuple[str, dict[str, Any]]], count: int) -> list[dict[str, Any]]:
    """Whole argument sets drawn from the non-path arguments' schemas (one object schema, so
    hypothesis varies them together); path arguments keep their known ids."""
    if count <= 0:
        return []
    free = {a: typed_like(api.get(norm(a), ("", s))[1], arguments.get(a))
            for a, s in props.items() if a not in path_args}
    if not free:
        return []
    required = [a for a in free if a in arguments]
    combined = {"type": "object", "properties": free, "required": required}
    return [{**{a: arguments[a] for a in path_args if a in arguments}, **values}
            for values in explore(combined, count)]


def typed_like(schema: dict[str, Any], value: Any) -> dict[str, Any]:
    """A schema that says nothing (a synthesized spec's `{}`) gets the type of the value the
    first call sent, so edges and generated values vary that value rather than send any type
    (every one of which still satisfies `{}`)."""
    if value is None or set(schema) - {"description", "title", "example", "examples", "default"}:
        return schema
    kinds = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
             dict: "object"}
    kind = kinds.get(type(value))
    return {**schema, "type": kind} if kind else schema


def _sent_fields(arguments: dict[str, Any], api: dict[str, tuple[str, dict[str, Any]]],
                 shown: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field of `shown`, value sent, value shown) for each scalar body field a write sent
    that the object `shown` (an answer, an earlier read) also has."""
    pairs = []
    for arg, value in arguments.items():
        where, _ = api.get(norm(arg), ("", {}))
        if where != "body" or isinstance(value, (dict, list)):
            continue
        for name, answered in shown.items():
            if norm(name) in (norm(arg), norm(arg).removesuffix("body")):
                pairs.append((name, value, answered))
    return pairs


def echoed_fields(arguments: dict[str, Any], call: ToolCall,
                  api: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Body fields the write sent that its answer echoed with the same value: what a later
    read must show (fields the server normalises are left out, so no false alarm)."""
    body = call.body if call.body_is_json and isinstance(call.body, dict) else {}
    return {name: sent for name, sent, answered in _sent_fields(arguments, api, body)
            if answered == sent}


def unchanged_fields(arguments: dict[str, Any], api: dict[str, tuple[str, dict[str, Any]]],
                     before: dict[str, Any] | None, echoed: dict[str, Any]) -> dict[str, Any]:
    """Fields an update set to a new value that its answer did not echo (an answer of the
    unsaved object, a 204): name -> {"was": value before, "sent": value}. A later read that
    still shows the value from before lost the update; one that shows anything else (the
    value sent, or the server's normal form of it) did not."""
    return {name: {"was": was, "sent": sent}
            for name, sent, was in _sent_fields(arguments, api, before or {})
            if name not in echoed and was != sent and isinstance(was, (str, int, float, bool))}


_DOCUMENT_TEXT = re.compile(r"^\s*[\"']?(openapi|swagger)[\"']?\s*:", re.MULTILINE)


def is_api_document(call: ToolCall) -> bool:
    """Whether a read answered the API's own OpenAPI (or Swagger) document, as JSON or YAML."""
    if call.method != "GET" or not (call.status_code and 200 <= call.status_code < 300):
        return False
    body = call.body
    if call.body_is_json:
        return isinstance(body, dict) and "paths" in body and ("openapi" in body
                                                                 or "swagger" in body)
    return isinstance(body, str) and bool(_DOCUMENT_TEXT.match(body)) and "paths:" in body


def item_read(endpoints: list[Endpoint], write: Endpoint) -> Endpoint | None:
    """The GET of the single resource a write made or changed."""
    path = write.path.rstrip("/")
    for endpoint in endpoints:
        if endpoint.method != "GET":
            continue
        candidate = endpoint.path.rstrip("/")
        if write.method == "POST":
            if candidate.startswith(path + "/{") and candidate.count("/") == path.count("/") + 1 \
                    and candidate.endswith("}"):
                return endpoint
        elif candidate == path:
            return endpoint
    return None


def collection_read(endpoints: list[Endpoint], create: Endpoint) -> Endpoint | None:
    for endpoint in endpoints:
        if endpoint.method == "GET" and endpoint.path.rstrip("/") == create.path.rstrip("/"):
            return endpoint
    return None


def created_id(item: Endpoint, create_call: ToolCall) -> tuple[str, str, Any] | None:
    """(path parameter of the item read, field of the answer, value) for a created resource."""
    objects = objects_in(create_call.body) if create_call.body_is_json else []
    last = re.findall(r"\{([^}]+)\}", item.path)
    if not objects or not last:
        return None
    name = id_field(objects[0], last[-1])
    return (last[-1], name, objects[0][name]) if name else None


def kept_from(listing: ToolCall, field_name: str, value: Any) -> bool:
    """Whether another user's read of a collection answered items, none of them the resource
    (`field_name` = `value`) the run's user created: the API keeps that collection per user."""
    if not (listing.status_code and 200 <= listing.status_code < 300 and listing.body_is_json):
        return False
    items = objects_in(listing.body) if isinstance(listing.body, (list, dict)) else None
    if items is None or (isinstance(listing.body, dict) and items == [listing.body]):
        return False  # not a collection answer
    return not any(str(i.get(field_name)) == str(value) for i in items)


def location_params(item: Endpoint, call: ToolCall) -> dict[str, str] | None:
    """Path parameters of the item read that a `Location` header of a create points at."""
    location = {k.lower(): v for k, v in call.headers.items()}.get("location")
    if not location:
        return None
    path = urlsplit(location).path.rstrip("/")
    pattern = re.sub(r"\\\{([^}]+)\\\}", lambda m: f"(?P<{_group(m.group(1))}>[^/]+)",
                     re.escape(item.path.rstrip("/")))
    match = re.search(pattern + "$", path)
    if not match:
        return None
    names = re.findall(r"\{([^}]+)\}", item.path)
    return {name: match.group(_group(name)) for name in names}


def _group(name: str) -> str:
    return "p_" + re.sub(r"\W", "_", name)


def paging_call(endpoint: Endpoint, tool: str, arguments: dict[str, Any],
                schema: dict[str, Any]) -> PlannedCall | None:
    """A collection read with its paging parameter at 1: at most one item may come back."""
    for arg, arg_schema in (schema.get("properties") or {}).items():
        if norm(arg) not in {norm(p) for p in PAGING_PARAMS}:
            continue
        if (arg_schema.get("type") not in ("integer", None)
                and "integer" not in str(arg_schema.get("anyOf", ""))):
            continue
        return PlannedCall(endpoint, tool, {**arguments, arg: 1}, "paging",
                           {"param": arg, "max_items": 1})
    return None


def filter_calls(endpoint: Endpoint, tool: str, arguments: dict[str, Any],
                 schema: dict[str, Any], item: dict[str, Any]) -> list[PlannedCall]:
    """A collection read with each query parameter that names a scalar field of a known item,
    set to that item's value: only matching items may come back."""
    planned = []
    query = {norm(p.name) for p in endpoint.parameters if p.location == "query"}
    fields = {norm(k): (k, v) for k, v in item.items()
              if isinstance(v, (str, int, bool)) and v is not None}
    for arg, arg_schema in (schema.get("properties") or {}).items():
        if norm(arg) not in query or norm(arg) not in fields or norm(arg) in PAGING_PARAMS:
            continue
        if not _exact_match(arg_schema):
            continue  # a free-text parameter may search rather than match
        name, value = fields[norm(arg)]
        if norm(name) in ("id", "pk"):
            continue
        planned.append(PlannedCall(endpoint, tool, {**arguments, arg: value}, "filter",
                                   {"field": name, "value": value}))
    return planned


def _exact_match(schema: dict[str, Any]) -> bool:
    """Booleans, integers and enums filter by equality; free text may search."""
    text = json.dumps(schema)
    return '"enum"' in text or '"boolean"' in text or '"integer"' in text


def varied(arguments: dict[str, Any], api: dict[str, tuple[str, dict[str, Any]]],
           suffix: str) -> dict[str, Any]:
    """The same body with other values where the schema allows (text gets a suffix, an enum
    its next value), so a second create or an update is told apart from the first."""
    from runner.agent.generate import conforms

    changed = dict(arguments)
    for arg, value in arguments.items():
        where, schema = api.get(norm(arg), ("", {}))
        if where != "body":
            continue  # (an empty schema, a synthesized spec's, is varied too)
        options = schema.get("enum") or []
        if value in options and len(options) > 1:
            candidate: Any = options[(options.index(value) + 1) % len(options)]
        elif isinstance(value, str) and not schema.get("format") and not schema.get("pattern"):
            candidate = value + suffix
        else:
            continue
        if conforms(candidate, schema):
            changed[arg] = candidate
    return changed


RAW_TOOL = "api_mcp_test_raw_request"


def negative_calls(endpoint: Endpoint, arguments: dict[str, Any],
                   api: dict[str, tuple[str, dict[str, Any]]], path_values: dict[str, Any],
                   body_schema: dict[str, Any] | None, limit: int = 12) -> list[PlannedCall]:
    """Requests that break the documented schema one way each (a missing required field, a
    wrong type, out of range, a pattern/format/enum violation, an unknown property where
    additionalProperties is false, a query value out of range), sent through the harness's
    raw-request tool: each must get a 4xx (negative_data_rejection)."""
    from runner.agent.generate import conforms

    path = endpoint.path
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    query: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for arg, value in arguments.items():
        where, _ = api.get(norm(arg), ("", {}))
        if where == "query":
            query[_wire(endpoint, arg)] = value
        elif where == "body" and norm(arg) == "body" and isinstance(value, dict):
            body.update(value)
        elif where == "body":
            body[_prop(body_schema, arg)] = value
    variants: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    props = (body_schema or {}).get("properties") or {}
    if body_schema and props:
        for name in (body_schema.get("required") or [])[:3]:
            if name in body:
                variants.append((f"required field {name} missing", query,
                                 {k: v for k, v in body.items() if k != name}))
        for name, schema in props.items():
            if isinstance(schema, dict) and not schema.get("readOnly"):
                for why, bad in violations(schema)[:3]:
                    variants.append((f"{name}: {why}", query, {**body, name: bad}))
        if body_schema.get("additionalProperties") is False:
            variants.append(("an unknown property where additionalProperties is false", query,
                             {**body, "unexpected_field_x": 1}))
    optional_query = set()
    for param in endpoint.parameters:
        if param.location != "query":
            continue
        for why, bad in violations(param.schema)[:2]:
            if isinstance(bad, (dict, list)):
                continue
            variants.append((f"query {param.name}: {why}", {**query, param.name: bad},
                             body if endpoint.request_body else None))
            if not param.required:
                optional_query.add(variants[-1][0])
    planned = []
    for why, bad_query, bad_body in variants[:limit]:
        if bad_body is not None and body_schema and conforms(bad_body, body_schema) \
                and "query" not in why:
            continue  # the variant happens to satisfy the schema (e.g. a default fills it)
        raw = {"operation": endpoint.key, "method": endpoint.method, "path": path,
               "query": bad_query or None, "intent": "invalid"}
        if bad_body is not None and endpoint.request_body:
            raw["json_body"] = bad_body
        expect: dict[str, Any] = {"broken": why}
        if why in optional_query:
            expect["optional_query"] = True  # judged leniently (runner/verdicts.py)
        planned.append(PlannedCall(endpoint, RAW_TOOL, raw, "invalid", expect))
    return planned


def _wire(endpoint: Endpoint, arg: str) -> str:
    for param in endpoint.parameters:
        if norm(param.name) in (norm(arg), norm(arg).removesuffix(param.location)):
            return param.name
    return arg


def _prop(body_schema: dict[str, Any] | None, arg: str) -> str:
    for name in ((body_schema or {}).get("properties") or {}):
        if norm(name) in (norm(arg), norm(arg).removesuffix("body")):
            return name
    return arg
