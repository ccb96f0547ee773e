"""Helpers every adapter uses: where a view's code is, and copying it onto a native document."""

# Runs in the target interpreter: standard library only, Python 3.7+ (no walrus, no `match`,
# no subscripted builtins at runtime). Relative imports only: this package is also copied
# into the run's workspace under another name.

from __future__ import annotations

import inspect
import os
import re
import sys

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def error_line(exc):
    """`ExcType: message` on one line. A message of several lines (pydantic's "1 validation
    error for Settings / db_url / field required") keeps them, joined by " | ", without the
    documentation links."""
    lines = [line.strip() for line in str(exc).strip().splitlines()
             if line.strip() and not line.strip().startswith("For further information")]
    text = " | ".join(lines)
    if len(text) > 400:
        text = text[:400] + "..."
    return type(exc).__name__ + (": " + text if text else "")



def relative(root, path):
    path = os.path.abspath(path)
    if path.startswith(root + os.sep):
        return os.path.relpath(path, root).replace(os.sep, "/")
    return None


def source_of(func, root, _depth=0):
    """{"file": path relative to root, "line": first line} for code inside root, else None.

    A wrapper defined in a library (DRF's `@api_view` handler, a decorator without `wraps`) is
    looked through: the first function it closes over that lives inside root is used instead.
    """
    try:
        func = inspect.unwrap(func)
        path = inspect.getsourcefile(func)
        line = inspect.getsourcelines(func)[1]
    except (TypeError, OSError, ValueError):
        return None
    rel = relative(root, path) if path else None
    if rel:
        return {"file": rel, "line": line}
    if _depth < 2:
        for cell in getattr(func, "__closure__", None) or ():
            try:
                inner = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if inspect.isfunction(inner):
                found = source_of(inner, root, _depth + 1)
                if found:
                    return found
    return None


def copy_sources(doc, synthesized):
    """Put the synthesized operations' x-source on the matching operations of a native doc, and
    the URL converters' types on its path parameters that it only calls strings.

    Paths match when they differ only in parameter names (`{pk}` and `{id}`). A generator that
    cannot see a converter (drf-yasg on a function view) says `string` for `<int:part_id>`,
    and a made-up string there never reaches the view.
    """

    def shape(path):
        return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/")

    sources = {}
    typed = {}  # path shape -> {parameter name: schema} for non-string converters
    for path, item in synthesized["paths"].items():
        for method, op in item.items():
            if op.get("x-source"):
                sources[(shape(path), method)] = op["x-source"]
            for param in op.get("parameters") or ():
                if param["schema"].get("type") not in (None, "string"):
                    typed.setdefault(shape(path), {})[param["name"]] = param["schema"]
    base = "/" + str(doc.get("basePath") or "").strip("/")  # Swagger 2.0 paths are relative
    base = "" if base == "/" else base
    for path, item in (doc.get("paths") or {}).items():
        converters = typed.get(shape(base + path), {})
        for method, op in (item or {}).items():
            if method == "parameters" and isinstance(op, list):
                retype_path_params(op, converters)
            if not isinstance(op, dict):
                continue
            retype_path_params(op.get("parameters") or [], converters)
            source = sources.get((shape(base + path), method))
            if source and "x-source" not in op:
                op["x-source"] = source
    return doc


def retype_path_params(params, converters):
    """Give path parameters typed only as strings (OpenAPI 3 `schema` or Swagger 2 `type`) the
    converter's type from `converters` (name -> schema)."""
    for param in params:
        if not isinstance(param, dict) or param.get("in") != "path":
            continue
        schema = converters.get(param.get("name"))
        if schema is None:
            continue
        if param.get("schema") == {"type": "string"}:
            param["schema"] = dict(schema)
        elif "schema" not in param and param.get("type") == "string" and len(param) == 4:
            param.update(schema)  # Swagger 2: name, in, required, type


def doc_fields(obj):
    """summary/description from the object's own docstring (not one inherited from a base)."""
    doc = inspect.cleandoc(getattr(obj, "__doc__", None) or "")
    if not doc:
        return {}
    first, _, rest = doc.partition("\n")
    fields = {"summary": first.strip()}
    if rest.strip():
        fields["description"] = rest.strip()
    return fields


def module_level_instances(cls):
    """Distinct instances of `cls` bound to a name at the top level of any loaded module."""
    found = []
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, cls) and not any(value is f for f in found):
                found.append(value)
    return found
