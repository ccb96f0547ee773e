"""References to other files (`$ref: schemas/pet.yaml#/Pet`), bundled into one document.

Only for a spec file, only relative paths, only files inside the repository (resolved through
symlinks), never a URL: the document is untrusted and must not read the runner's files or reach
the network. Each file lands under `BUNDLE_KEY` in the root document and every reference is
rewritten to a local one, so the rest of the runner only ever sees `#/...` references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from runner.errors import RunnerError
from runner.openapi.limits import STAGE, Limits, exceeded, in_force
from runner.openapi.load import measure, read_file

BUNDLE_KEY = "x-api-mcp-test-files"


def bundle(doc: Any, path: Path, root: Path, limits: Limits | None = None,
           untrusted: bool = False) -> Any:
    """`doc` (read from `path`) with the files it references, transitively, under `BUNDLE_KEY`;
    `untrusted`: they are the pull request's, read with its rights (runner/untrusted.py)."""
    if not _refs_outside(doc):
        return doc
    bundler = _Bundler(root.resolve(), in_force(limits), path.resolve().stat().st_size,
                       root if untrusted else None)
    out = bundler.rewrite(doc, path.resolve(), None)
    while bundler.todo:
        key, value, file = bundler.todo.pop()
        bundler.files[key] = bundler.rewrite(value, file, key)
    out = {**out, BUNDLE_KEY: bundler.files}
    measure(out, bundler.name(path.resolve()), bundler.limits)
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


@dataclass
class _Bundler:
    root: Path
    limits: Limits
    read_bytes: int  # all files read so far, against `Limits.document_bytes`
    untrusted_root: Path | None  # read through runner/untrusted.py inside this folder
    files: dict[str, Any] = field(default_factory=dict)  # bundle key -> rewritten document
    todo: list[tuple[str, Any, Path]] = field(default_factory=list)  # read, not yet rewritten

    def name(self, file: Path) -> str:
        inside = file.is_relative_to(self.root)
        return file.relative_to(self.root).as_posix() if inside else str(file)

    def rewrite(self, node: Any, file: Path, key: str | None) -> Any:
        """`node` from `file` (bundled as `key`, None for the root document) with its
        references made local; each file it names is read once and queued."""
        if isinstance(node, list):
            return [self.rewrite(v, file, key) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: self.rewrite(v, file, key) for k, v in node.items()}
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return out
        target, _, fragment = ref.partition("#")
        target_key = self.read(file.parent / unquote(target), ref, file) if target else key
        if target_key is not None:
            escaped = quote(target_key.replace("~", "~0").replace("/", "~1"))
            pointer = fragment if fragment.startswith("/") else ""  # "file.yaml" is all of it
            out["$ref"] = f"#/{BUNDLE_KEY}/{escaped}{pointer}"
        return out

    def read(self, candidate: Path, ref: str, referrer: Path) -> str:
        other = _inside(candidate, ref, self.root)
        target_key = self.name(other)
        if target_key not in self.files:
            self.read_bytes += other.stat().st_size
            if self.read_bytes > self.limits.document_bytes:
                raise exceeded("document_bytes", self.limits, self.name(referrer),
                               where="with the files it references")
            self.files[target_key] = None  # reserved: each file is read once
            value = read_file(other, target_key, self.limits, self.untrusted_root,
                              "a file the spec references")
            self.todo.append((target_key, value, other))
        return target_key


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
