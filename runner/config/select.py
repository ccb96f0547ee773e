"""Which operations a run tests: the `include` / `exclude` selectors of the config file and
their flags (`"GET /admin/*"`, `"/internal/*"`, `"DELETE"`, `"tag:internal"`)."""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from runner.errors import UsageError
from runner.models import ApiSpec, Endpoint
from runner.openapi import check_operation_count

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")


def parse_selector(selector: str, key: str = "include") -> tuple[str, str | None, str | None]:
    """("tag", name, None) or ("operation", METHOD or None, path glob or None)."""
    text = selector.strip()
    if text.lower().startswith("tag:"):
        tag = text[4:].strip()
        if not tag:
            raise UsageError(f"`{key}` selector {selector!r} names no tag (tag:internal).")
        return "tag", tag, None
    method, _, rest = text.partition(" ")
    if method.upper() in METHODS or method == "*":
        path = rest.strip() or None
    else:
        method, path = "", text
    if path is not None and not path.startswith("/"):
        raise UsageError(f"`{key}` selector {selector!r} is not METHOD /path-glob, /path-glob, "
                         "METHOD or tag:NAME.")
    return "operation", (method.upper() if method and method != "*" else None), path


def matches(endpoint: Endpoint, selector: str) -> bool:
    kind, first, second = parse_selector(selector)
    if kind == "tag":
        return first in endpoint.tags
    method_ok = first is None or endpoint.method == first
    return method_ok and (second is None or fnmatch.fnmatchcase(endpoint.path, second))


def select_operations(spec: ApiSpec, include: tuple[str, ...], exclude: tuple[str, ...],
                      *, counted: bool = True) -> ApiSpec:
    """The spec with only the operations `include` selects (all when empty), minus `exclude`;
    more operations than a run can serve is a discovery error naming include/exclude (unless
    `counted` is false: a shard counts its own part instead)."""
    if not include and not exclude:
        if counted:
            check_operation_count(len(spec.endpoints))
        return spec
    chosen = [e for e in spec.endpoints
              if (not include or any(matches(e, s) for s in include))
              and not any(matches(e, s) for s in exclude)]
    if counted:
        check_operation_count(len(chosen))
    return replace(spec, endpoints=chosen)
