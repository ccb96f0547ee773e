"""The named checks, one behaviour each, and the per-endpoint verdicts built from them."""

from __future__ import annotations

from typing import Any

from runner.checks import CHECKS, response_schema_conformance, run_checks, select
from runner.models import Endpoint, ToolCall
from runner.verdicts import evaluate

ITEM = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                   "note": {"type": "string", "nullable": True}},
}
GET_ITEM = Endpoint(
    method="GET", path="/items/{id}", operation_id="get_item",
    responses={
        "200": {"description": "ok", "content": {"application/json": {"schema": ITEM}}},
        "404": {"description": "missing"},
    },
)


def call(status: int | None, body: Any = None, intent: str = "valid", **extra: Any) -> ToolCall:
    return ToolCall(call_id="c-1", tool="get_item", method="GET", path="/items/{id}",
                    arguments={"id": 1}, status_code=status, body=body,
                    body_is_json=not isinstance(body, str) and body is not None,
                    body_bytes=0 if body is None else 10,
                    headers={"content-type": "application/json"}, intent=intent, **extra)


def outcome(c: ToolCall) -> dict[str, bool]:
    return {r.check: r.passed for r in run_checks(c, GET_ITEM, CHECKS)}


def test_a_conforming_answer_passes_every_applicable_check() -> None:
    results = outcome(call(200, {"id": 1, "name": "a", "note": None}))
    assert results == {"response_received": True, "not_a_server_error": True,
                       "status_code_conformance": True, "content_type_conformance": True,
                       "response_schema_conformance": True, "positive_data_acceptance": True}


def test_server_error_fails_not_a_server_error() -> None:
    results = outcome(call(500, "Internal Server Error"))
    assert results["not_a_server_error"] is False
    assert results["status_code_conformance"] is False


def test_schema_mismatch_names_the_field() -> None:
    [res] = [r for r in run_checks(call(200, {"id": "x", "name": "a"}), GET_ITEM, CHECKS)
             if r.check == "response_schema_conformance"]
    assert not res.passed and "id" in res.message


def test_wrong_content_type_fails() -> None:
    c = call(200, "<html>")
    c.headers = {"content-type": "text/html"}
    assert outcome(c)["content_type_conformance"] is False


def test_valid_input_rejected_undocumented_fails_the_check_documented_passes() -> None:
    assert outcome(call(400, {"detail": "bad"}))["positive_data_acceptance"] is False
    assert outcome(call(404, {"detail": "gone"}))["positive_data_acceptance"] is True
    assert "positive_data_acceptance" not in outcome(call(401, {"detail": "no"}))


def test_not_found_probe_expects_4xx() -> None:
    assert outcome(call(404, None, intent="not_found"))["unknown_id_rejection"] is True
    assert outcome(call(200, {"id": 1, "name": "a"}, intent="not_found"))[
        "unknown_id_rejection"] is False


def test_transport_error_is_reported_by_response_received() -> None:
    assert outcome(call(None, error="timed out after 30 s")) == {"response_received": False}


def test_evaluate_turns_checks_into_outcomes() -> None:
    other = Endpoint(method="DELETE", path="/items/{id}", operation_id="delete_item",
                     responses={"204": {"description": "gone"}})
    auth = Endpoint(method="GET", path="/me", operation_id="me", responses={"200": {}})
    calls = [call(500, "boom"),
             ToolCall(call_id="c-2", tool="me", method="GET", path="/me", arguments={},
                      status_code=401)]
    results = {r.endpoint.key: r for r in evaluate([GET_ITEM, other, auth], calls, {}, CHECKS)}
    assert results["GET /items/{id}"].outcome == "failed"
    assert "not_a_server_error" in results["GET /items/{id}"].reason
    assert results["DELETE /items/{id}"].outcome == "skipped"
    assert "budget" in results["DELETE /items/{id}"].reason
    assert results["GET /me"].outcome == "skipped"
    assert "needs auth" in results["GET /me"].reason


def test_select_rejects_unknown_names() -> None:
    import pytest

    from runner.errors import UsageError

    assert list(select(["not_a_server_error"])) == ["not_a_server_error"]
    assert list(select(["valid_input_accepted"])) == ["positive_data_acceptance"]  # old name
    with pytest.raises(UsageError, match="Unknown check"):
        select(["nope"])


def test_a_property_named_example_is_still_checked() -> None:
    from runner.openapi import to_json_schema

    schema = {"type": "object", "required": ["example"],
              "properties": {"example": {"type": "integer", "example": 3, "nullable": True}}}
    converted = to_json_schema(schema, "read")
    assert converted["properties"]["example"] == {"type": ["integer", "null"], "examples": [3]}


def test_a_write_only_property_is_not_required_in_a_response() -> None:
    from runner.openapi import to_json_schema

    # drf-spectacular documents a serializer's write_only password as required and writeOnly.
    schema = {"type": "object", "required": ["username", "password"],
              "properties": {"username": {"type": "string"},
                             "password": {"type": "string", "writeOnly": True}}}
    assert to_json_schema(schema, "read")["required"] == ["username"]
    endpoint = Endpoint(method="POST", path="/users", operation_id="create_user",
                        openapi_version="3.0.3", responses={"201": {"content": {
                            "application/json": {"schema": schema}}}})
    ok = call(201, {"username": "ada"})
    assert response_schema_conformance(ok, endpoint).passed  # type: ignore[union-attr]
    leak = call(201, {"username": "ada", "password": "secret"})
    result = response_schema_conformance(leak, endpoint)
    assert result is not None and not result.passed and "write-only" in result.message


# A synthesized spec: nothing documented but a default response, and the input is a guess.
SYNTHESIZED = Endpoint(method="GET", path="/items/{id}", operation_id="item_get",
                       responses={"default": {"description": "not documented"}})


def verdict(status: int, body: Any = None) -> tuple[str, list[str], str]:
    (result,) = evaluate([SYNTHESIZED], [call(status, body, intent="guess")], {}, CHECKS)
    return result.outcome, result.warnings, result.reason


def test_a_guess_answered_4xx_is_a_warning_not_a_failure() -> None:
    outcome_, warnings, _ = verdict(400, {"error": "title is required"})
    assert outcome_ == "passed"
    (warning,) = warnings
    assert "400" in warning and "synthesized spec" in warning and "title is required" in warning


def test_a_guess_answered_5xx_still_fails() -> None:
    outcome_, warnings, reason = verdict(500, "Internal Server Error")
    assert outcome_ == "failed" and "not_a_server_error" in reason
    assert warnings == []


def test_a_guess_answered_2xx_or_401_has_no_warning() -> None:
    assert verdict(201, {"id": 1})[:2] == ("passed", [])
    assert verdict(401)[:2] == ("skipped", [])  # needs auth, as for a valid call


def test_a_valid_call_answered_an_undocumented_4xx_is_a_warning_unless_strict() -> None:
    (result,) = evaluate([SYNTHESIZED], [call(400, {"error": "no"})], {}, CHECKS)
    assert result.outcome == "passed"
    assert any("positive_data_acceptance" in w for w in result.warnings)
    (result,) = evaluate([SYNTHESIZED], [call(400, {"error": "no"})], {}, CHECKS, strict=True)
    assert result.outcome == "failed" and "positive_data_acceptance" in result.reason
