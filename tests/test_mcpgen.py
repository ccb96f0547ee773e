"""mcpgen: tool names, generated source quality, and the generated server run for real."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import keyword
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner.mcpgen import MCPGenerator, generate_mcp_wrapper, save_wrapper
from runner.models import ApiSpec, Endpoint, ToolCall
from runner.openapi import endpoints_from_openapi

REPO = Path(__file__).resolve().parents[1]
RAW = "api_mcp_test_raw_request"
TODO_APP_DIR = REPO / "examples" / "todo-api"
SPECS = Path(__file__).resolve().parent / "fixtures" / "specs"
TOOL_CALL_FIELDS = {
    "call_id",
    "tool",
    "method",
    "path",
    "arguments",
    "url",
    "status_code",
    "headers",
    "body",
    "body_is_json",
    "body_truncated",
    "body_bytes",
    "elapsed_ms",
    "error",
}


def make_spec(doc: dict[str, Any], framework: str = "openapi") -> ApiSpec:
    return ApiSpec(
        framework=framework,
        app_locator="main:app",
        openapi=doc,
        endpoints=endpoints_from_openapi(doc),
        title=doc["info"]["title"],
        version=doc["info"]["version"],
    )


@pytest.fixture(scope="module")
def todo_spec() -> ApiSpec:
    module_spec = importlib.util.spec_from_file_location("todo_main", TODO_APP_DIR / "main.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["todo_main"] = module  # pydantic resolves the app's annotations through it
    module_spec.loader.exec_module(module)
    return make_spec(module.app.openapi(), "fastapi")


@pytest.fixture(scope="module")
def odd_spec() -> ApiSpec:
    return make_spec(json.loads((SPECS / "odd-names.json").read_text()))


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--isolated"],
        capture_output=True,
        text=True,
        check=False,
    )


def assert_clean_source(path: Path) -> None:
    compile(path.read_text(encoding="utf-8"), str(path), "exec")
    checked = ruff("check", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", str(path))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def import_wrapper(path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str) -> Any:
    monkeypatch.setenv("API_BASE_URL", base_url)
    monkeypatch.syspath_prepend(str(path.parent))  # mcp_runtime/ beside it
    module_spec = importlib.util.spec_from_file_location(f"wrapper_{path.parent.name}", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


async def list_tools(server: Any) -> dict[str, Any]:
    async with Client(server) as client:
        return {tool.name: tool for tool in await client.list_tools()}


# --------------------------------------------------------------------------- names


def endpoint(operation_id: str, method: str = "GET", path: str = "/items") -> Endpoint:
    return Endpoint(method=method, path=path, operation_id=operation_id)


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "expected"),
    [
        ("get_todo_todos__todo_id__get", "GET", "/todos/{todo_id}", "get_todo"),
        ("list_todos_todos_get", "GET", "/todos", "list_todos"),
        ("getPetById", "GET", "/pet/{petId}", "get_pet_by_id"),
        ("Get-Item.v2", "GET", "/items", "get_item_v2"),
        ("HTTPStatusCheck", "GET", "/status", "http_status_check"),
        ("café_órder", "POST", "/orders", "cafe_order"),
        ("获取全部", "GET", "/items/{item_id}/tags", "get_items_item_id_tags"),
        ("", "DELETE", "/items/{item_id}", "delete_items_item_id"),
        ("2fa-verify", "POST", "/2fa", "post_2fa_verify"),
    ],
)
def test_tool_name_from_operation_id(
    operation_id: str, method: str, path: str, expected: str
) -> None:
    spec = ApiSpec("x", "x", {}, [endpoint(operation_id, method, path)])
    assert MCPGenerator().tool_names(spec) == {f"{method} {path}": expected}


@pytest.mark.parametrize(
    ("operation_id", "expected"),
    [("class", "class_"), ("list", "list_"), ("mcp", "mcp_"), ("run", "run_"),
     ("json", "json"), ("asyncio", "asyncio"),  # the server imports neither: nothing to shadow
     ("Operation", "operation")],
)
def test_tool_names_shadow_no_keyword_or_name_of_the_server(operation_id: str,
                                                            expected: str) -> None:
    spec = ApiSpec("x", "x", {}, [endpoint(operation_id, "GET", "/x")])
    assert MCPGenerator().tool_names(spec) == {"GET /x": expected}


def test_tool_names_are_unique_short_identifiers() -> None:
    endpoints = [
        endpoint("dup", "GET", "/a"),
        endpoint("dup", "GET", "/b"),
        endpoint("dup", "GET", "/c"),
        endpoint("x" * 80, "GET", "/d"),
        endpoint("x" * 80, "GET", "/e"),
        endpoint("", "GET", "/"),
        endpoint("!!!", "POST", "/{id}"),
    ]
    names = MCPGenerator().tool_names(ApiSpec("x", "x", {}, endpoints))
    values = list(names.values())
    assert values[:3] == ["dup", "dup_2", "dup_3"]
    assert values[4].endswith("_2")
    assert len(set(values)) == len(values)
    for name in values:
        assert name.isidentifier() and not keyword.iskeyword(name), name
        assert len(name) <= 56 and name == name.lower(), name


# --------------------------------------------------------------------------- generated source


def test_example_api_wrapper_is_clean_code(todo_spec: ApiSpec, tmp_path: Path) -> None:
    code = generate_mcp_wrapper(todo_spec, "http://127.0.0.1:8000")
    path = save_wrapper(code, tmp_path)
    assert path == tmp_path / "mcp_server.py"
    assert_clean_source(path)
    assert code.count("@tools.tool") == 11
    assert "_harness.add_raw_request_tool(" in code  # the 12th tool
    assert 'FastMCP("Todo API", lifespan=_api.lifespan, providers=[tools])' in code
    assert "API_BASE_URL=http://127.0.0.1:8000 python mcp_server.py" in code
    assert "MCP tools for Todo API 1.2.0" in code
    assert (tmp_path / "mcp_runtime" / "api.py").is_file() and (tmp_path / "mcp_harness.py").is_file()
    assert "async def get_todo(todo_id: int) -> dict[str, Any]:" in code


def test_generation_is_deterministic(todo_spec: ApiSpec, odd_spec: ApiSpec) -> None:
    for spec in (todo_spec, odd_spec):
        assert generate_mcp_wrapper(spec) == generate_mcp_wrapper(spec)


def test_petstore_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = make_spec(yaml.safe_load((SPECS / "petstore-v3.yaml").read_text()))
    names = MCPGenerator().tool_names(spec)
    assert len(set(names.values())) == len(names) == len(spec.endpoints) == 19
    assert names["GET /pet/{petId}"] == "get_pet_by_id"
    path = save_wrapper(generate_mcp_wrapper(spec), tmp_path)
    assert_clean_source(path)
    module = import_wrapper(path, monkeypatch, "http://127.0.0.1:9")
    tools = asyncio.run(list_tools(module.mcp))
    assert set(tools) == set(names.values()) | {RAW}
    add_pet = tools["add_pet"].input_schema
    assert set(add_pet["required"]) == {"name", "photo_urls"}
    category = add_pet["properties"]["category"]  # optional, not nullable: no null alternative
    assert category["properties"]["name"]["type"] == "string"
    assert tools["get_pet_by_id"].annotations.read_only_hint is True


def test_odd_spec_wrapper(
    odd_spec: ApiSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_wrapper(generate_mcp_wrapper(odd_spec), tmp_path)
    assert_clean_source(path)
    module = import_wrapper(path, monkeypatch, "http://127.0.0.1:9")
    tools = asyncio.run(list_tools(module.mcp))
    assert sorted(tools) == sorted([*MCPGenerator().tool_names(odd_spec).values(), RAW])
    get_item = tools["get_item_v2"].input_schema["properties"]
    assert {"todo_ref", "x_request_id", "class_", "from_", "id_"} <= set(get_item)
    put_node = tools["get_item_v2_2"].input_schema
    assert set(put_node["required"]) == {"id_", "id_body"}  # body `id` clashes with path `id`
    children = put_node["properties"]["children"]
    assert children["items"] == {"description": "recursive reference to Node"}
    bulk = tools["post_bulk"].input_schema["properties"]["body"]
    assert bulk["items"]["properties"]["title"]["type"] == ["string", "null"]
    assert 'Backslash \\ and """quotes""" survive.' in tools["get_item_v2"].description


@pytest.mark.parametrize("harness", [True, False])
def test_tools_are_registered_without_pydantic_models_with_fastmcps_schemas(
    todo_spec: ApiSpec, odd_spec: ApiSpec, harness: bool, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runtime writes each generated tool's schemas from its signature (no pydantic model
    per tool): exactly the schemas, description and output schema FastMCP derives itself."""
    from fastmcp.tools import Tool

    petstore = make_spec(yaml.safe_load((SPECS / "petstore-v3.yaml").read_text()))
    for index, spec in enumerate((todo_spec, odd_spec, petstore)):
        path = save_wrapper(generate_mcp_wrapper(spec, harness=harness),
                            tmp_path / f"{spec.title}-{index}".replace(" ", "_"))
        module = import_wrapper(path, monkeypatch, "http://127.0.0.1:9")
        registered = module.tools._tools
        assert len(registered) == len(spec.endpoints) + harness
        for name, tool in registered.items():
            assert type(tool).__name__ == "OperationTool", name  # not FastMCP's own path
            own = Tool.from_function(tool.fn, name=name)
            assert (tool.parameters, tool.description) == (own.parameters, own.description)
            # The harness declares no output schema (its client reads the call log).
            assert tool.output_schema == (None if harness else own.output_schema), name


def test_a_tool_validates_its_arguments(todo_spec: ApiSpec, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation is pydantic's, as with FastMCP's own tools (built at the first call): a bad
    call is a tool error naming the argument, and nothing is sent (the API is not there)."""
    path = save_wrapper(generate_mcp_wrapper(todo_spec, harness=False), tmp_path)
    module = import_wrapper(path, monkeypatch, "http://127.0.0.1:9")

    async def call(arguments: dict[str, Any]) -> tuple[bool, str]:
        async with Client(module.mcp) as client:
            result = await client.call_tool("list_todos", arguments, raise_on_error=False)
            return result.is_error, " ".join(getattr(c, "text", "") for c in result.content)

    for arguments, named in (({"limit": "many"}, "limit"), ({"nope": 1}, "nope")):
        is_error, said = asyncio.run(call(arguments))
        assert is_error and named in said and "validation error" in said, said


def test_large_spec_generates() -> None:
    paths = {
        f"/things{i}/{{thing_id}}": {
            "get": {
                "operationId": f"get_thing{i}",
                "parameters": [
                    {
                        "name": "thing_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    },
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 10}},
                ],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "operationId": f"post_thing{i}",
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/T"}}}
                },
                "responses": {"200": {"description": "ok"}},
            },
        }
        for i in range(250)
    }
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "object", "properties": {}}},
    }
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Big", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"T": schema}},
    }
    spec = make_spec(doc)
    code = generate_mcp_wrapper(spec)  # its time is measured in benchmarks/, not asserted
    assert code.count("@tools.tool") == 500
    compile(code, "big.py", "exec")


# --------------------------------------------------------------------------- end to end


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def todo_api() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--app-dir", str(TODO_APP_DIR)]
        + ["--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(base_url + "/health", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the example API did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stdio(wrapper: Path, env: dict[str, str]) -> Client:
    return Client(
        StdioTransport(command=sys.executable, args=[str(wrapper)], env=env, keep_alive=False)
    )


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_todo_tools_over_stdio(todo_spec: ApiSpec, todo_api: str, tmp_path: Path) -> None:
    wrapper = save_wrapper(generate_mcp_wrapper(todo_spec), tmp_path)
    log = tmp_path / "calls.jsonl"

    async def run() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        env = {"API_BASE_URL": todo_api, "API_MCP_TEST_CALL_LOG": str(log)}
        async with stdio(wrapper, env) as client:
            tools = {tool.name: tool for tool in await client.list_tools()}
            created = await client.call_tool(
                "create_todo", {"title": "Buy milk", "priority": "high"}
            )
            fetched = await client.call_tool("get_todo", {"todo_id": created.data["body"]["id"]})
            return tools, created.structured_content, fetched.structured_content

    tools, created, fetched = asyncio.run(run())
    assert len(tools) == 12
    assert {"create_todo", "get_todo", "list_todos", "delete_todo", "health"} <= set(tools)
    create_schema = tools["create_todo"].input_schema
    assert create_schema["required"] == ["title"]
    priority = create_schema["properties"]["priority"]  # optional, not nullable
    assert priority["enum"] == ["low", "normal", "high"] and "anyOf" not in priority
    assert create_schema["properties"]["title"]["maxLength"] == 200
    assert created["status_code"] == 201 and created["error"] is None
    assert created["body"]["title"] == "Buy milk" and created["body"]["priority"] == "high"
    assert fetched["status_code"] == 200 and fetched["body"] == created["body"]
    assert fetched["headers"]["content-type"] == "application/json"
    assert fetched["call_id"].startswith("c-") and len(fetched["call_id"]) == 12

    records = read_log(log)
    assert [r["tool"] for r in records] == ["create_todo", "get_todo"]
    for record in records:
        assert set(record) == TOOL_CALL_FIELDS
    call = ToolCall.from_record(records[1])
    assert call.call_id == fetched["call_id"]
    assert call.path == "/todos/{todo_id}" and call.method == "GET"
    assert call.url == f"{todo_api}/todos/{created['body']['id']}"
    assert call.arguments == {"todo_id": created["body"]["id"]}
    assert call.body_is_json and call.body["title"] == "Buy milk"
    assert call.body_bytes > 0 and call.elapsed_ms > 0
    assert records[0]["arguments"] == {"title": "Buy milk", "priority": "high"}


@pytest.mark.slow
def test_path_parameters_cannot_leave_the_base_url(
    odd_spec: ApiSpec, todo_api: str, tmp_path: Path
) -> None:
    wrapper = save_wrapper(generate_mcp_wrapper(odd_spec), tmp_path)
    log = tmp_path / "calls.jsonl"
    values = ["..", ".", "../admin", "http://evil.example/x", "a/../../b", "?q=1#frag"]

    async def run() -> list[dict[str, Any]]:
        env = {"API_BASE_URL": todo_api, "API_MCP_TEST_CALL_LOG": str(log)}
        async with stdio(wrapper, env) as client:
            return [
                (await client.call_tool("get_item_v2", {"todo_ref": value})).structured_content
                for value in values
            ]

    results = asyncio.run(run())
    assert all(r["status_code"] is not None and r["error"] is None for r in results)
    urls = [r["url"] for r in read_log(log)]
    prefix = f"{todo_api}/todos/"
    assert all(url.startswith(prefix) and "/" not in url[len(prefix) :] for url in urls), urls
    assert urls[0] == prefix + "%2E%2E" and urls[1] == prefix + "%2E"
    assert urls[2] == prefix + "..%2Fadmin"
    assert urls[3] == prefix + "http%3A%2F%2Fevil.example%2Fx"


@pytest.mark.slow
def test_transport_error_is_a_result(todo_spec: ApiSpec, tmp_path: Path) -> None:
    wrapper = save_wrapper(generate_mcp_wrapper(todo_spec), tmp_path)
    log = tmp_path / "calls.jsonl"
    env = {
        "API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "API_MCP_TEST_CALL_LOG": str(log),
    }

    async def run() -> dict[str, Any]:
        async with stdio(wrapper, env) as client:
            return (await client.call_tool("health", {})).structured_content

    result = asyncio.run(run())
    assert result["status_code"] is None
    assert "ConnectError" in result["error"]
    (record,) = read_log(log)
    assert record["status_code"] is None and record["error"] == result["error"]


# --------------------------------------------------------------------------- raw requests


def harness_with_mock(
    spec: ApiSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> tuple[Any, list[httpx.Request]]:
    """The harness build imported in process, its HTTP client answering from a MockTransport."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    module = import_wrapper(save_wrapper(generate_mcp_wrapper(spec), tmp_path), monkeypatch,
                            "http://api.test/base")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(422, json={"detail": "bad"})

    module._api.transport = httpx.MockTransport(answer)
    return module, seen


def test_raw_request_tool_only_in_the_harness_build(todo_spec: ApiSpec, tmp_path: Path) -> None:
    harness = generate_mcp_wrapper(todo_spec)
    shipped = generate_mcp_wrapper(todo_spec, harness=False)
    assert "add_raw_request_tool" in harness and "harness" not in shipped.lower()
    for name, code in (("harness", harness), ("ship", shipped)):
        assert_clean_source(save_wrapper(code, tmp_path / name))
    assert (tmp_path / "harness" / "mcp_harness.py").exists()
    assert not (tmp_path / "ship" / "mcp_harness.py").exists()
    names = MCPGenerator().tool_names(
        ApiSpec("x", "x", {}, [endpoint(RAW, "GET", "/a"), endpoint(RAW, "GET", "/b")])
    )
    assert list(names.values()) == [f"{RAW}_2", f"{RAW}_3"]  # the name is reserved


def test_raw_request_sends_and_records(
    todo_spec: ApiSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "calls.jsonl"
    env = {"API_MCP_TEST_CALL_LOG": str(log),
           "API_MCP_TEST_HEADERS": json.dumps({"Authorization": "Bearer s3", "X-Keep": "1"})}
    module, seen = harness_with_mock(todo_spec, tmp_path, monkeypatch, env)

    async def run() -> list[Any]:
        async with Client(module.mcp) as client:
            tools = {t.name: t for t in await client.list_tools()}
            assert set(tools[RAW].input_schema["required"]) == {"operation", "method", "path"}
            calls = [
                {"operation": "POST /todos", "method": "post", "path": "/todos",
                 "json_body": {"title": 5}, "query": {"tag": ["a", "b"], "skip": None},
                 "headers": {"authorization": None, "X-Extra": "x"}},
                {"operation": "POST /todos", "method": "POST", "path": "todos",
                 "body_text": "{bad", "content_type": "application/json", "intent": "malformed"},
                {"operation": "GET /todos/{todo_id}", "method": "DELETE", "path": "/todos/abc",
                 "intent": "wrong_method"},
            ]
            return [(await client.call_tool(RAW, c)).structured_content for c in calls]

    results = asyncio.run(run())
    assert [r["status_code"] for r in results] == [422, 422, 422]
    first, second, third = seen
    assert str(first.url) == "http://api.test/base/todos?tag=a&tag=b"
    assert first.method == "POST" and json.loads(first.content) == {"title": 5}
    assert first.headers["content-type"] == "application/json"
    assert "authorization" not in first.headers  # removed by a null header
    assert first.headers["x-keep"] == "1" and first.headers["x-extra"] == "x"
    assert second.content == b"{bad" and second.headers["authorization"] == "Bearer s3"
    assert third.method == "DELETE" and str(third.url) == "http://api.test/base/todos/abc"

    records = [ToolCall.from_record(r) for r in read_log(log)]
    assert [(r.tool, r.method, r.path, r.intent) for r in records] == [
        (RAW, "POST", "/todos", "invalid"),
        (RAW, "POST", "/todos", "malformed"),
        (RAW, "GET", "/todos/{todo_id}", "wrong_method"),
    ]
    assert [r["call_id"] for r in results] == [r.call_id for r in records]
    assert records[2].arguments["method"].upper() == "DELETE"
    assert records[0].arguments["json_body"] == {"title": 5}
    assert records[1].url == "http://api.test/base/todos" and records[1].body == {"detail": "bad"}


@pytest.mark.parametrize(
    "arguments",
    [
        {"path": "http://evil.example/todos"},
        {"path": "//evil.example/todos"},
        {"path": "/todos/../admin"},
        {"path": "/todos/%2e%2E/admin"},
        {"path": "/todos/./x"},
        {"path": "/todos?x=1"},
        {"path": "/todos#x"},
        {"path": "/todos\\..\\x"},
        {"path": "/todos\r\nX-Injected: 1"},
        {"headers": {"Host": "evil.example"}},
        {"headers": {"Transfer-Encoding": "chunked"}},
        {"headers": {"connection": "close"}},
        {"headers": {"Bad Name": "x"}},
        {"operation": "GET /nowhere"},
        {"method": "GET /x"},
        {"json_body": {"a": 1}, "body_text": "x"},
    ],
)
def test_raw_request_refuses(
    arguments: dict[str, Any], todo_spec: ApiSpec, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = tmp_path / "calls.jsonl"
    module, seen = harness_with_mock(todo_spec, tmp_path, monkeypatch,
                                     {"API_MCP_TEST_CALL_LOG": str(log)})
    call = {"operation": "GET /todos", "method": "GET", "path": "/todos", **arguments}

    async def run() -> Any:
        async with Client(module.mcp) as client:
            return await client.call_tool(RAW, call, raise_on_error=False)

    result = asyncio.run(run())
    assert result.is_error
    assert seen == [] and (not log.exists() or log.read_text() == "")


@pytest.mark.slow
def test_raw_request_over_stdio(todo_spec: ApiSpec, todo_api: str, tmp_path: Path) -> None:
    wrapper = save_wrapper(generate_mcp_wrapper(todo_spec), tmp_path)
    log = tmp_path / "calls.jsonl"
    bad_title = {"operation": "POST /todos", "method": "POST", "path": "/todos",
                 "json_body": {"title": ["not", "a", "string"]}}
    malformed = {"operation": "POST /todos", "method": "POST", "path": "/todos",
                 "body_text": '{"title": ', "content_type": "application/json",
                 "intent": "malformed"}

    async def run() -> list[Any]:
        env = {"API_BASE_URL": todo_api, "API_MCP_TEST_CALL_LOG": str(log)}
        async with stdio(wrapper, env) as client:
            return [(await client.call_tool(RAW, c)).structured_content
                    for c in (bad_title, malformed)]

    results = asyncio.run(run())
    assert [r["status_code"] for r in results] == [422, 422]
    records = [ToolCall.from_record(r) for r in read_log(log)]
    assert [(r.endpoint_key, r.intent, r.status_code) for r in records] == [
        ("POST /todos", "invalid", 422), ("POST /todos", "malformed", 422)]


def _spec_carrying(text: str) -> ApiSpec:
    """One spec shape; `text` in every free-text field, enum value, default and example."""
    return make_spec({
        "openapi": "3.0.3",
        "info": {"title": f"Shop {text}", "version": f"1 {text}", "description": text},
        "paths": {"/items/{item_id}": {"post": {
            "operationId": "update_item", "summary": text, "description": text,
            "parameters": [
                {"name": "item_id", "in": "path", "required": True, "description": text,
                 "schema": {"type": "string", "enum": [text, "b"], "example": text}},
                {"name": "mode", "in": "query", "description": text,
                 "schema": {"type": "string", "default": text, "pattern": "^x$"}}],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "description": text,
                "properties": {"note": {"type": "string", "title": text, "default": text}}}}}},
            "responses": {"200": {"description": text}}}}},
    })


def _shape(source: str) -> str:
    """The generated module's syntax tree with every string constant blanked."""
    import ast

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


@pytest.mark.parametrize("payload", [
    '"""; import os; os.system("id") #',
    "'''\nimport os\n'''",
    "{tools} {TOOLS} $TOOLS %(tools)s __TOOLS__ {{spec}}",
    "\\\nx = 1\r\n\x00\u2028\ud800",
])
def test_spec_text_is_data_in_the_generated_server_never_code(payload: str) -> None:
    """Issue 12, item 14: the generator builds a syntax tree, so nothing the spec says can
    become code: the server for a spec carrying `payload` everywhere has the same shape as
    the server for the same spec carrying plain words."""
    hostile = generate_mcp_wrapper(_spec_carrying(payload))
    plain = generate_mcp_wrapper(_spec_carrying("plain words"))
    assert _shape(hostile) == _shape(plain)
    compile(hostile, "mcp_server.py", "exec")
