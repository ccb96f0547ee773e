"""DynamicServerManager's public API, used directly: start the API, hand out the MCP command,
drive the generated server over stdio with a real MCP client, stop everything."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from runner import APIDiscoveryService, DynamicServerManager, MCPGenerator
from runner.models import TargetEnv
from tests.helpers import EXAMPLE, processes_mentioning

pytestmark = pytest.mark.slow


def test_start_api_get_mcp_command_and_stop_all(tmp_path: Path, fixture_python: Path) -> None:
    app = tmp_path / "todo"
    shutil.copytree(EXAMPLE, app, ignore=shutil.ignore_patterns("__pycache__"))
    env = TargetEnv(python=fixture_python, root=app, created=False)
    spec = APIDiscoveryService(timeout=60).discover(env)
    generator = MCPGenerator()
    wrapper = generator.save_wrapper(generator.generate_mcp_wrapper(spec), tmp_path)
    manager = DynamicServerManager(tmp_path / "out", start_timeout=30)
    (tmp_path / "out").mkdir()
    try:
        base_url = manager.start_api(env, spec, {})
        assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}
        manager.configure_mcp_server(wrapper, tmp_path / "calls.jsonl")
        mcp = manager.get_mcp_command()
        assert mcp.env["API_BASE_URL"] == base_url

        async def call_health() -> dict:
            transport = StdioTransport(command=mcp.command, args=mcp.args, env=mcp.env,
                                       keep_alive=False)
            async with Client(transport) as client:
                result = await client.call_tool("health", {})
                return result.structured_content

        assert asyncio.run(call_health())["status_code"] == 200
        assert "app.log" in {p.name for p in (tmp_path / "out").iterdir()}
    finally:
        manager.stop_all()
    assert processes_mentioning(str(tmp_path)) == []
