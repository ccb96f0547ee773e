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


def probe(intent: str, status: int, body: Any = None, **expect: Any) -> dict[str, bool]:
    c = call(status, body, intent=intent)
    c.expect = {"after": "POST /items (c-0)", **expect}
    return outcome(c)


def test_use_after_free_fails_when_a_deleted_resource_still_answers() -> None:
    assert probe("after_delete", 404)["use_after_free"] is True
    assert probe("after_delete", 200, {"id": 1, "name": "a"})["use_after_free"] is False
    assert "use_after_free" not in probe("after_delete", 400)


def test_a_created_resource_must_be_readable_with_the_fields_sent() -> None:
    item = {"id": 1, "name": "a"}
    assert probe("after_create", 200, item, fields={"name": "a"})[
        "ensure_resource_availability"] is True
    assert probe("after_create", 200, item, fields={"name": "b"})[
        "ensure_resource_availability"] is False
    assert probe("after_create", 404, {"detail": "no"})["ensure_resource_availability"] is False
    assert probe("after_create", 200, [item], contains=["id", 1])[
        "ensure_resource_availability"] is True
    assert probe("after_create", 200, [item], contains=["id", 2])[
        "ensure_resource_availability"] is False


def test_an_update_must_show_in_a_later_read() -> None:
    assert probe("after_update", 200, {"id": 1, "name": "new"}, fields={"name": "new"})[
        "update_persisted"] is True
    assert probe("after_update", 200, {"id": 1, "name": "old"}, fields={"name": "new"})[
        "update_persisted"] is False
    # The update's answer echoed nothing: only a value unchanged from before is lost.
    unchanged = {"name": {"was": "old", "sent": "new"}}
    assert probe("after_update", 200, {"id": 1, "name": "old"}, unchanged=unchanged)[
        "update_persisted"] is False
    assert probe("after_update", 200, {"id": 1, "name": "NEW"}, unchanged=unchanged)[
        "update_persisted"] is True


def test_auth_probes_must_be_refused() -> None:
    assert probe("no_auth", 401)["ignored_auth"] is True
    assert probe("no_auth", 200, {"id": 1, "name": "a"})["ignored_auth"] is False
    assert probe("other_user", 404)["object_level_authorization"] is True
    assert probe("other_user", 200, {"id": 1, "name": "a"})[
        "object_level_authorization"] is False


def test_paging_and_filters_bound_the_items() -> None:
    two = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    assert probe("paging", 200, two, max_items=1, param="limit")["paging_respected"] is False
    assert probe("paging", 200, two[:1], max_items=1)["paging_respected"] is True
    assert probe("filter", 200, two, field="name", value="a")["filter_respected"] is False
    assert probe("filter", 200, {"items": two[:1]}, field="name", value="a")[
        "filter_respected"] is True


def test_negative_input_must_get_a_4xx_and_a_missing_header_has_its_own_check() -> None:
    assert probe("invalid", 422)["negative_data_rejection"] is True
    assert probe("invalid", 201, {"id": 1, "name": "a"}, broken="name: too long")[
        "negative_data_rejection"] is False
    result = probe("invalid", 200, {"id": 1, "name": "a"}, missing_header="X-Key")
    assert result["missing_required_header"] is False and "negative_data_rejection" not in result


def test_documented_required_response_headers_must_be_present() -> None:
    created = Endpoint(method="POST", path="/items", operation_id="create",
                       responses={"201": {"description": "made", "headers": {
                           "Location": {"required": True, "schema": {"type": "string"}}}}})
    c = call(201, {"id": 1})
    assert {r.check: r.passed for r in run_checks(c, created, CHECKS)}[
        "response_headers_conformance"] is False
    c.headers["location"] = "/items/1"
    assert {r.check: r.passed for r in run_checks(c, created, CHECKS)}[
        "response_headers_conformance"] is True


def test_a_404_or_409_after_the_runs_own_writes_is_explained_not_failed() -> None:
    loan = Endpoint(method="POST", path="/books/{id}/loan", operation_id="loan",
                    responses={"200": {"description": "ok"}})
    write = ToolCall(call_id="c-0", tool="loan", method="POST", path="/books/{id}/loan",
                     arguments={}, status_code=200)
    again = ToolCall(call_id="c-1", tool="loan", method="POST", path="/books/{id}/loan",
                     arguments={}, status_code=409, body={"detail": "on loan"}, body_is_json=True)
    (result,) = evaluate([loan], [write, again], {}, CHECKS, strict=True)
    assert result.outcome == "passed"
    assert any("explained by the run's own earlier calls" in w for w in result.warnings)
    (result,) = evaluate([loan], [again], {}, CHECKS, strict=True)
    assert result.outcome == "failed"


def test_operations_the_budget_left_out_are_skipped_with_the_reason() -> None:
    (result,) = evaluate([GET_ITEM], [], {}, CHECKS, not_called={
        "GET /items/{id}": "not tested: the call budget (10 calls) ran out"})
    assert result.outcome == "skipped" and "budget (10 calls)" in result.reason


def test_an_idempotent_delete_of_a_missing_id_is_no_alarm() -> None:
    gone = ToolCall(call_id="c-9", tool="delete_item", method="DELETE", path="/items/{id}",
                    arguments={"id": 987654321}, status_code=204, intent="not_found")
    assert "unknown_id_rejection" not in outcome(gone)


def test_an_ignored_invalid_optional_query_value_is_a_warning_unless_strict() -> None:
    ignored = call(200, {"id": 1, "name": "a"}, intent="invalid",
                   expect={"broken": "query limit: wrong type", "optional_query": True},
                   url="http://127.0.0.1:1/items/1?limit=abc")
    (result,) = evaluate([GET_ITEM], [ignored], {}, CHECKS)
    assert result.outcome == "passed"
    assert result.warnings and "optional query value was ignored" in result.warnings[0]
    (strict,) = evaluate([GET_ITEM], [ignored], {}, CHECKS, strict=True)
    assert strict.outcome == "failed" and "negative_data_rejection" in strict.reason
    body_broken = call(200, {"id": 1, "name": "a"}, intent="invalid",
                       expect={"broken": "name: too long"}, url="http://127.0.0.1:1/items/1")
    (result,) = evaluate([GET_ITEM], [body_broken], {}, CHECKS)
    assert result.outcome == "failed"
