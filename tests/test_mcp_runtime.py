"""The generated server's runtime (runner/mcpgen/runtime/, shipped as mcp_runtime/) and
harness hooks, against httpx.MockTransport: requests built, answers recorded and returned."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastmcp import Client, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools import Tool

from runner.mcpgen.harness import Harness
from runner.mcpgen.runtime import Api, Credential, Operation, Settings, SettingsError, ToolIndex

BASE = "http://api.test/v1"
GET_ITEM = Operation("get_item", "GET", "/items/{item_id}", {
    "item_id": ("path", "item_id"), "q": ("query", "q"), "x_note": ("header", "X-Note"),
    "session": ("cookie", "session")})
CREATE = Operation("create", "POST", "/items", {"name": ("field", "name"),
                                                "id_body": ("field", "id")})


def answer_with(response: httpx.Response, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response
    return httpx.MockTransport(handler)


async def call(api: Api, operation: Operation, arguments: dict[str, Any]) -> Any:
    async with api.lifespan():
        return await api.call(operation, arguments)


def test_arguments_go_where_the_operation_says() -> None:
    seen: list[httpx.Request] = []
    api = Api(errors_as_results=True, environ={"API_BASE_URL": BASE},
              transport=answer_with(httpx.Response(200, json={"ok": True}), seen))
    result = asyncio.run(call(api, GET_ITEM, {"item_id": "../a b", "q": [1, True], "x_note": "n",
                                              "session": "s1"}))
    (request,) = seen
    assert str(request.url) == f"{BASE}/items/..%2Fa%20b?q=1&q=true"
    assert request.headers["x-note"] == "n" and request.headers["cookie"] == "session=s1"
    assert result["status_code"] == 200 and result["body"] == {"ok": True}
    asyncio.run(call(api, CREATE, {"name": "n", "id_body": 3}))
    assert json.loads(seen[1].content) == {"name": "n", "id": 3}
    asyncio.run(call(api, CREATE, {"name": "n", "id_body": None}))  # None: omitted
    assert json.loads(seen[2].content) == {"name": "n"}


@pytest.mark.parametrize(("credential", "where", "expected"), [
    (Credential("bearer", "API_TOKEN"), "authorization", "Bearer s3cr3t"),
    (Credential("basic", "API_TOKEN"), "authorization",
     "Basic " + base64.b64encode(b"s3cr3t").decode()),
    (Credential("header", "API_TOKEN", "X-API-Key"), "x-api-key", "s3cr3t"),
    (Credential("query", "API_TOKEN", "api_key"), "query", "s3cr3t"),
    (Credential("cookie", "API_TOKEN", "sid"), "cookie", "sid=s3cr3t"),
])
def test_credentials_come_from_the_environment(credential: Credential, where: str,
                                               expected: str) -> None:
    seen: list[httpx.Request] = []
    api = Api(credentials=(credential,), environ={"API_BASE_URL": BASE, "API_TOKEN": "s3cr3t"},
              transport=answer_with(httpx.Response(204), seen))
    asyncio.run(call(api, GET_ITEM, {"item_id": 1}))
    request = seen[0]
    found = request.url.params.get("api_key") if where == "query" else request.headers.get(where)
    assert found == expected
    unset = Api(credentials=(credential,), environ={"API_BASE_URL": BASE},
                transport=answer_with(httpx.Response(204), seen))
    asyncio.run(call(unset, GET_ITEM, {"item_id": 1}))
    assert "authorization" not in seen[1].headers and not seen[1].url.params


def test_shipped_answers_are_bodies_and_errors_are_tool_errors() -> None:
    seen: list[httpx.Request] = []
    ok = Api(environ={"API_BASE_URL": BASE}, transport=answer_with(
        httpx.Response(200, json=[1, 2]), seen))
    assert asyncio.run(call(ok, GET_ITEM, {"item_id": 1})) == [1, 2]
    missing = Api(environ={"API_BASE_URL": BASE}, transport=answer_with(
        httpx.Response(404, json={"detail": "Not Found"}), seen))
    with pytest.raises(ToolError, match=r"HTTP 404 .*Not Found"):
        asyncio.run(call(missing, GET_ITEM, {"item_id": 1}))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    down = Api(environ={"API_BASE_URL": BASE}, transport=httpx.MockTransport(refuse))
    with pytest.raises(ToolError, match="ConnectError"):
        asyncio.run(call(down, GET_ITEM, {"item_id": 1}))


@pytest.mark.parametrize("environ", [{}, {"API_BASE_URL": "ftp://x"},
                                     {"API_BASE_URL": BASE, "API_MCP_TEST_TIMEOUT": "0"},
                                     {"API_BASE_URL": BASE, "API_MCP_TEST_HEADERS": "[1]"}])
def test_bad_settings_are_named(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_environment(environ)


def test_settings_are_read_when_serving_not_at_import() -> None:
    api = Api(environ={})  # no API_BASE_URL: building the server needs none
    with pytest.raises(RuntimeError, match="not open"):
        _ = api.settings
    with pytest.raises(SettingsError, match="API_BASE_URL"):
        asyncio.run(call(api, GET_ITEM, {"item_id": 1}))


async def call_through_mcp(api: Api) -> Any:
    """One call through a real FastMCP server and client (their serializers included)."""
    mcp = FastMCP("x", lifespan=api.lifespan)

    @mcp.tool
    async def fetch() -> Any:
        return await api.call(Operation("fetch", "GET", "/x"), {})

    async with Client(mcp) as client:
        return await client.call_tool("fetch", {}, raise_on_error=False)


DEEP = b"[" * 300 + b"]" * 300
SURROGATE = b'{"name": "\\ud800 alone"}'


@pytest.mark.parametrize("data", [DEEP, SURROGATE])
def test_deep_json_and_lone_surrogates_are_recorded_answers(data: bytes, tmp_path: Path) -> None:
    """Answers JSON libraries and MCP serializers cannot carry stay the text they are."""
    log = tmp_path / "calls.jsonl"
    harness = Harness({"API_MCP_TEST_CALL_LOG": str(log)})
    response = httpx.Response(200, content=data, headers={"content-type": "application/json"})
    for errors_as_results in (True, False):
        api = Api(errors_as_results=errors_as_results, hooks=harness,
                  environ={"API_BASE_URL": BASE}, transport=answer_with(response, []))
        result = asyncio.run(call_through_mcp(api))
        assert not result.is_error, result.content
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for record in records:
        assert record["status_code"] == 200 and record["error"] is None
        assert record["body"] == data.decode() and record["body_is_json"] is False


# -- ToolIndex: a call finds its tool without going through the others ------------------------


class CountingIndex(ToolIndex):
    """Counts listings: a call that lists (or scans) every tool costs more with more tools."""

    listings = 0

    async def _list_tools(self) -> list[Tool]:
        type(self).listings += 1
        return await super()._list_tools()


def test_tool_index_serves_tools_by_name_without_listing_them() -> None:
    index = CountingIndex()
    for number in range(300):
        async def echo(value: int) -> int:
            return value

        index.tool(name=f"tool_{number}", annotations={"readOnlyHint": True})(echo)
    mcp = FastMCP("x", providers=[index])

    async def exercise() -> tuple[list[Any], Any, Any]:
        async with Client(mcp) as client:
            listed = await client.list_tools()
            listings = CountingIndex.listings
            result = await client.call_tool("tool_299", {"value": 7})
            assert CountingIndex.listings == listings, "a call listed every tool"
            unknown = await client.call_tool("nope", {}, raise_on_error=False)
            return listed, result, unknown

    listed, result, unknown = asyncio.run(exercise())
    assert len(listed) == 300 and listed[0].annotations.read_only_hint is True
    assert listed[5].input_schema["properties"]["value"]["type"] == "integer"
    assert result.data == 7
    assert unknown.is_error
    # FastMCP's own store scans every component per lookup: the generated tools are not there.
    assert not asyncio.run(mcp.local_provider.list_tools())
    with pytest.raises(ValueError, match="two tools"):
        index.tool(name="tool_1")(lambda: None)


def test_the_call_after_a_5xx_gets_a_fresh_connection() -> None:
    """A real loopback server that, like uvicorn after an unhandled exception, answers 500 and
    then closes that connection a moment later without `Connection: close`, never reading the
    next request sent on it: that request must not fail with no answer."""

    async def scenario() -> list[Any]:
        requests_per_connection: list[int] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            requests_per_connection.append(1)
            if len(requests_per_connection) == 1:
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n"
                             b"Content-Type: text/plain\r\n\r\nerror")
                await writer.drain()
                await asyncio.sleep(0.5)  # the next request arrives meanwhile, never read
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                             b"Content-Type: application/json\r\n\r\n{}")
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        api = Api(errors_as_results=True, environ={"API_BASE_URL": f"http://127.0.0.1:{port}"})
        async with server, api.lifespan():
            first = await api.call(Operation("crash", "GET", "/crash"), {})
            second = await api.call(Operation("ok", "GET", "/ok"), {})
        return [first, second]

    first, second = asyncio.run(scenario())
    assert first["status_code"] == 500
    assert second["error"] is None and second["status_code"] == 200, second


# -- the call record: written by the runtime, read by the runner's call log -------------------


def test_the_call_record_is_one_shape_on_both_sides(tmp_path: Path) -> None:
    """What the runtime logs for an answered and an unanswered call reads back as a `ToolCall`,
    and a record the runner does not declare is refused (dropped from the log), not trimmed."""
    from runner.agent.calllog import CallLog
    from runner.models import ToolCall

    log = tmp_path / "calls.jsonl"
    harness = Harness({"API_MCP_TEST_CALL_LOG": str(log)})
    answered = httpx.MockTransport(lambda request: httpx.Response(201, json={"id": 1}))

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    for transport in (answered, httpx.MockTransport(refused)):
        api = Api(errors_as_results=True, hooks=harness, environ={"API_BASE_URL": BASE},
                  transport=transport)
        asyncio.run(call(api, CREATE, {"name": "a"}))
    written = [json.loads(line) for line in log.read_text().splitlines()]
    calls = [ToolCall.from_record(record) for record in written]
    assert [(c.status_code, c.error is None) for c in calls] == [(201, True), (None, False)]
    assert all(c.method == "POST" and c.path == "/items" for c in calls)

    stray = dict(written[0], call_id="c-stray", colour="blue")
    with pytest.raises(ValueError, match="colour"):
        ToolCall.from_record(stray)
    with log.open("a") as file:
        file.write(json.dumps(stray) + "\n")
    call_log = CallLog(log)
    assert call_log.get("c-stray") is None
    assert {c.call_id for c in call_log.all_calls()} == {c.call_id for c in calls}
