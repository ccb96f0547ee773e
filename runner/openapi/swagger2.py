"""Swagger 2.0 (flask-restx, drf-yasg, older tools) -> OpenAPI 3.0, enough for testing.

The one entry point is `upgrade`: every document the runner reads goes through it.
"""

from __future__ import annotations

import copy
from typing import Any

from runner.openapi.refs import pointer_get

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
# Where Swagger 2 keeps reusable objects -> where OpenAPI 3 does.
_MOVED = {
    "#/definitions/": "#/components/schemas/",
    "#/responses/": "#/components/responses/",
}
_SCHEMA_KEYS = (
    "type", "format", "items", "enum", "default", "minimum", "maximum", "pattern", "minLength",
    "maxLength", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "multipleOf",
    "uniqueItems",
)


def is_swagger2(doc: Any) -> bool:
    return isinstance(doc, dict) and str(doc.get("swagger", "")).startswith("2")


def upgrade(doc: Any) -> Any:
    """`doc` as OpenAPI 3 when it is Swagger 2.0, else unchanged."""
    return swagger2_to_openapi3(doc) if is_swagger2(doc) else doc


def swagger2_to_openapi3(doc: dict[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 document as OpenAPI 3.0.

    Definitions move to components, `in: body`/`in: formData` parameters become a request body,
    response `schema`s become JSON content, the basePath goes in front of each path (the paths
    say where the operations are on the app's root) and the host becomes a server URL.
    """
    original = doc
    doc = _move_refs(copy.deepcopy(doc))
    produces = doc.get("produces") or ["application/json"]
    consumes = doc.get("consumes") or ["application/json"]
    paths: dict[str, Any] = {}
    # The app is always called at its root: paths are relative to basePath in Swagger 2.0.
    base = "/" + str(doc.get("basePath") or "").strip("/")
    base = "" if base == "/" else base
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        new_item: dict[str, Any] = {}
        for key, value in item.items():
            if key == "parameters" and isinstance(value, list):
                new_item["parameters"] = [
                    _parameter(p, original) for p in value if _is_plain(p, original)
                ]
            elif key in HTTP_METHODS and isinstance(value, dict):
                new_item[key] = _operation(
                    value, item.get("parameters") or [], original, produces, consumes
                )
            else:
                new_item[key] = value
        paths[base + path] = new_item
    components: dict[str, Any] = {"schemas": doc.get("definitions") or {}}
    if isinstance(doc.get("responses"), dict):
        components["responses"] = {
            name: _response(response, produces[0]) for name, response in doc["responses"].items()
        }
    if doc.get("securityDefinitions"):
        components["securitySchemes"] = doc["securityDefinitions"]
    out: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": doc.get("info") or {"title": "", "version": ""},
        "paths": paths,
        "components": components,
    }
    if doc.get("host"):
        scheme = (doc.get("schemes") or ["http"])[0]
        out["servers"] = [{"url": f"{scheme}://{doc['host']}"}]
    for key in ("security", "tags"):
        if key in doc:
            out[key] = doc[key]
    return out


def _move_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _move_refs(v) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            for old, new in _MOVED.items():
                if ref.startswith(old):
                    out["$ref"] = new + ref[len(old):]
        return out
    if isinstance(node, list):
        return [_move_refs(v) for v in node]
    return node


def _target(param: Any, doc: dict[str, Any]) -> dict[str, Any]:
    """A parameter, or the shared one (`#/parameters/...`) it references."""
    if isinstance(param, dict) and isinstance(param.get("$ref"), str):
        try:
            found = pointer_get(doc, param["$ref"])
        except (KeyError, IndexError, ValueError, TypeError):
            return {}
        return found if isinstance(found, dict) else {}
    return param if isinstance(param, dict) else {}


def _is_plain(param: Any, doc: dict[str, Any]) -> bool:
    return _target(param, doc).get("in") not in ("body", "formData")


def _parameter(param: Any, doc: dict[str, Any]) -> dict[str, Any]:
    raw = _target(param, doc)
    out = {k: raw[k] for k in ("name", "in", "required", "description") if k in raw}
    out["schema"] = _move_refs({k: raw[k] for k in _SCHEMA_KEYS if k in raw}) or {"type": "string"}
    return out


def _response(response: Any, media: str) -> dict[str, Any]:
    response = dict(response or {})
    if "$ref" in response:
        return response
    schema = response.pop("schema", None)
    response.setdefault("description", "")
    if schema is not None:
        response["content"] = {media: {"schema": schema}}
    return response


def _operation(
    op: dict[str, Any],
    path_params: list[Any],
    doc: dict[str, Any],
    produces: list[str],
    consumes: list[str],
) -> dict[str, Any]:
    new = {
        k: v for k, v in op.items() if k not in ("parameters", "responses", "produces", "consumes")
    }
    params = [*path_params, *(op.get("parameters") or [])]
    new["parameters"] = [_parameter(p, doc) for p in params if _is_plain(p, doc)]
    targets = [_target(p, doc) for p in params]
    body = [t for t in targets if t.get("in") == "body"]
    form = [t for t in targets if t.get("in") == "formData"]
    media_in = (op.get("consumes") or consumes)[0]
    if body:
        new["requestBody"] = {
            "required": bool(body[0].get("required")),
            "content": {media_in: {"schema": _move_refs(body[0].get("schema") or {})}},
        }
    elif form:
        schema = {
            "type": "object",
            "properties": {p["name"]: _parameter(p, doc)["schema"] for p in form},
            "required": [p["name"] for p in form if p.get("required")],
        }
        media = media_in if "form" in media_in else "application/x-www-form-urlencoded"
        new["requestBody"] = {
            "required": bool(schema["required"]),
            "content": {media: {"schema": schema}},
        }
    media_out = (op.get("produces") or produces)[0]
    responses = {
        str(status): _response(response, media_out)
        for status, response in (op.get("responses") or {}).items()
    }
    new["responses"] = responses or {"default": {"description": "not documented"}}
    return new
