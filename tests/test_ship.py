"""Ship mode: `api-mcp-test generate` writes a server a team can adopt, `api-mcp-test serve` runs
it. The golden file of the example's server, and the shipped server over stdio with a real MCP
client against a real HTTP server: constraints listed, credentials sent, errors as tool errors."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner.mcpgen import MCPGenerator, generate_mcp_wrapper
from runner.models import ApiSpec
from runner.openapi import endpoints_from_openapi
from tests.helpers import REPO, served_in_thread

GOLDEN = Path(__file__).resolve().parent / "golden" / "todo-api" / "mcp_server.py"

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Notes", "version": "2"},
    "components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "queryKey": {"type": "apiKey", "in": "query", "name": "key"},
    }},
    "paths": {
        "/echo": {"get": {
            "operationId": "echo",
            "parameters": [
                {"name": "limit", "in": "query", "description": "Page size",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
                {"name": "tag", "in": "query", "schema": {
                    "type": "string", "minLength": 2, "maxLength": 8, "pattern": "^[a-z]+$"}},
                {"name": "ratio", "in": "query", "schema": {
                    "type": "number", "minimum": 0, "exclusiveMinimum": True, "multipleOf": 0.5}},
                {"name": "when", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "ids", "in": "query", "schema": {
                    "type": "array", "items": {"type": "integer"}, "minItems": 1,
                    "maxItems": 3}},
            ],
            "responses": {"200": {"description": "ok"}}}},
        "/missing": {"get": {"operationId": "missing",
                             "responses": {"404": {"description": "never there"}}}},
    },
}


def spec_of(doc: dict[str, Any]) -> ApiSpec:
    return ApiSpec("openapi", "x", doc, endpoints_from_openapi(doc), title=doc["info"]["title"],
                   version=doc["info"]["version"])


def todo_spec() -> ApiSpec:
    module_spec = importlib.util.spec_from_file_location(
        "todo_main_ship", REPO / "examples" / "todo-api" / "main.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["todo_main_ship"] = module
    module_spec.loader.exec_module(module)
    doc = module.app.openapi()
    return ApiSpec("fastapi", "main:app", doc, endpoints_from_openapi(doc),
                   title=doc["info"]["title"], version=doc["info"]["version"])


def test_golden_todo_api_server() -> None:
    """The shipped server of the example, exactly: every change to it is a reviewable diff.
    Regenerate with `python tests/test_ship.py`."""
    assert generate_mcp_wrapper(todo_spec(), harness=False) == GOLDEN.read_text(encoding="utf-8")


def test_shipped_source_has_no_harness_path_and_its_credentials() -> None:
    code = generate_mcp_wrapper(spec_of(SPEC), harness=False)
    for harness_only in ("mcp_harness", "CALL_LOG", "HEADERS_FILE", "raw_request",
                         "errors_as_results"):
        assert harness_only not in code
    assert 'Credential("bearer", "API_BEARER_AUTH", "Authorization")' in code
    assert 'Credential("header", "API_API_KEY", "X-API-Key")' in code
    assert 'Credential("query", "API_QUERY_KEY", "key")' in code


# --------------------------------------------------------------------------- end to end


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/missing":
        status, body = 404, {"detail": "Not Found"}
    else:
        status = 200
        body = {"headers": {k.decode(): v.decode() for k, v in scope["headers"]},
                "query": scope["query_string"].decode()}
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def echo_api() -> Iterator[str]:
    with served_in_thread(echo_app) as url:
        yield url


def serve(directory: Path, base_url: str, env: dict[str, str]) -> Client:
    """`api-mcp-test serve DIR --base-url URL` as a stdio MCP server."""
    return Client(StdioTransport(
        command=sys.executable, args=["-m", "runner.cli", "serve", str(directory),
                                      "--base-url", base_url],
        env={"PATH": os.environ["PATH"], **env}, cwd=str(REPO), keep_alive=False))


@pytest.mark.slow
def test_shipped_server_over_stdio(echo_api: str, tmp_path: Path) -> None:
    spec_file = tmp_path / "openapi.json"
    spec_file.write_text(json.dumps(SPEC))
    out = tmp_path / "server"
    done = subprocess.run([sys.executable, "-m", "runner.cli", "generate", "--spec",
                           str(spec_file), "-o", str(out)], capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "mcp_runtime",
                                                     "mcp_server.py"]
    readme = (out / "README.md").read_text()
    assert '"mcpServers"' in readme and "API_BEARER_AUTH" in readme and "Cursor" in readme
    secrets = {"API_BEARER_AUTH": "tok-1", "API_API_KEY": "key-2", "API_QUERY_KEY": "q-3"}

    async def run() -> tuple[dict[str, Any], Any, Any, Any]:
        async with serve(out, echo_api, secrets) as client:
            tools = {t.name: t for t in await client.list_tools()}
            echoed = await client.call_tool("echo", {"limit": 5, "ids": [1, 2]})
            missing = await client.call_tool("missing", {}, raise_on_error=False)
        async with serve(out, f"http://127.0.0.1:{free_port()}", {}) as client:
            refused = await client.call_tool("echo", {}, raise_on_error=False)
        return tools, echoed, missing, refused

    tools, echoed, missing, refused = asyncio.run(run())
    assert set(tools) == {"echo", "missing"}  # no raw-request tool in a shipped server
    props = tools["echo"].input_schema["properties"]
    assert props["limit"]["minimum"] == 1 and props["limit"]["maximum"] == 50
    assert "Default: 10" in props["limit"]["description"]
    assert props["tag"]["minLength"] == 2 and props["tag"]["pattern"] == "^[a-z]+$"
    assert props["ratio"]["exclusiveMinimum"] == 0 and props["ratio"]["multipleOf"] == 0.5
    assert props["when"]["format"] == "date"
    assert props["ids"]["minItems"] == 1 and props["ids"]["maxItems"] == 3
    # Optional, not nullable: no null type (pydantic still writes `"default": null`).
    assert props["limit"]["type"] == "integer" and "anyOf" not in props["limit"]
    assert not tools["echo"].input_schema.get("required")

    assert not echoed.is_error
    body = echoed.structured_content
    body = body.get("result", body)
    assert body["headers"]["authorization"] == "Bearer tok-1"
    assert body["headers"]["x-api-key"] == "key-2"
    assert body["query"] == "limit=5&ids=1&ids=2&key=q-3"
    assert missing.is_error and "HTTP 404" in missing.content[0].text
    assert refused.is_error and "ConnectError" in refused.content[0].text


def test_serve_refuses_a_folder_without_a_server(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from runner.cli import main

    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--base-url", "http://x"])
    assert result.exit_code == 2 and "holds no generated server" in result.output


if __name__ == "__main__":  # rewrite the golden file
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(MCPGenerator().generate_mcp_wrapper(todo_spec(), harness=False),
                      encoding="utf-8")
