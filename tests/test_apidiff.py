"""The contract diff between a base spec and a head spec: each rule, breaking or not."""

from __future__ import annotations

import copy
from typing import Any

from runner.apidiff import changed_operations, diff_endpoints
from runner.openapi import Limits, endpoints_from_openapi


def _doc() -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["id", "title", "status"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string", "maxLength": 100},
            "status": {"type": "string", "enum": ["open", "done"]},
            "owner": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    }
    create = {
        "type": "object",
        "required": ["title"],
        "properties": {"title": {"type": "string", "maxLength": 100},
                       "status": {"type": "string", "enum": ["open", "done"]}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/items": {
                "get": {
                    "operationId": "list_items",
                    "parameters": [{"name": "limit", "in": "query",
                                    "schema": {"type": "integer", "maximum": 100}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
                    }}}},
                },
                "post": {
                    "operationId": "create_item",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ItemCreate"}}}},
                    "responses": {"201": {"description": "created", "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}},
                },
            },
            "/items/{item_id}": {
                "get": {
                    "operationId": "get_item",
                    "parameters": [{"name": "item_id", "in": "path", "required": True,
                                    "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Item"}}}}},
                },
                "delete": {
                    "operationId": "delete_item",
                    "parameters": [{"name": "item_id", "in": "path", "required": True,
                                    "schema": {"type": "integer"}}],
                    "responses": {"204": {"description": "gone"}},
                },
            },
        },
        "components": {"schemas": {"Item": item, "ItemCreate": create}},
    }


def _diff(change, limits: Limits | None = None) -> list[tuple[str, str, bool, str]]:  # type: ignore[no-untyped-def]
    base = _doc()
    head = copy.deepcopy(base)
    change(head)
    found = diff_endpoints(endpoints_from_openapi(base, limits),
                           endpoints_from_openapi(head, limits))
    return [(c.operation, c.change, c.breaking, c.detail) for c in found]


def test_the_same_spec_has_no_changes() -> None:
    assert _diff(lambda head: None) == []


def test_removed_response_field_is_breaking_in_every_operation_that_returns_it() -> None:
    def remove(head: dict[str, Any]) -> None:
        schema = head["components"]["schemas"]["Item"]
        del schema["properties"]["status"]
        schema["required"].remove("status")

    changes = _diff(remove)
    removed = [c for c in changes if c[1] == "response-field-removed"]
    assert {c[0] for c in removed} == {"GET /items", "POST /items", "GET /items/{item_id}"}
    assert all(c[2] for c in removed)
    assert "200 response field '[].status' is gone" in [c[3] for c in removed]
    assert "201 response field 'status' is gone" in [c[3] for c in removed]


def test_required_parameter_added_is_breaking_optional_is_not() -> None:
    def add(head: dict[str, Any]) -> None:
        params = head["paths"]["/items"]["get"]["parameters"]
        params.append({"name": "tenant", "in": "query", "required": True,
                       "schema": {"type": "string"}})
        params.append({"name": "q", "in": "query", "schema": {"type": "string"}})

    assert _diff(add) == [
        ("GET /items", "required-parameter-added", True, "new required query parameter 'tenant'"),
        ("GET /items", "optional-parameter-added", False, "new optional query parameter 'q'"),
    ]


def test_request_narrowing_is_breaking_and_widening_is_not() -> None:
    def narrow(head: dict[str, Any]) -> None:
        create = head["components"]["schemas"]["ItemCreate"]["properties"]
        create["title"]["maxLength"] = 50
        create["status"]["enum"] = ["open"]
        head["paths"]["/items"]["get"]["parameters"][0]["schema"]["maximum"] = 500

    changes = _diff(narrow)
    assert ("POST /items", "request-constraint-narrowed", True,
            "request body field 'title': maxLength 100 -> 50") in changes
    assert ("POST /items", "request-enum-value-removed", True,
            "request body field 'status': no longer accepts done") in changes
    # A larger maximum accepts more: not a change a client notices.
    assert not [c for c in changes if c[0] == "GET /items" and c[1].startswith("request-")]


def test_type_changes_by_direction() -> None:
    def retype(head: dict[str, Any]) -> None:
        schemas = head["components"]["schemas"]
        schemas["Item"]["properties"]["id"] = {"type": "string"}
        schemas["ItemCreate"]["properties"]["title"] = {"type": "integer"}

    changes = _diff(retype)
    assert ("GET /items/{item_id}", "response-type-changed", True,
            "200 response field 'id': type integer -> string") in changes
    assert ("POST /items", "request-type-narrowed", True,
            "request body field 'title': type string -> integer") in changes


def test_nullable_response_field_breaks_clients_nullable_request_field_does_not() -> None:
    def nullable(head: dict[str, Any]) -> None:
        schemas = head["components"]["schemas"]
        schemas["Item"]["properties"]["title"]["nullable"] = True
        schemas["ItemCreate"]["properties"]["title"]["nullable"] = True

    changes = _diff(nullable)
    kinds = {(c[0], c[1], c[2]) for c in changes}
    assert ("GET /items/{item_id}", "response-type-changed", True) in kinds
    assert ("POST /items", "request-type-widened", False) in kinds


def test_new_required_body_field_and_field_becoming_required() -> None:
    def require(head: dict[str, Any]) -> None:
        create = head["components"]["schemas"]["ItemCreate"]
        create["properties"]["due"] = {"type": "string", "format": "date"}
        create["required"] += ["due", "status"]

    assert _diff(require) == [
        ("POST /items", "field-became-required", True,
         "request body field 'status' is now required"),
        ("POST /items", "required-field-added", True, "new required request body field 'due'"),
    ]


def test_operations_added_removed_and_moved() -> None:
    def reshape(head: dict[str, Any]) -> None:
        paths = head["paths"]
        del paths["/items/{item_id}"]["delete"]
        paths["/items/{item_id}/archive"] = {"post": {
            "operationId": "archive_item", "responses": {"200": {"description": "ok"}},
            "parameters": [{"name": "item_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}]}}
        paths["/things/{item_id}"] = {"get": paths["/items/{item_id}"].pop("get")}

    changes = _diff(reshape)
    assert ("DELETE /items/{item_id}", "operation-removed", True,
            "DELETE /items/{item_id} is gone (delete_item)") in changes
    assert ("GET /things/{item_id}", "path-changed", True,
            "operation get_item moved from GET /items/{item_id} to GET /things/{item_id}") in changes
    assert ("POST /items/{item_id}/archive", "operation-added", False,
            "new operation POST /items/{item_id}/archive") in changes
    # Breaking changes come first.
    assert [c[2] for c in changes] == sorted((c[2] for c in changes), reverse=True)
    assert changed_operations(diff_endpoints(endpoints_from_openapi(_doc()),
                                             endpoints_from_openapi(_doc()))) == set()


def test_success_status_and_security() -> None:
    def change(head: dict[str, Any]) -> None:
        post = head["paths"]["/items"]["post"]
        post["responses"] = {"200": post["responses"]["201"]}
        head["paths"]["/items"]["get"]["security"] = [{"bearer": []}]
        head["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}

    changes = _diff(change)
    assert ("POST /items", "success-status-changed", True, "success status 201 -> 200") in changes
    assert ("GET /items", "security-added", True,
            "the operation now requires credentials") in changes


def test_response_enum_value_added_warns_clients() -> None:
    def add(head: dict[str, Any]) -> None:
        head["components"]["schemas"]["Item"]["properties"]["status"]["enum"].append("archived")

    changes = _diff(add)
    assert ("GET /items/{item_id}", "response-enum-value-added", True,
            "200 response field 'status': may now return archived") in changes


def test_a_deep_schema_is_compared_without_recursion_errors() -> None:
    def deep(head: dict[str, Any]) -> None:
        node: dict[str, Any] = {"type": "string"}
        for _ in range(120):
            node = {"type": "object", "properties": {"x": node}}
        head["components"]["schemas"]["Item"]["properties"]["owner"] = node

    # Compared down to a fixed depth, then left alone: the new fields near the top are found.
    # (Deeper than a run accepts by default, see runner/openapi/limits.py.)
    changes = _diff(deep, Limits(depth=400))
    assert ("GET /items/{item_id}", "response-field-added", False,
            "new 200 response field 'owner.x'") in changes
    assert max(c[3].count(".") for c in changes) < 30
