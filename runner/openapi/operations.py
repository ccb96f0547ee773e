"""OpenAPI 3 document -> `Endpoint` records, parameters, bodies and responses resolved once."""

from __future__ import annotations

from typing import Any

from runner.errors import RunnerError
from runner.models import Endpoint, Parameter, RequestBody, SourceLocation
from runner.openapi.limits import STAGE, Limits, exceeded, in_force
from runner.openapi.refs import Budget, resolve
from runner.openapi.swagger2 import HTTP_METHODS

JSON_CONTENT_TYPES = ("application/json", "application/problem+json")


def pick_json_content(content: dict[str, Any] | None) -> tuple[str, dict[str, Any]] | None:
    """The JSON-ish media type of a content map, else the first one."""
    if not content or not isinstance(content, dict):
        return None
    for media in content:
        if media.split(";")[0].strip() in JSON_CONTENT_TYPES or media.endswith("+json"):
            return media, content[media] or {}
    media = next(iter(content))
    return media, content[media] or {}


def endpoints_from_openapi(doc: dict[str, Any], limits: Limits | None = None,
                           source: str = "") -> list[Endpoint]:
    """Every operation of the document, parameters and bodies resolved, in document order.

    The `$ref`s of all operations are inlined within one budget (`Limits.resolved_nodes`), so a
    document whose references multiply fails here, in discovery, and not in a later stage."""
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise RunnerError(
            STAGE,
            "The OpenAPI document has no `paths` object, so there is nothing to test.",
            "Check that the app (or the spec file) produces a valid OpenAPI 3 document.",
        )
    budget = Budget.of(in_force(limits), source)
    endpoints: list[Endpoint] = []
    global_security = bool(doc.get("security"))
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        budget.precheck(item, doc, str(path))
        item = resolve(item, doc, budget, where=str(path))
        shared_params = item.get("parameters", [])
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            body = None
            if isinstance(op.get("requestBody"), dict):
                picked = pick_json_content(op["requestBody"].get("content"))
                if picked:
                    media, media_obj = picked
                    schema = media_obj.get("schema")
                    body = RequestBody(media, schema if isinstance(schema, dict) else {},
                                       bool(op["requestBody"].get("required")))
            security = op.get("security")
            responses = op.get("responses")
            endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=str(path),
                    operation_id=str(op.get("operationId") or ""),
                    summary=str(op.get("summary") or ""),
                    description=str(op.get("description") or ""),
                    tags=tuple(str(t) for t in op.get("tags") or () if isinstance(t, str | int)),
                    parameters=tuple(_merge_parameters(shared_params, op.get("parameters"))),
                    request_body=body,
                    responses=({str(k): v for k, v in responses.items()}
                               if isinstance(responses, dict) else {}),
                    source=SourceLocation.from_json(op.get("x-source")),
                    security=bool(security) if security is not None else global_security,
                    openapi_version=str(doc.get("openapi") or ""),
                )
            )
    return endpoints


def check_operation_count(count: int, limits: Limits | None = None, source: str = "") -> None:
    """Refuse more operations than a run can serve as tools (after include/exclude)."""
    limits = in_force(limits)
    if count > limits.operations:
        raise exceeded("operations", limits, source or "(after include/exclude)", f"{count:,}")


def _merge_parameters(shared: Any, own: Any) -> list[Parameter]:
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for raw in [*(shared if isinstance(shared, list) else ()),
                *(own if isinstance(own, list) else ())]:
        if isinstance(raw, dict) and "name" in raw and "in" in raw:
            by_key[(str(raw["name"]), str(raw["in"]))] = raw
    params = []
    for (name, location), raw in by_key.items():
        if location not in ("path", "query", "header", "cookie"):
            continue
        schema = raw.get("schema")
        if schema is None and isinstance(raw.get("content"), dict):
            picked = pick_json_content(raw["content"])
            schema = picked[1].get("schema") if picked else None
        schema = dict(schema) if isinstance(schema, dict) and schema else {"type": "string"}
        if "example" in raw and "example" not in schema:
            schema["example"] = raw["example"]
        params.append(
            Parameter(
                name=name,
                location=location,
                required=bool(raw.get("required")) or location == "path",
                schema=schema,
                description=str(raw.get("description") or ""),
            )
        )
    return params


def response_schema(endpoint: Endpoint, status: int) -> tuple[str | None, dict[str, Any] | None]:
    """The documented (status key, JSON schema) for a status code: exact, `4XX`-style, `default`."""
    responses = endpoint.responses
    for key in (str(status), f"{str(status)[0]}XX", f"{str(status)[0]}xx", "default"):
        if key in responses:
            response = responses[key] or {}
            picked = pick_json_content(response.get("content"))
            return key, (picked[1].get("schema") if picked else None)
    return None, None
