"""`$ref` resolution: JSON pointers as real documents write them, cycles kept finite, sizes bounded.

Pointers are URI fragments: `#/definitions/My%20Model` (flask-restx writes model names so) and
`#/paths/~1items~1{id}` (`~1` is `/`, `~0` is `~`) both resolve. A reference already being
expanded (a recursive schema) becomes a described "any" so recursive schemas stay usable; the
inlined result is bounded in values and depth (`Limits.resolved_nodes`, `Limits.depth`), so a
small document cannot expand into gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from runner.errors import RunnerError
from runner.openapi.limits import DEFAULT_LIMITS, STAGE, Limits, exceeded, in_force


def pointer_parts(ref: str, decode: bool = True) -> list[str]:
    """The unescaped tokens of a local reference `#/a/b` (percent-decoding, then `~1`, `~0`)."""
    if not ref.startswith("#"):
        raise KeyError(f"{ref!r} is not a reference inside this document")
    fragment = unquote(ref[1:]) if decode else ref[1:]
    if fragment in ("", "/"):
        return [] if fragment == "" else [""]
    if not fragment.startswith("/"):
        raise KeyError(f"{ref!r} is not a JSON pointer")
    return [part.replace("~1", "/").replace("~0", "~") for part in fragment[1:].split("/")]


def pointer_get(doc: Any, ref: str, decode: bool = True) -> Any:
    """The value a local reference (`#/components/schemas/Item`) points at; KeyError if none."""
    node = doc
    for part in pointer_parts(ref, decode):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            raise KeyError(f"{ref!r} goes through a value that is not an object")
    return node


@dataclass
class Budget:
    """What is left to inline: values across every `resolve` sharing it, and the deepest nesting."""

    nodes: int
    depth: int
    source: str = ""
    limits: Limits = DEFAULT_LIMITS

    @classmethod
    def of(cls, limits: Limits | None = None, source: str = "") -> Budget:
        limits = in_force(limits)
        return cls(nodes=limits.resolved_nodes, depth=limits.depth, source=source, limits=limits)

    def spend(self, where: str, level: int, nodes: int = 1) -> None:
        self.nodes -= nodes
        if self.nodes < 0:
            raise exceeded("resolved_nodes", self.limits, self.source, where=where)
        if level > self.depth:
            raise exceeded("depth", self.limits, self.source, f"{level}",
                           where=f"{where}, once $refs are inlined" if where else "once $refs "
                           "are inlined")

    def precheck(self, node: Any, doc: dict[str, Any], where: str) -> None:
        """Fail before inlining `node` when its inlined size (counted per reference, so a
        reference explosion costs as much as its text) is over what is left."""
        size, depth = inlined_size(node, doc, {}, (), self.depth)
        if size > self.nodes:
            raise exceeded("resolved_nodes", self.limits, self.source, where=where)
        if depth > self.depth:
            self.spend(where, depth, 0)


def inlined_size(node: Any, doc: dict[str, Any], memo: dict[str, tuple[int, int]],
                 seen: tuple[str, ...], cap: int) -> tuple[int, int]:
    """(values, depth) of `node` with its references inlined as `resolve` does, each reference
    counted once (memoized), so the count of a reference explosion is cheap. Stops going deeper
    than `cap` (the answer is then just "deeper than the cap")."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return 2, 1
            if ref not in memo:
                if len(seen) > cap:
                    return 1, cap + 1
                target = _target(doc, ref)
                memo[ref] = inlined_size(target, doc, memo, (*seen, ref), cap)
            size, depth = memo[ref]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings:
                more, deeper = inlined_size(siblings, doc, memo, seen, cap)
                return size + more, max(depth, deeper)
            return size, depth
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return 1, 0
    size, depth = 1, 1
    for child in children:
        child_size, child_depth = inlined_size(child, doc, memo, seen, cap)
        size += child_size
        depth = max(depth, child_depth + 1)
        if depth > cap:
            return size, depth
    return size, depth


def resolve(node: Any, doc: dict[str, Any], budget: Budget | None = None, where: str = "") -> Any:
    """`node` with every local `$ref` inlined; a reference inside its own expansion (a cycle)
    becomes `{"description": "recursive reference to Name"}` (any value)."""
    return _resolve(node, doc, budget or Budget.of(), where, (), 0)


def _resolve(node: Any, doc: dict[str, Any], budget: Budget, where: str,
             seen: tuple[str, ...], level: int) -> Any:
    budget.spend(where, level)
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return {"description": f"recursive reference to {pointer_parts(ref)[-1]}"}
            if len(seen) > budget.depth:  # a chain of references to references
                budget.spend(where, len(seen))
            target = _target(doc, ref)
            resolved = _resolve(target, doc, budget, where, (*seen, ref), level)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and isinstance(resolved, dict):
                # OAS 3.1 allows keywords next to $ref (a description, nullable...): they win.
                return {**resolved, **_resolve(siblings, doc, budget, where, seen, level)}
            return resolved
        return {k: _resolve(v, doc, budget, where, seen, level + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, doc, budget, where, seen, level + 1) for v in node]
    return node


def _target(doc: dict[str, Any], ref: str) -> Any:
    for decode in (True, False):  # a name may hold a literal "%"
        try:
            return pointer_get(doc, ref, decode)
        except (KeyError, IndexError, ValueError, TypeError):
            pass
    if not ref.startswith("#"):
        raise RunnerError(
            STAGE,
            f"The OpenAPI document has a reference to another document: {ref}.",
            "References to other files are followed only for a spec file inside the repository "
            "(`spec:` in .api-mcp-test.yml); never over the network. Bundle the document into "
            "one file (for example with `redocly bundle`) or point `spec:` at the file.",
        )
    raise RunnerError(
        STAGE,
        f"The OpenAPI document has a reference that cannot be resolved: {ref}.",
        "Fix the schema name in the app (or the spec file) so every $ref points at an "
        "existing component.",
    )
