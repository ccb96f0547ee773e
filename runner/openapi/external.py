"""References to other files (`$ref: schemas/pet.yaml#/Pet`), bundled into one document.

Only for a spec file, only relative paths, only files inside the repository (resolved through
symlinks), never a URL: the document is untrusted and must not read the runner's files or reach
the network. Each file lands under `BUNDLE_KEY` in the root document and every reference is
rewritten to a local one, so the rest of the runner only ever sees `#/...` references.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from runner.errors import RunnerError
from runner.openapi.limits import STAGE, Limits, exceeded, in_force
from runner.openapi.load import measure, read_file

BUNDLE_KEY = "x-api-mcp-test-files"


def bundle(doc: Any, path: Path, root: Path, limits: Limits | None = None) -> Any:
    """`doc` (read from `path`) with the files it references, transitively, under `BUNDLE_KEY`."""
    root, limits = root.resolve(), in_force(limits)
    path = path.resolve()
    if not _refs_outside(doc):
        return doc
    files: dict[str, Any] = {}
    spent = [path.stat().st_size]
    todo: list[tuple[str, Any, Path]] = []
    out = _rewrite(doc, path, root, None, files, todo, limits, spent)
    while todo:
        key, value, file = todo.pop()
        files[key] = _rewrite(value, file, root, key, files, todo, limits, spent)
    out = {**out, BUNDLE_KEY: files}
    measure(out, str(path.relative_to(root)) if path.is_relative_to(root) else str(path), limits)
    return out


def _refs_outside(node: Any) -> bool:
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _rewrite(node: Any, file: Path, root: Path, key: str | None, files: dict[str, Any],
             todo: list[tuple[str, Any, Path]], limits: Limits, spent: list[int]) -> Any:
    """`node` from `file` (bundled as `key`, None for the root document) with its references
    made local; the files it names are queued in `todo` once each."""
    if isinstance(node, list):
        return [_rewrite(v, file, root, key, files, todo, limits, spent) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rewrite(v, file, root, key, files, todo, limits, spent) for k, v in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target, _, fragment = ref.partition("#")
        if target:
            other = _inside(file.parent / unquote(target), ref, root)
            target_key = other.relative_to(root).as_posix()
            if target_key not in files:
                spent[0] += other.stat().st_size
                if spent[0] > limits.document_bytes:
                    raise exceeded("document_bytes", limits, str(file.relative_to(root)),
                                   where="with the files it references")
                files[target_key] = None  # reserved: each file is read once
                todo.append((target_key, read_file(other, target_key, limits), other))
        else:
            target_key = key  # type: ignore[assignment]
        if target_key is not None:
            prefix = "#/" + BUNDLE_KEY + "/" + quote(target_key.replace("~", "~0").replace("/", "~1"))
            out["$ref"] = prefix + (fragment if fragment.startswith("/") else "")
    return out


def _inside(candidate: Path, ref: str, root: Path) -> Path:
    if "://" in ref or ref.startswith("//"):
        raise RunnerError(
            STAGE,
            f"The OpenAPI document references {ref}, a document on the network.",
            "The runner never fetches references over the network: bundle the document into one "
            "file (for example with `redocly bundle`) or copy the referenced file into the "
            "repository and reference it by a relative path.",
        )
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        where = "outside the repository" if not resolved.is_relative_to(root) else "not a file"
        raise RunnerError(
            STAGE,
            f"The OpenAPI document references {ref}, which is {where}.",
            "References to other files must name a file inside the repository by a relative "
            "path; fix the reference or bundle the document into one file.",
        )
    return resolved
