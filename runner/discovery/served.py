"""The spec the running app serves itself: at the path the config names, or at the usual places.

Used when in-process extraction could only synthesize a spec (Flask or Django without spec tools)
or when the project's config file names the spec's URL path. JSON or YAML; Swagger 2.0 is
converted to OpenAPI 3.
"""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from runner.discovery.spec import swagger2_to_openapi3
from runner.errors import RunnerError

STAGE = "discovery"
WELL_KNOWN_PATHS = (
    "/openapi.json",
    "/apispec.json",
    "/swagger.json",
    "/schema/?format=json",
    "/api/openapi.json",
    "/v3/api-docs",
)


def parse_spec(text: str) -> dict[str, Any] | None:
    """An OpenAPI 3 document from JSON or YAML text, or None when it is not a spec."""
    try:
        doc = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        return None
    if str(doc.get("swagger", "")).startswith("2"):
        return swagger2_to_openapi3(doc)
    return doc if str(doc.get("openapi", "")).startswith("3") else None


def fetch_spec(base_url: str, path: str, headers: dict[str, str] | None = None,
               timeout: float = 10.0) -> dict[str, Any] | None:
    try:
        with httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=True,
                          headers=headers) as client:
            answer = client.get(path)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200 or not answer.content:
        return None
    return parse_spec(answer.text)


def served_spec(base_url: str, path: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str] | None:
    """(document, path) from the configured `path` (RunnerError when it has none) or from the
    first well-known path that serves one (None when none does)."""
    if path is not None:
        doc = fetch_spec(base_url, path, headers)
        if doc is None:
            raise RunnerError(STAGE, f"The app serves no OpenAPI document at {path} (the `spec` "
                              "in .api-mcp-test.yml).",
                              "Check the path in a browser against the running app, or point "
                              "`spec` at a file.")
        return doc, path
    for candidate in WELL_KNOWN_PATHS:
        doc = fetch_spec(base_url, candidate, headers)
        if doc is not None:
            return doc, candidate
    return None
