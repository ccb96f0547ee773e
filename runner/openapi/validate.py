"""Is the document valid OpenAPI? Warnings, not refusals: frameworks emit small deviations
(a `nullable` in 3.1, a duplicate operationId, a missing description) and the run can still
test the API; a document the runner cannot use at all fails elsewhere with its own message."""

from __future__ import annotations

import hashlib
import json
import os
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from runner.openapi.limits import ENV_NAMES, Limits, in_force
from runner.openapi.load import measure

# Validation is slow (about a millisecond per value on a loaded machine): the first problems say
# enough, and a very large document is not validated at all.
MAX_REPORTED = 3
_VALIDATORS = {"3.0": "OpenAPIV30SpecValidator", "3.1": "OpenAPIV31SpecValidator",
               "3.2": "OpenAPIV32SpecValidator"}


def validate_document(doc: dict[str, Any], source: str = "",
                      limits: Limits | None = None, cache: Path | None = None) -> list[str]:
    """Warnings (each one sentence) for what in `doc` breaks its OpenAPI version's rules.

    With a `cache` folder, the warnings of a document validated before are read from there:
    validating costs about a second of CPU for 11 operations and 7 s for 500, and a pull
    request's runs mostly see the same document again."""
    if cache is None:
        return _validate(doc, source, in_force(limits))
    limits = in_force(limits)
    key = hashlib.sha256(json.dumps(
        [doc, source, limits.validated_nodes, package_version("openapi-spec-validator")],
        sort_keys=True, default=str).encode("utf-8", "surrogatepass")).hexdigest()
    stored = cache / f"{key}.json"
    try:
        warnings = json.loads(stored.read_text(encoding="utf-8"))
        if isinstance(warnings, list) and all(isinstance(w, str) for w in warnings):
            return warnings
    except (OSError, ValueError):
        pass
    warnings = _validate(doc, source, limits)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        staged = stored.with_suffix(f".{os.getpid()}.tmp")
        staged.write_text(json.dumps(warnings), encoding="utf-8")
        os.replace(staged, stored)
    except OSError:
        pass  # a cache that cannot be written only costs the next run the validation
    return warnings


def _validate(doc: dict[str, Any], source: str, limits: Limits) -> list[str]:
    name = f"The OpenAPI document {source}".rstrip()
    version = str(doc.get("openapi", ""))
    validator_name = _VALIDATORS.get(version[:3])
    if validator_name is None:
        return [(f"{name} declares OpenAPI {version or '(no version)'}, which api-mcp-test does "
                "not validate; it is tested as OpenAPI 3.1.")]
    size, _ = measure(doc, source, limits)
    if size > limits.validated_nodes:
        return [(f"{name} was not validated: it has {size:,} values, more than "
                f"{limits.validated_nodes:,} (raise {ENV_NAMES['validated_nodes']} to "
                "validate it).")]
    # Imported here: a few seconds on a loaded machine, paid only by a run that validates.
    import openapi_spec_validator

    validator = getattr(openapi_spec_validator, validator_name)
    problems: list[str] = []
    count = 0
    try:
        for error in validator(doc).iter_errors():
            count += 1
            if len(problems) < MAX_REPORTED:
                problems.append(_describe(error))
    except Exception as exc:  # noqa: BLE001 - the validator's own failure is only a warning
        return [f"{name} could not be validated: {type(exc).__name__}: {str(exc)[:200]}."]
    if not count:
        return []
    more = f" (and {count - len(problems)} more)" if count > len(problems) else ""
    return [f"{name} is not valid OpenAPI {version}; the run goes on with it as it is: "
            + "; ".join(problems) + more + "."]


def _describe(error: Any) -> str:
    path = list(getattr(error, "absolute_path", None) or getattr(error, "path", None) or ())
    where = " > ".join(str(p) for p in path)
    message = " ".join(str(getattr(error, "message", error)).split())
    if len(message) > 160:
        message = message[:157] + "..."
    return f"at {where}: {message}" if where else message
