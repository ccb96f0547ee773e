"""FastAPI: the app's own `app.openapi()` document."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import json

from ..common import source_of

INTERFACE = "asgi"

def openapi(app, root):
    """(spec_source, doc): FastAPI's own document, with each operation's source."""
    doc = json.loads(json.dumps(app.openapi(), default=str))  # a copy: FastAPI caches its own
    for route in app.routes:
        path = getattr(route, "path_format", None)
        endpoint = getattr(route, "endpoint", None)
        if path is None or endpoint is None or path not in doc.get("paths", {}):
            continue
        source = source_of(endpoint, root)
        if not source:
            continue
        for method in getattr(route, "methods", None) or ():
            op = doc["paths"][path].get(method.lower())
            if isinstance(op, dict):
                op["x-source"] = source
    return "native", doc
