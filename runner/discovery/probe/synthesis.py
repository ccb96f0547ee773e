"""Synthesis heuristics: an OpenAPI document guessed from routes and view source code.

Used when an app documents no spec of its own. These are guesses, labelled as such in the
result (`spec_source: "synthesized"`): path parameters come from URL converters, request bodies
from the names a view reads (`request.json["title"]`), methods from `request.method` tests.
"""

# Runs in the target interpreter: standard library only, Python 3.7+ (no walrus, no `match`,
# no subscripted builtins at runtime). Relative imports only: this package is also copied
# into the run's workspace under another name.

from __future__ import annotations

import inspect
import re

from .common import HTTP_METHODS, doc_fields, source_of

BODY_METHODS = ("post", "put", "patch")
UNDOCUMENTED = {"default": {"description": "not documented"}}


def placeholders(text, pattern, to_param):
    """(text with each match of `pattern` as `{name}`, [(name, schema)]) via `to_param(match)`."""
    params = []

    def replace(match):
        name, schema = to_param(match)
        params.append((name, schema))
        return "{" + name + "}"

    return re.sub(pattern, replace, text), params


def synthesized_doc(title, paths):
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "0.0.0"},
        "paths": paths,
    }


def synthesized_operation(method, operation_id, params, func, root, tags=(), doc=None):
    """An OpenAPI operation for a view function; `doc` is where its docstring is, if not on it."""
    op = {"operationId": operation_id}
    op.update(doc_fields(doc or func))
    if tags:
        op["tags"] = list(tags)
    if params:
        op["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": schema}
            for name, schema in params
        ]
    if method in BODY_METHODS:
        media, fields = body_fields(func)
        schema = {"type": "object"}
        if fields:  # names only: their types and which are required are unknown
            schema["properties"] = {name: {} for name in fields}
        op["requestBody"] = {"required": False, "content": {media: {"schema": schema}}}
    op["responses"] = dict(UNDOCUMENTED)
    source = source_of(func, root)
    if source:
        op["x-source"] = source
    return op


def operation_id(name, method, methods):
    """The view's name, with the method appended when the view serves several."""
    return name if len(methods) == 1 else name + "_" + method.lower()


# Where a view reads its request body from (Flask, Django, Starlette), and the form variants.
BODY_READ = r"request\.(?:get_json|json|form|data|POST|body)\b"
FORM_READ = re.compile(r"request\.(?:form|POST)\b")
JSON_READ = re.compile(r"request\.(?:get_json|json|data|body)\b")


def body_fields(func):
    """(media type, field names) a view reads from its request body, found in its source.

    A synthesized spec knows nothing of the body; the names the view looks up
    (`data["title"]`, `request.form.get("title")`, after `data = request.get_json()`) make a
    request the view can accept. Types stay unknown.
    """
    try:
        source = inspect.getsource(inspect.unwrap(func))
    except (TypeError, OSError, ValueError):
        return "application/json", []
    media = (
        "application/x-www-form-urlencoded"
        if FORM_READ.search(source) and not JSON_READ.search(source)
        else "application/json"
    )
    assigned = re.findall(r"(\w+)\s*(?::[^=\n]*)?=[^=\n]*?" + BODY_READ, source)
    receivers = [r"request\.(?:get_json|json|form|data|POST)(?:\([^)]*\))?"]
    receivers += [re.escape(name) for name in assigned]
    lookup = r"\s*(?:\[\s*|\.get\(\s*)['\"]([A-Za-z_]\w*)['\"]"
    fields = []
    for name in re.findall(r"\b(?:" + "|".join(receivers) + ")" + lookup, source):
        if name not in fields:
            fields.append(name)
    return media, fields


CONVERTER_SCHEMAS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
    "string": {"type": "string"},
    "str": {"type": "string"},
    "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
}


def converter_schema(converter, arguments=""):
    if converter == "any" and arguments:
        return {"type": "string", "enum": re.findall(r"[\w.-]+", arguments)}
    return dict(CONVERTER_SCHEMAS.get(converter or "string", {"type": "string"}))


def function_view_methods(view):
    """The methods a plain Django function view serves: those `@require_http_methods` (and
    `require_GET`, ...) allow, else GET plus those its source compares `request.method` with."""
    func = view
    while func is not None:
        try:
            allowed = inspect.getclosurevars(func).nonlocals.get("request_method_list")
        except (TypeError, ValueError):
            allowed = None
        if allowed:
            return [m.lower() for m in allowed if m.lower() in HTTP_METHODS]
        func = getattr(func, "__wrapped__", None)
    try:
        source = inspect.getsource(inspect.unwrap(view))
    except (TypeError, OSError, ValueError):
        return ["get"]
    compared = re.findall(r"request\.method\s*(?:==|!=|in|not in)\s*([^:\n]+)", source)
    named = re.findall(r"['\"](GET|POST|PUT|PATCH|DELETE)['\"]", " ".join(compared))
    return ["get"] + [m.lower() for m in HTTP_METHODS[1:] if m.upper() in named]
