"""The spec the running app serves itself: at the path the config names, or at the usual places.

Used when in-process extraction could only synthesize a spec (Flask or Django without spec tools)
or when the project's config file names the spec's URL path. JSON or YAML; Swagger 2.0 is
converted to OpenAPI 3. The app is the pull request's code: same origin only (the app's base
URL), redirects never followed, every fetch capped in bytes and seconds.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from runner.errors import RunnerError
from runner.openapi import LimitExceeded, document_from_text

STAGE = "discovery"
WELL_KNOWN_PATHS = (
    "/openapi.json",
    "/apispec.json",
    "/swagger.json",
    "/schema/?format=json",
    "/api/openapi.json",
    "/v3/api-docs",
)


def parse_spec(text: str, source: str = "the app serves") -> dict[str, Any] | None:
    """An OpenAPI 3 document from JSON or YAML text, or None when it is not a spec; a document
    over a cap (openapi/limits.py) is an error, not a "no spec here"."""
    try:
        doc = document_from_text(text, source)
    except LimitExceeded:
        raise
    except RunnerError:
        return None
    return doc if isinstance(doc.get("paths"), dict) else None


SPEC_FETCH_LIMIT = 32 << 20  # bytes of one served document
SPEC_FETCH_SECONDS = 15.0  # one fetch, whole body included
SERVED_SPEC_SECONDS = 30.0  # all the well-known paths together


def same_origin_url(base_url: str, path: str) -> str | None:
    """`path` on the app's own origin, or None when it is not a plain path there (a URL, a
    protocol-relative `//host`, a backslash trick)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path or "://" in path:
        return None
    url = base_url.rstrip("/") + path
    base, target = urlsplit(base_url), urlsplit(url)
    if (target.scheme, target.netloc) != (base.scheme, base.netloc):
        return None
    return url


def fetch_spec(base_url: str, path: str, headers: dict[str, str] | None = None,
               timeout: float = SPEC_FETCH_SECONDS,
               limit: int = SPEC_FETCH_LIMIT) -> dict[str, Any] | None:
    """The spec the app serves at `path`, or None (not there, not a spec, a redirect: never
    followed). RunnerError when the answer exceeds `limit` bytes or `timeout` seconds in all
    (a trickling server cannot hold the run)."""
    url = same_origin_url(base_url, path)
    if url is None:
        raise RunnerError(STAGE, f"The spec path {path!r} is not a path on the app.",
                          "Give `spec` as a path on the running app, such as /openapi.json.")
    deadline = time.monotonic() + timeout
    try:
        with httpx.Client(timeout=min(timeout, 5.0), follow_redirects=False, headers=headers,
                          trust_env=False) as client, client.stream("GET", url) as answer:
            if answer.status_code != 200:
                return None
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise RunnerError(STAGE, f"The document the app serves at {path} is larger "
                                      f"than {limit >> 20} MB; it was not read further.",
                                      "Point `spec` at a smaller document.")
                if time.monotonic() > deadline:
                    raise RunnerError(STAGE, f"Reading the document the app serves at {path} "
                                      f"took longer than {timeout:.0f} s; it was abandoned.",
                                      "Check what the app does at that path.")
    except httpx.HTTPError:
        return None
    if not body:
        return None
    return parse_spec(bytes(body).decode("utf-8", errors="replace"))


def served_spec(base_url: str, path: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[dict[str, Any], str] | None:
    """(document, path) from the configured `path` (RunnerError when it has none) or from the
    first well-known path that serves one (None when none does)."""
    if path is not None:
        doc = fetch_spec(base_url, path, headers)
        if doc is None:
            raise RunnerError(STAGE, f"The app serves no OpenAPI document at {path} (the `spec` "
                              "in .api-mcp-test.yml; redirects are not followed).",
                              "Check the path in a browser against the running app, or point "
                              "`spec` at a file.")
        return doc, path
    deadline = time.monotonic() + SERVED_SPEC_SECONDS
    for candidate in WELL_KNOWN_PATHS:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        doc = fetch_spec(base_url, candidate, headers, timeout=min(SPEC_FETCH_SECONDS, left))
        if doc is not None:
            return doc, candidate
    return None
