"""The generated wrapper against a hostile API: slow drip, odd bodies, redirects away, header
injection. Every call ends as a recorded result within the call timeout, never a crash."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner.mcpgen import generate_mcp_wrapper, save_wrapper
from runner.models import ApiSpec
from runner.openapi import endpoints_from_openapi
from runner.redact import Redactor
from tests.helpers import served_in_thread

pytestmark = pytest.mark.slow
CALL_TIMEOUT = 2.0


async def hostile_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app: each path misbehaves in its own way."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    headers = [(b"content-type", b"application/json")]
    status, chunks = 200, [b"{}"]
    if path == "/drip":  # a byte every 0.2 s: no single read is slow, the whole is endless
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for _ in range(200):
            await send({"type": "http.response.body", "body": b"x", "more_body": True})
            await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/bad-utf8":
        headers, chunks = [(b"content-type", b"application/json")], [b'{"name": "\xff\xfe\xc3"}']
    elif path == "/binary":
        headers, chunks = [(b"content-type", b"image/png")], [bytes(range(256)) * 64]
    elif path == "/bogus-charset":
        headers, chunks = [(b"content-type", b"text/plain; charset=x-no-such-codec")], [b"hi"]
    elif path == "/deep-json":
        headers, chunks = [(b"content-type", b"application/json")], [b"[" * 100_000]
    elif path == "/redirect":
        status, headers, chunks = 302, [(b"location", b"http://evil.example/steal")], [b""]
    elif path == "/echo-headers":
        received = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        chunks = [json.dumps(received).encode()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"".join(chunks)})


def operation(op_id: str, params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {"operationId": op_id, "parameters": params or [],
                    "responses": {"200": {"description": "ok"}}}}


SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "Hostile", "version": "1"},
    "paths": {
        "/drip": operation("drip"),
        "/bad-utf8": operation("bad_utf8"),
        "/binary": operation("binary"),
        "/bogus-charset": operation("bogus_charset"),
        "/deep-json": operation("deep_json"),
        "/redirect": operation("redirect"),
        "/echo-headers": operation("echo_headers", [
            {"name": "X-Note", "in": "header", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string"}},
        ]),
    },
}


@pytest.fixture(scope="module")
def hostile_api() -> Iterator[str]:
    with served_in_thread(hostile_app, timeout_graceful_shutdown=1) as url:
        yield url


def call_all(wrapper: Path, base_url: str, log: Path,
             calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    env = {"API_BASE_URL": base_url, "API_MCP_TEST_CALL_LOG": str(log),
           "API_MCP_TEST_TIMEOUT": str(CALL_TIMEOUT)}

    async def run() -> list[dict[str, Any]]:
        transport = StdioTransport(command=sys.executable, args=[str(wrapper)], env=env,
                                   keep_alive=False)
        async with Client(transport) as client:
            results = []
            for tool, arguments in calls:
                result = await client.call_tool(tool, arguments, raise_on_error=False)
                assert not result.is_error, result.content
                results.append(result.structured_content)
            return results

    return asyncio.run(run())


def test_hostile_responses_are_bounded_results(hostile_api: str, tmp_path: Path) -> None:
    spec = ApiSpec(framework="openapi", app_locator="hostile", openapi=SPEC,
                   endpoints=endpoints_from_openapi(SPEC), title="Hostile", version="1")
    wrapper = save_wrapper(generate_mcp_wrapper(spec), tmp_path)
    log = tmp_path / "calls.jsonl"
    began = time.monotonic()
    drip, bad_utf8, binary, bogus, deep, redirect = call_all(wrapper, hostile_api, log, [
        ("drip", {}), ("bad_utf8", {}), ("binary", {}), ("bogus_charset", {}), ("deep_json", {}),
        ("redirect", {}),
    ])
    # httpx's read timeout is per read: the drip is cut by the wrapper's whole-call deadline.
    assert drip["status_code"] is None and drip["error"].startswith("Timeout")
    assert CALL_TIMEOUT * 1000 <= drip["elapsed_ms"] < CALL_TIMEOUT * 1000 + 1500
    assert time.monotonic() - began < 120  # bounded, not fast: the machine may be loaded
    assert bad_utf8["status_code"] == 200 and "\ufffd" in bad_utf8["body"]["name"]
    assert binary["status_code"] == 200 and isinstance(binary["body"], str)
    assert bogus["status_code"] == 200 and bogus["body"] == "hi"
    assert deep["status_code"] == 200 and deep["body_truncated"] is True  # text, cut
    # Redirects are answers, not instructions: recorded as 3xx, never followed off the host.
    assert redirect["status_code"] == 302
    assert redirect["headers"]["location"] == "http://evil.example/steal"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 6 and all(r["url"].startswith(hostile_api) for r in records)


def test_header_and_query_injection_cannot_split_the_request(hostile_api: str,
                                                             tmp_path: Path) -> None:
    spec = ApiSpec(framework="openapi", app_locator="hostile", openapi=SPEC,
                   endpoints=endpoints_from_openapi(SPEC), title="Hostile", version="1")
    wrapper = save_wrapper(generate_mcp_wrapper(spec), tmp_path)
    log = tmp_path / "calls.jsonl"
    crlf, lf, non_ascii, query = call_all(wrapper, hostile_api, log, [
        ("echo_headers", {"x_note": "a\r\nX-Injected: 1"}),
        ("echo_headers", {"x_note": "a\nHost: evil.example"}),
        ("echo_headers", {"x_note": "café"}),
        ("echo_headers", {"q": "1&admin=true\r\nX-Injected: 1#frag"}),
    ])
    for result in (crlf, lf):  # refused by httpx before anything is sent: a result, no crash
        assert result["status_code"] is None and "Illegal header value" in result["error"]
    assert non_ascii["status_code"] is None and "UnicodeEncodeError" in non_ascii["error"]
    assert query["status_code"] == 200 and "x-injected" not in query["body"]
    (record,) = [json.loads(line) for line in log.read_text().splitlines()][3:]
    assert "admin=true" not in record["url"].replace("%26admin%3Dtrue", "")
    assert "%0D%0A" in record["url"] and "#" not in record["url"]


def test_the_headers_file_is_reread_when_it_changes(hostile_api: str, tmp_path: Path) -> None:
    """Credentials can change while the server runs (the LLM agent's log_in and log_out)."""
    spec = ApiSpec(framework="openapi", app_locator="hostile", openapi=SPEC,
                   endpoints=endpoints_from_openapi(SPEC), title="Hostile", version="1")
    wrapper = save_wrapper(generate_mcp_wrapper(spec), tmp_path)
    headers_file = tmp_path / "headers.json"
    env = {"API_BASE_URL": hostile_api, "API_MCP_TEST_HEADERS_FILE": str(headers_file),
           "API_MCP_TEST_HEADERS": json.dumps({"Authorization": "Bearer env", "X-Base": "b"})}

    def replace_file(text: str) -> None:  # the way the runner writes it: a new file, renamed
        staged = tmp_path / "headers.tmp"
        staged.write_text(text)
        os.replace(staged, headers_file)

    async def run() -> list[dict[str, Any]]:
        transport = StdioTransport(command=sys.executable, args=[str(wrapper)], env=env,
                                   keep_alive=False, log_file=tmp_path / "mcp.log")
        seen = []
        async with Client(transport) as client:
            for change in (None, lambda: replace_file('{"Authorization": "Bearer one"}'),
                           lambda: replace_file('{"Authorization": "Bearer two", "X-T": "1"}'),
                           lambda: replace_file("{not json"), headers_file.unlink):
                if change is not None:
                    change()
                result = await client.call_tool("echo_headers", {})
                seen.append(result.structured_content)
        return seen

    replace_file("{}")
    start, one, two, broken, removed = asyncio.run(run())
    assert start["body"]["authorization"] == "Bearer env" and start["body"]["x-base"] == "b"
    assert one["body"]["authorization"] == "Bearer one" and one["body"]["x-base"] == "b"
    assert two["body"]["authorization"] == "Bearer two" and two["body"]["x-t"] == "1"
    # Without the run's credentials a call is not sent: a call judged as if it carried them
    # would be a false verdict.
    for failed in (broken, removed):
        assert failed["status_code"] is None and "cannot read" in failed["error"]
        assert str(headers_file) in failed["error"]

    # A server that cannot read them at start does not start, and says why.
    done = subprocess.run([sys.executable, str(wrapper)], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          check=False)
    assert done.returncode != 0 and f"cannot read {headers_file}" in done.stderr


def test_the_wrapper_process_gets_no_secret(hostile_api: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The MCP server the agent starts inherits nothing secret from the runner."""
    from runner.agent.calllog import CallLog
    from runner.agent.deterministic import DeterministicAgent
    from runner.agent.protocol import AgentSetup
    from runner.servers import DynamicServerManager

    for name, value in {"ANTHROPIC_API_KEY": "sk-ant-fake-wrapper", "GITHUB_TOKEN": "ghs_x1",
                        "INPUT_GITHUB-TOKEN": "ghs_x2", "AWS_SECRET_ACCESS_KEY": "aws-x3",
                        "ACTIONS_RUNTIME_TOKEN": "act-x4"}.items():
        monkeypatch.setenv(name, value)
    spec = ApiSpec(framework="openapi", app_locator="hostile", openapi=SPEC,
                   endpoints=endpoints_from_openapi(SPEC), title="Hostile", version="1")
    wrapper = save_wrapper(generate_mcp_wrapper(spec), tmp_path)
    servers = DynamicServerManager(tmp_path)
    servers.base_url = hostile_api
    mcp = servers.configure_mcp_server(wrapper, tmp_path / "calls.jsonl")
    agent = DeterministicAgent(AgentSetup(mcp, spec, {}, CallLog(tmp_path / "calls.jsonl")))

    async def wrapper_environment() -> dict[str, str]:
        await agent.connect()
        try:
            for pid in os.listdir("/proc"):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if str(wrapper).encode() in cmdline:
                        raw = Path(f"/proc/{pid}/environ").read_bytes()
                        return dict(e.split("=", 1) for e in raw.decode().split("\0") if "=" in e)
                except (OSError, ValueError):
                    continue
            raise AssertionError("the wrapper process was not found")
        finally:
            await agent.close()

    seen = asyncio.run(wrapper_environment())
    assert seen["API_BASE_URL"] == hostile_api
    leaked = [n for n in seen if n.startswith(("ANTHROPIC", "GITHUB", "INPUT_", "AWS_",
                                              "ACTIONS_"))]
    assert leaked == []


def test_redactor_masks_every_form_of_a_secret(tmp_path: Path) -> None:
    secret = 'p@ss "word"/&<x>'
    redact = Redactor([secret, "short", None, "ghs_tokenvalue123"])
    assert "short" not in redact.secrets  # too short to mask without hiding ordinary words
    text = f"raw {secret} json {json.dumps(secret)} url a%20{'p%40ss%20%22word%22%2F%26%3Cx%3E'}"
    masked = redact(text)
    assert "word" not in masked and masked.count("***") == 3
    assert redact("&lt;x&gt;" + "p@ss &quot;word&quot;/&amp;&lt;x&gt;").count("***") == 1
    log = tmp_path / "app.log"
    log.write_bytes(b"token=ghs_tokenvalue123\n\xff binary stays")
    assert redact.files([log, tmp_path / "missing.log"]) == [log]
    assert log.read_bytes() == b"token=***\n\xff binary stays"
    nested = redact.value({"k": [("ghs_tokenvalue123",)], "ghs_tokenvalue123": 1})
    assert nested == {"k": [("***",)], "***": 1}


def test_redactor_reads_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPUT_GITHUB-TOKEN", "ghs_fromtheinput")
    monkeypatch.setenv("UV_INDEX_URL", "https://me:index-pass-99@pypi.example/simple")
    monkeypatch.setenv("INPUT_SUITE", "comprehensive")
    redact = Redactor.for_run(["sk-ant-explicit"], {"DB_PASSWORD": "dbpass-123", "MODE": "x" * 9})
    assert {"ghs_fromtheinput", "index-pass-99", "sk-ant-explicit", "dbpass-123"} <= set(
        redact.secrets)
    assert "comprehensive" not in redact.secrets and "x" * 9 not in redact.secrets
