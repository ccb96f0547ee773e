"""Copy-paste curl reproductions of failing calls, and where the reports show them."""

from __future__ import annotations

import shlex

from runner.checks import CHECKS
from runner.evidence import curl
from runner.models import Endpoint, Parameter, ToolCall
from runner.verdicts import evaluate

CREATE = Endpoint(method="POST", path="/shops/{shop_id}/items", operation_id="create",
                  parameters=(Parameter("shop_id", "path", True, {"type": "integer"}),),
                  request_body={"content_type": "application/json", "schema": {
                      "type": "object", "properties": {"name": {"type": "string"},
                                                       "body": {"type": "string"}}}},
                  responses={"201": {"description": "made"}}, security=True)


def made(**extra: object) -> ToolCall:
    defaults = {"call_id": "c-1", "tool": "create", "method": "POST",
                "path": "/shops/{shop_id}/items",
                "arguments": {"shop_id": 3, "name": "Zoë", "body_body": "hi"},
                "url": "http://127.0.0.1:9/shops/3/items", "status_code": 500,
                "body": "Internal Server Error"}
    return ToolCall(**{**defaults, **extra})  # type: ignore[arg-type]


def test_the_body_is_rebuilt_under_its_documented_names_and_no_secret_is_written() -> None:
    words = shlex.split(curl(made(), CREATE))
    assert words[:5] == ["curl", "-i", "-X", "POST", "http://127.0.0.1:9/shops/3/items"]
    assert "Authorization: <your credentials>" in words
    assert words[-1] == '{"name": "Zoë", "body": "hi"}'


def test_a_raw_request_is_reproduced_with_the_method_and_body_it_sent() -> None:
    raw = made(tool="api_mcp_test_raw_request", arguments={
        "operation": "POST /shops/{shop_id}/items", "method": "PUT", "path": "/shops/3/items",
        "json_body": {"name": 5}})
    words = shlex.split(curl(raw, CREATE))
    assert words[3] == "PUT" and words[-1] == '{"name": 5}'


def test_every_failed_check_carries_its_reproduction() -> None:
    (result,) = evaluate([CREATE], [made()], {}, CHECKS)
    failed = [c for c in result.checks if not c.passed]
    assert failed and all(c.reproduce.startswith("curl -i -X POST") for c in failed)
    assert all(not c.reproduce for c in result.checks if c.passed)
