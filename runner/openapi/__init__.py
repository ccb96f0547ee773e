"""The project's OpenAPI library, below every stage: discovery finds documents, this reads them.

- `document_from_value` / `document_from_text` / `document_from_file`: one way in for a
  document, whatever its origin, with every expansion bounded (`limits.py`), Swagger 2.0
  upgraded (`swagger2.py`) and references to other files bundled (`external.py`);
- `resolve`: `$ref`s inlined with cycles kept finite (`refs.py`);
- `endpoints_from_openapi`: the operations as `Endpoint` records, schemas resolved once
  (`operations.py`);
- `validate_document`: what breaks the OpenAPI rules, as warnings (`validate.py`);
- `to_json_schema`: the one converter to JSON Schema, for a direction (`schema.py`);
- `response_errors`: a response body checked in its document's dialect (`responses.py`).
"""

from runner.openapi.document import document_from_file, document_from_text, document_from_value
from runner.openapi.limits import LimitExceeded, Limits, limits_from_env
from runner.openapi.operations import (
    check_operation_count,
    endpoints_from_openapi,
    pick_json_content,
    response_schema,
)
from runner.openapi.refs import Budget, pointer_get, resolve
from runner.openapi.responses import response_errors
from runner.openapi.schema import Direction, to_json_schema
from runner.openapi.swagger2 import swagger2_to_openapi3, upgrade
from runner.openapi.validate import validate_document

__all__ = [
    "DEFAULT_LIMITS",
    "Budget",
    "Direction",
    "LimitExceeded",
    "Limits",
    "check_operation_count",
    "document_from_file",
    "document_from_text",
    "document_from_value",
    "endpoints_from_openapi",
    "limits_from_env",
    "pick_json_content",
    "pointer_get",
    "resolve",
    "response_errors",
    "response_schema",
    "swagger2_to_openapi3",
    "to_json_schema",
    "upgrade",
    "validate_document",
]
