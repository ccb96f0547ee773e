"""How much of an OpenAPI document the runner accepts: the caps, defined once.

A spec comes from the pull request (its app, its file), so it is untrusted input: a 1 KB YAML
alias bomb or a 5 KB chain of `$ref`s can expand to gigabytes. Every cap fails the discovery
stage (exit 3) with a message naming the cap and how to stay under it. The workflow author (not
the pull request) may raise a cap with the environment variable named next to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from runner.errors import RunnerError

STAGE = "discovery"


@dataclass(frozen=True)
class Limits:
    document_bytes: int = 16 * 1024 * 1024  # the text of the document
    document_nodes: int = 2_000_000  # values after YAML aliases are expanded
    depth: int = 100  # nested objects/arrays, in the document and in a resolved schema
    resolved_nodes: int = 1_000_000  # values in all operations once `$ref`s are inlined
    operations: int = 1_000  # operations to test (after include/exclude)
    validated_nodes: int = 50_000  # larger documents are not validated (a warning says so)


class LimitExceeded(RunnerError):
    """A document over one of the caps (so a caller probing for a spec must not ignore it)."""


DEFAULT_LIMITS = Limits()
# The environment variable that raises each cap (the runner's environment, never the app's).
ENV_NAMES = {
    "document_bytes": "API_MCP_TEST_MAX_SPEC_BYTES",
    "document_nodes": "API_MCP_TEST_MAX_SPEC_NODES",
    "depth": "API_MCP_TEST_MAX_SPEC_DEPTH",
    "resolved_nodes": "API_MCP_TEST_MAX_RESOLVED_NODES",
    "operations": "API_MCP_TEST_MAX_OPERATIONS",
    "validated_nodes": "API_MCP_TEST_MAX_VALIDATED_NODES",
}
_WHAT = {
    "document_bytes": "bytes of text",
    "document_nodes": "values once its YAML aliases are expanded",
    "depth": "levels of nesting",
    "resolved_nodes": "values once its $refs are inlined",
    "operations": "operations",
    "validated_nodes": "values to validate",
}


def limits_from_env(environ: Mapping[str, str] | None = None) -> Limits:
    """The default caps, each raised (or lowered) by its environment variable when set."""
    environ = os.environ if environ is None else environ
    changes: dict[str, int] = {}
    for field in fields(Limits):
        raw = environ.get(ENV_NAMES[field.name], "").strip()
        if not raw:
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            value = 0
        if value <= 0:
            raise RunnerError(
                "config",
                f"{ENV_NAMES[field.name]}={raw!r} is not a positive whole number.",
                f"Set it to a number (the default is {getattr(DEFAULT_LIMITS, field.name)}) "
                "or unset it.",
            )
        changes[field.name] = value
    return replace(DEFAULT_LIMITS, **changes)


def in_force(limits: Limits | None = None) -> Limits:
    """`limits` when given, else the defaults as the runner's environment sets them."""
    return limits if limits is not None else limits_from_env()


def exceeded(cap: str, limits: Limits, source: str, found: str = "",
             where: str = "") -> LimitExceeded:
    """The discovery error for a document over `cap`: what, where, and how to get under it."""
    limit = getattr(limits, cap)
    amount = found or f"more than {limit:,}"
    where = f" ({where})" if where else ""
    name = f"The OpenAPI document {source}".rstrip()
    message = (f"{name} has {amount} {_WHAT[cap]}{where}; the limit is "
               f"{limit:,}, so the run stops here instead of expanding it.")
    if cap == "operations":
        fix = ("Test a part of the API at a time: split it over a matrix with `--shard K/N` "
               "(the `shard` input; the cap applies to each shard), or choose with "
               "`include`/`exclude` in .api-mcp-test.yml (for example `include: [\"tag:orders\"]`)")
    else:
        fix = ("If the document is right, give a trimmed copy with only what to test as `spec:` "
               "in .api-mcp-test.yml (or --spec)")
    hint = (f"{fix}; a workflow author who trusts this document can raise the limit with the "
            f"environment variable {ENV_NAMES[cap]} of the runner.")
    return LimitExceeded(STAGE, message, hint)
