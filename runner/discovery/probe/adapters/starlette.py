"""Starlette: no document of its own; one synthesized from the routes."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import inspect

from ..common import HTTP_METHODS
from ..synthesis import (
    converter_schema,
    operation_id,
    placeholders,
    synthesized_doc,
    synthesized_operation,
)

INTERFACE = "asgi"

def openapi(app, root):
    paths = {}

    def walk(routes, prefix):
        for route in routes:
            sub_routes = getattr(route, "routes", None)
            if sub_routes is not None and not hasattr(route, "endpoint"):
                walk(sub_routes, prefix + getattr(route, "path", ""))
                continue
            endpoint = getattr(route, "endpoint", None)
            if endpoint is None or not hasattr(route, "path"):
                continue
            path, params = placeholders(
                prefix + route.path,
                r"\{(\w+)(?::(\w+))?\}",
                lambda m: (m.group(1), converter_schema(m.group(2))),
            )
            methods = getattr(route, "methods", None)
            if methods is None:  # a WebSocket route or an endpoint class without methods
                if not inspect.isclass(endpoint):
                    continue
                methods = [m.upper() for m in HTTP_METHODS if hasattr(endpoint, m)]
            methods = sorted(set(methods) - {"HEAD", "OPTIONS"})
            for method in methods:
                func = (
                    getattr(endpoint, method.lower(), None)
                    if inspect.isclass(endpoint)
                    else endpoint
                )
                name = getattr(route, "name", None) or path.strip("/").replace("/", "_")
                paths.setdefault(path, {})[method.lower()] = synthesized_operation(
                    method.lower(),
                    operation_id(name, method, methods),
                    params,
                    func or endpoint,
                    root,
                )

    walk(app.routes, "")
    return "synthesized", synthesized_doc("Starlette app", paths)
