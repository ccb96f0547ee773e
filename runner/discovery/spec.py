"""OpenAPI document -> Endpoint records, with `$ref` resolution that survives cycles."""

from __future__ import annotations

import copy
from typing import Any

from runner.errors import RunnerError
from runner.models import Endpoint, Parameter

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
JSON_CONTENT_TYPES = ("application/json", "application/problem+json")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def pointer_get(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (`#/components/schemas/Item`)."""
    if not ref.startswith("#/"):
        raise KeyError(f"external reference {ref!r} is not supported")
    node: Any = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def resolve(node: Any, doc: dict[str, Any], _seen: tuple[str, ...] = ()) -> Any:
    """Inline local `$ref`s. A reference already being expanded (a cycle) becomes `{}` (any)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in _seen:
                return {"description": f"recursive reference to {ref.rsplit('/', 1)[-1]}"}
            try:
                target = pointer_get(doc, ref)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise RunnerError(
                    "discovery",
                    f"The OpenAPI document has a reference that cannot be resolved: {ref}.",
                    "Fix the schema name in the app (or the spec file) so every $ref points at an "
                    "existing component.",
                ) from exc
            merged = {k: v for k, v in node.items() if k != "$ref"}
            resolved = resolve(target, doc, (*_seen, ref))
            if merged and isinstance(resolved, dict):
                return {**resolved, **resolve(merged, doc, _seen)}
            return resolved
        return {k: resolve(v, doc, _seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, doc, _seen) for v in node]
    return node


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


def pick_json_content(content: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """The JSON-ish media type of a content map, else the first one."""
    if not content:
        return None
    for media in content:
        if media.split(";")[0].strip() in JSON_CONTENT_TYPES or media.endswith("+json"):
            return media, content[media] or {}
    media = next(iter(content))
    return media, content[media] or {}


def endpoints_from_openapi(doc: dict[str, Any]) -> list[Endpoint]:
    """Every operation of the document, parameters and bodies resolved, in document order."""
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise RunnerError(
            "discovery",
            "The OpenAPI document has no `paths` object, so there is nothing to test.",
            "Check that the app (or the spec file) produces a valid OpenAPI 3 document.",
        )
    endpoints: list[Endpoint] = []
    global_security = bool(doc.get("security"))
    for path, item in doc["paths"].items():
        item = resolve(item, doc) if isinstance(item, dict) else {}
        shared_params = item.get("parameters", [])
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = _merge_parameters(shared_params, op.get("parameters", []))
            body = None
            if isinstance(op.get("requestBody"), dict):
                picked = pick_json_content(op["requestBody"].get("content"))
                if picked:
                    media, media_obj = picked
                    body = {
                        "required": bool(op["requestBody"].get("required")),
                        "content_type": media,
                        "schema": media_obj.get("schema") or {},
                    }
                    if "example" in media_obj:
                        body["example"] = media_obj["example"]
            security = op.get("security")
            endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    operation_id=str(op.get("operationId") or ""),
                    summary=str(op.get("summary") or ""),
                    description=str(op.get("description") or ""),
                    tags=tuple(str(t) for t in op.get("tags", [])),
                    parameters=tuple(params),
                    request_body=body,
                    responses={str(k): v for k, v in (op.get("responses") or {}).items()},
                    source=op.get("x-source"),
                    security=bool(security) if security is not None else global_security,
                )
            )
    return endpoints


def _merge_parameters(shared: list[Any], own: list[Any]) -> list[Parameter]:
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*shared, *own]:
        if isinstance(raw, dict) and "name" in raw and "in" in raw:
            by_key[(raw["name"], raw["in"])] = raw
    params = []
    for (name, location), raw in by_key.items():
        if location not in ("path", "query", "header", "cookie"):
            continue
        schema = raw.get("schema")
        if schema is None and isinstance(raw.get("content"), dict):
            picked = pick_json_content(raw["content"])
            schema = picked[1].get("schema") if picked else None
        schema = dict(schema or {"type": "string"})
        if "example" in raw and "example" not in schema:
            schema["example"] = raw["example"]
        params.append(
            Parameter(
                name=name,
                location=location,
                required=bool(raw.get("required")) or location == "path",
                schema=schema,
                description=str(raw.get("description") or ""),
            )
        )
    return params


def response_schema(endpoint: Endpoint, status: int) -> tuple[str | None, dict[str, Any] | None]:
    """The documented (status key, JSON schema) for a status code: exact, `4XX`-style, `default`."""
    responses = endpoint.responses
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            response = responses[key] or {}
            picked = pick_json_content(response.get("content"))
            return key, (picked[1].get("schema") if picked else None)
    return None, None


def swagger2_to_openapi3(doc: dict[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 document (flask-restx, older tools) as OpenAPI 3.0, enough for testing.

    Definitions move to components, `in: body`/`in: formData` parameters become a request body,
    response `schema`s become JSON content, the basePath goes in front of each path (the paths
    say where the operations are on the app's root) and the host becomes a server URL.
    """
    doc = copy.deepcopy(doc)

    def move_refs(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    v.replace("#/definitions/", "#/components/schemas/")
                    if k == "$ref" and isinstance(v, str)
                    else move_refs(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [move_refs(v) for v in node]
        return node

    doc = move_refs(doc)
    produces = doc.get("produces") or ["application/json"]
    consumes = doc.get("consumes") or ["application/json"]
    shared_params = doc.get("parameters") or {}
    paths: dict[str, Any] = {}
    # The app is always called at its root: paths are relative to basePath in Swagger 2.0.
    base = "/" + str(doc.get("basePath") or "").strip("/")
    base = "" if base == "/" else base
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        new_item: dict[str, Any] = {}
        for key, value in item.items():
            if key == "parameters":
                new_item["parameters"] = [
                    _swagger2_parameter(p, shared_params)
                    for p in value
                    if _is_plain_param(p, shared_params)
                ]
            elif key in HTTP_METHODS and isinstance(value, dict):
                new_item[key] = _swagger2_operation(
                    value, item.get("parameters") or [], shared_params, produces, consumes
                )
            else:
                new_item[key] = value
        paths[base + path] = new_item
    out: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": doc.get("info") or {"title": "", "version": ""},
        "paths": paths,
        "components": {"schemas": doc.get("definitions") or {}},
    }
    if doc.get("host"):
        scheme = (doc.get("schemes") or ["http"])[0]
        out["servers"] = [{"url": f"{scheme}://{doc['host']}"}]
    if doc.get("securityDefinitions"):
        out["components"]["securitySchemes"] = doc["securityDefinitions"]
    for key in ("security", "tags"):
        if key in doc:
            out[key] = doc[key]
    return out


def _param_target(param: Any, shared: dict[str, Any]) -> dict[str, Any]:
    if isinstance(param, dict) and isinstance(param.get("$ref"), str):
        name = param["$ref"].rsplit("/", 1)[-1]
        return shared.get(name) or {}
    return param if isinstance(param, dict) else {}


def _is_plain_param(param: Any, shared: dict[str, Any]) -> bool:
    return _param_target(param, shared).get("in") not in ("body", "formData")


_SCHEMA_KEYS = (
    "type",
    "format",
    "items",
    "enum",
    "default",
    "minimum",
    "maximum",
    "pattern",
    "minLength",
    "maxLength",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "multipleOf",
    "uniqueItems",
)


def _swagger2_parameter(param: Any, shared: dict[str, Any]) -> dict[str, Any]:
    raw = _param_target(param, shared)
    out = {k: raw[k] for k in ("name", "in", "required", "description") if k in raw}
    out["schema"] = {k: raw[k] for k in _SCHEMA_KEYS if k in raw} or {"type": "string"}
    return out


def _swagger2_operation(
    op: dict[str, Any],
    path_params: list[Any],
    shared: dict[str, Any],
    produces: list[str],
    consumes: list[str],
) -> dict[str, Any]:
    new = {
        k: v for k, v in op.items() if k not in ("parameters", "responses", "produces", "consumes")
    }
    params = [*path_params, *(op.get("parameters") or [])]
    new["parameters"] = [
        _swagger2_parameter(p, shared) for p in params if _is_plain_param(p, shared)
    ]
    body = [
        _param_target(p, shared) for p in params if _param_target(p, shared).get("in") == "body"
    ]
    form = [
        _param_target(p, shared) for p in params if _param_target(p, shared).get("in") == "formData"
    ]
    media_in = (op.get("consumes") or consumes)[0]
    if body:
        new["requestBody"] = {
            "required": bool(body[0].get("required")),
            "content": {media_in: {"schema": body[0].get("schema") or {}}},
        }
    elif form:
        schema = {
            "type": "object",
            "properties": {p["name"]: _swagger2_parameter(p, shared)["schema"] for p in form},
            "required": [p["name"] for p in form if p.get("required")],
        }
        media = media_in if "form" in media_in else "application/x-www-form-urlencoded"
        new["requestBody"] = {
            "required": bool(schema["required"]),
            "content": {media: {"schema": schema}},
        }
    media_out = (op.get("produces") or produces)[0]
    responses: dict[str, Any] = {}
    for status, response in (op.get("responses") or {}).items():
        response = dict(response or {})
        schema = response.pop("schema", None)
        response.setdefault("description", "")
        if schema is not None:
            response["content"] = {media_out: {"schema": schema}}
        responses[str(status)] = response
    new["responses"] = responses or {"default": {"description": "not documented"}}
    return new
