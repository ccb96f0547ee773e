"""Schema-driven argument values."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from runner.agent.values import boundary_values, value_for


def test_documented_examples_come_first() -> None:
    assert value_for({"type": "string", "example": "milk"}) == "milk"
    assert value_for({"type": "string", "examples": ["a", "b"]}) == "a"
    assert value_for({"type": "integer", "default": 7}) == 7
    assert value_for({"type": "string", "enum": ["low", "high"]}) == "low"


def test_generated_values_satisfy_constraints() -> None:
    schemas = [
        {"type": "integer", "minimum": 10, "maximum": 20},
        {"type": "integer", "exclusiveMinimum": 5},
        {"type": "number", "maximum": 0.5},
        {"type": "string", "minLength": 12, "maxLength": 15},
        {"type": "string", "format": "email"},
        {"type": "array", "items": {"type": "integer"}, "minItems": 3, "uniqueItems": True},
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"},
                                                              "b": {"type": ["string", "null"]}}},
        {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]},
        {"allOf": [{"type": "object", "properties": {"x": {"type": "integer"}}},
                   {"required": ["x"]}]},
    ]
    for schema in schemas:
        value = value_for(schema)
        assert not list(Draft202012Validator(schema).iter_errors(value)), (schema, value)


def test_boundaries_stay_inside_the_schema() -> None:
    schema = {"type": "integer", "minimum": 1, "maximum": 100}
    assert boundary_values(schema) == [1, 100]
    assert boundary_values({"type": "string", "maxLength": 5, "minLength": 2}) == ["xxxxx", "xx"]
