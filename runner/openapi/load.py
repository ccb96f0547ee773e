"""JSON or YAML text -> a document, with every expansion bounded (see `limits.py`).

YAML aliases are shared objects after loading, so a bomb is small in memory until something
walks it; `measure` counts the values the document *would* have once expanded (memoized per
shared object, so counting a bomb is cheap) and refuses it before any other stage walks it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from runner import untrusted
from runner.errors import RunnerError
from runner.openapi.limits import STAGE, Limits, exceeded, in_force

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as the JSON data model an OpenAPI document is: `200:` is the key "200" and
    `version: 2024-01-31` the string it looks like (not a date that JSON cannot hold)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
        mapping = super().construct_mapping(node, deep)
        return {key if isinstance(key, str) else json.dumps(key, default=str).strip('"'): value
                for key, value in mapping.items()}


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse(text: str | bytes, source: str, limits: Limits | None = None) -> Any:
    """The value of a JSON or YAML text (`source` names it in errors), size and shape bounded."""
    limits = in_force(limits)
    size = len(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    if size > limits.document_bytes:
        raise exceeded("document_bytes", limits, source, f"{size:,}")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        try:
            value = json.loads(text)
        except ValueError:
            value = yaml.load(text, Loader=_Loader)  # a safe loader (libyaml when present)
    except RecursionError:
        raise exceeded("depth", limits, source) from None
    except yaml.YAMLError as exc:
        raise RunnerError(
            STAGE,  # where, never the text: it could be anything a symlink pointed at
            f"The OpenAPI document {source} is neither JSON nor YAML: "
            f"{untrusted.parse_error(exc)}.",
            "Check the file with a YAML or JSON linter; the spec must be one OpenAPI document.",
        ) from None
    measure(value, source, limits)
    return value


def read_file(path: Path, source: str | None = None, limits: Limits | None = None,
              root: Path | None = None, what: str = "the spec file") -> Any:
    """The value of a JSON/YAML file, read no further than the size cap. With `root`, the file
    is the repository's: read inside it with the pull request's rights (runner/untrusted.py)."""
    source, limits = source or str(path), in_force(limits)
    if root is not None:
        data = untrusted.read_bytes(root, path, what, limits.document_bytes + 1)
        if len(data) > limits.document_bytes:
            raise exceeded("document_bytes", limits, source)
        return parse(data, source, limits)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limits.document_bytes + 1)
    except OSError as exc:
        raise RunnerError(
            STAGE,
            f"Could not read the spec file {source}: {exc.strerror or exc}.",
            "Give a readable OpenAPI document in JSON or YAML.",
        ) from exc
    if len(data) > limits.document_bytes:
        raise exceeded("document_bytes", limits, source)
    return parse(data, source, limits)


def measure(value: Any, source: str, limits: Limits | None = None) -> tuple[int, int]:
    """(values, depth) of `value` as if every shared object were copied where it is used.

    Iterative (no recursion limit to hit) and memoized per object, so a billion-laughs document
    costs as much as its text. Raises the discovery error at the first cap passed, and for a
    document that contains itself (a recursive YAML alias)."""
    limits = in_force(limits)
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, children_done = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        children = list(node.values()) if isinstance(node, dict) else node
        if children_done:
            active.discard(key)
            size, depth = 1, 1
            for child in children:
                child_size, child_depth = sizes.get(id(child), (1, 0))
                size += child_size
                depth = max(depth, child_depth + 1)
            if size > limits.document_nodes:
                raise exceeded("document_nodes", limits, source)
            if depth > limits.depth:
                raise exceeded("depth", limits, source, f"{depth}")
            sizes[key] = (size, depth)
            continue
        if key in sizes:
            continue
        if key in active:
            raise RunnerError(
                STAGE,
                f"The OpenAPI document {source} contains itself (a recursive YAML alias), so it "
                "has no finite value.",
                "Replace the recursive alias with a `$ref` (OpenAPI's way to write a recursive "
                "schema).",
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
        if len(active) > limits.depth:
            raise exceeded("depth", limits, source)
    return sizes.get(id(value), (1, 0))
