"""Connexion 3: the spec files given to `add_api`."""

# Runs in the target interpreter: standard library only (plus the framework), Python 3.7+.

from __future__ import annotations

import importlib
import json

from ..common import source_of
from ..result import ProbeFailure

INTERFACE = "asgi"

def openapi(app, root):
    """The spec file(s) a Connexion 3 app was given (`add_api("openapi.yaml")`), with each API's
    base path (`servers` / `basePath`, or add_api's `base_path=`) put in front of its paths, and
    the source of each operationId's handler."""
    apis = getattr(getattr(app, "middleware", None), "apis", None)
    if apis is None:
        raise ProbeFailure(
            "this Connexion app has no ASGI middleware (Connexion 2?): only Connexion 3 is "
            "supported; name the spec file with `spec:` in .api-mcp-test.yml and start the app "
            "with `start:`"
        )
    if not apis:
        raise ProbeFailure("the Connexion app has no API: call app.add_api(\"openapi.yaml\")")
    doc = None
    for api in apis:
        raw = json.loads(json.dumps(api.specification.raw, default=str))
        base = (api.base_path if api.base_path is not None else api.specification.base_path)
        base = "/" + base.strip("/") if base and base.strip("/") else ""
        raw["paths"] = {base + path: item for path, item in (raw.get("paths") or {}).items()}
        raw.pop("servers", None)
        if "basePath" in raw:
            raw["basePath"] = "/"
        for item in raw["paths"].values():
            for op in (item or {}).values():
                if isinstance(op, dict) and isinstance(op.get("operationId"), str):
                    source = source_of(resolve_dotted(op["operationId"]), root)
                    if source:
                        op["x-source"] = source
        if doc is None:
            doc = raw
            continue
        doc["paths"].update(raw["paths"])
        for key in ("definitions",):
            doc.setdefault(key, {}).update(raw.get(key) or {})
        components = doc.setdefault("components", {})
        for kind, entries in (raw.get("components") or {}).items():
            components.setdefault(kind, {}).update(entries or {})
    return "file", doc


def resolve_dotted(name):
    """The object `package.module.attr` names, or None."""
    module_name, _, attr = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception:  # noqa: BLE001 - an unresolvable operationId only loses its x-source
        return None
