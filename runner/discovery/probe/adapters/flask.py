"""Flask: the document flask-smorest, APIFlask or flask-restx builds, else one synthesized
from the URL map."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import json
import sys

from ..common import copy_sources, module_level_instances
from ..synthesis import (
    converter_schema,
    operation_id,
    placeholders,
    synthesized_doc,
    synthesized_operation,
)

INTERFACE = "wsgi"

def openapi(app, root):
    """(spec_source, doc): the spec an extension documents, else one built from the URL map."""
    synthesized = flask_synthesized(app, root)
    native = flask_native_spec(app)
    if native:
        return "native", copy_sources(native, synthesized)
    return "synthesized", synthesized


def flask_synthesized(app, root):
    paths = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path, params = placeholders(
            rule.rule,
            r"<(?:(\w+)(?:\((.*?)\))?:)?(\w+)>",
            lambda m: (m.group(3), converter_schema(m.group(1), m.group(2) or "")),
        )
        view = app.view_functions.get(rule.endpoint)
        view_class = getattr(view, "view_class", None)
        methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        for method in methods:
            func = getattr(view_class, method.lower(), None) or view
            paths.setdefault(path, {})[method.lower()] = synthesized_operation(
                method.lower(),
                operation_id(rule.endpoint.replace(".", "_"), method, methods),
                params,
                func,
                root,
                tags=[rule.endpoint.split(".")[0]] if "." in rule.endpoint else (),
            )
    return synthesized_doc(app.name, paths)


def flask_native_spec(app):
    """The document flask-smorest, APIFlask or flask-restx would serve, if one is installed."""
    if type(app).__name__ == "APIFlask":
        return json.loads(json.dumps(app.spec, default=str))
    smorest = app.extensions.get("flask-smorest") if hasattr(app, "extensions") else None
    if smorest:
        for entry in smorest.get("apis", {}).values():
            api = entry.get("ext_obj")
            if api is not None and getattr(api, "spec", None) is not None:
                return json.loads(json.dumps(api.spec.to_dict(), default=str))
    restx = sys.modules.get("flask_restx")
    for api in module_level_instances(restx.Api) if restx is not None else ():
        if getattr(api, "app", None) is app:
            with app.test_request_context():
                return json.loads(json.dumps(api.__schema__, default=str))
    return None
