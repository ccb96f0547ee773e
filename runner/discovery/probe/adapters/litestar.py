"""Litestar: the app's own OpenAPI schema."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import json

from ..common import copy_sources, source_of

INTERFACE = "asgi"

def openapi(app, root):
    doc = json.loads(json.dumps(app.openapi_schema.to_schema(), default=str))
    paths = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            fn = getattr(handler, "fn", None)
            fn = getattr(fn, "value", fn)  # Litestar 2.0-2.3 wrapped it in a Ref
            source = source_of(fn, root) if fn is not None else None
            for method in getattr(handler, "http_methods", ()) if source else ():
                paths.setdefault(route.path, {})[str(method).lower()] = {"x-source": source}
    return "native", copy_sources(doc, {"paths": paths})
