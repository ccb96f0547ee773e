"""The three ways a document reaches the runner (a value from the app, text from a URL, a file),
one way out: bounded, Swagger 2 upgraded, checked to be an OpenAPI 3 document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import RunnerError
from runner.openapi.external import bundle
from runner.openapi.limits import STAGE, Limits, in_force
from runner.openapi.load import measure, parse, read_file
from runner.openapi.swagger2 import upgrade


def document_from_value(value: Any, source: str,
                        limits: Limits | None = None) -> dict[str, Any]:
    """A document the app produced (already parsed), bounded and upgraded."""
    measure(value, source, in_force(limits))
    return _prepared(value, source)


def document_from_text(text: str | bytes, source: str,
                       limits: Limits | None = None) -> dict[str, Any]:
    """A document from JSON or YAML text (a served spec), bounded and upgraded."""
    return _prepared(parse(text, source, in_force(limits)), source)


def document_from_file(path: Path, root: Path | None = None,
                       limits: Limits | None = None) -> dict[str, Any]:
    """A document from a JSON or YAML file; references to other files are followed inside
    `root` and bundled into it. With `root` the files are the repository's, read with the pull
    request's rights (runner/untrusted.py); without, the file is the user's own and its
    references stay inside its folder."""
    path, limits = Path(path), in_force(limits)
    repository = Path(root) if root is not None else None
    folder = (repository or path.resolve().parent).resolve()
    resolved = path.resolve()
    source = str(resolved.relative_to(folder)) if resolved.is_relative_to(folder) else str(path)
    value = read_file(path, source, limits, repository)
    if isinstance(value, dict):
        value = bundle(value, path, folder, limits, repository is not None)
    return _prepared(value, source)


def _prepared(value: Any, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RunnerError(
            STAGE,
            f"The spec {source} is not an OpenAPI document (it is a JSON/YAML "
            f"{type(value).__name__}, not an object).",
            "Give an OpenAPI 3 (or Swagger 2.0) document.",
        )
    value = upgrade(value)
    version = str(value.get("openapi", ""))
    if not version.startswith("3"):
        raise RunnerError(
            STAGE,
            f"The spec {source} is not an OpenAPI 3 or Swagger 2.0 document (its `openapi` field "
            f"is {version or 'missing'}).",
            "Give an OpenAPI 3.x or Swagger 2.0 document.",
        )
    return value
