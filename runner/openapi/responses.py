"""Response bodies validated in the dialect of their document (openapi-schema-validator).

OpenAPI 3.0 schemas are not JSON Schema (`nullable`, boolean `exclusiveMinimum`, draft-4 rules),
so a 3.0 document's responses are validated with `OAS30ReadValidator` on the schema as written;
3.1 (JSON Schema 2020-12) with `OAS31Validator` on the read-direction schema. Both skip a
`writeOnly` property that is required; the 3.0 validator also fails one that is present.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.openapi.schema import to_json_schema

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


def response_errors(body: Any, schema: dict[str, Any], openapi_version: str,
                    components: dict[str, Any] | None = None) -> list[ValidationError]:
    """Where `body` breaks `schema` (resolved), shallowest first; SchemaError when the
    documented schema itself is invalid. `components` resolves a 3.0 discriminator's mapping."""
    # Imported here: seconds on a loaded machine, paid only when a response is checked.
    from jsonschema.exceptions import SchemaError, ValidationError
    from openapi_schema_validator import OAS30ReadValidator, OAS31Validator

    if openapi_version.startswith("3.0"):
        root = _for_oas30(schema, keep_discriminator=bool(components))
        if isinstance(root, dict) and components:
            root = {**root, "components": components}  # `#/components/...` from a discriminator
        validator: Any = OAS30ReadValidator(root)
    else:
        validator = OAS31Validator(to_json_schema(schema, "read"))
    try:
        errors = list(validator.iter_errors(body))
    except (SchemaError, ValidationError):
        raise
    except Exception as exc:  # a malformed schema: an unknown type, a bad pattern
        raise SchemaError(f"{type(exc).__name__}: {exc}") from exc
    # By path (an index before a name at the same place), as the report has always shown them.
    return sorted(errors, key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])


def _for_oas30(node: Any, keep_discriminator: bool) -> Any:
    """A 3.0 schema as its authors mean it: `nullable: true` without a `type` next to it
    (frameworks write it beside `allOf` or `$ref`) admits null, though OAS 3.0.3 gives it no
    effect there; a discriminator is only a hint without the components its mapping names."""
    if isinstance(node, list):
        return [_for_oas30(v, keep_discriminator) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "default", "example") else _for_oas30(v, keep_discriminator))
           for k, v in node.items() if keep_discriminator or k != "discriminator"}
    if node.get("nullable") is True and "type" not in node:
        rest = {k: v for k, v in out.items() if k != "nullable"}
        return {"anyOf": [rest, {"type": "object", "nullable": True, "enum": [None]}]}
    return out
