"""Large APIs: an MCP server that takes long to register its tools still starts within the
servers stage's time, not one call's."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from runner.agent.calllog import CallLog
from runner.agent.deterministic import DeterministicAgent
from runner.agent.protocol import AgentSetup
from runner.models import ApiSpec
from runner.servers import McpCommand

# Registering thousands of tools happens before the server answers `initialize`: a sleep
# stands in for it (longer than the call timeout + 10 s the session used to wait).
SLOW_SERVER = """\
import time
time.sleep(12)
from fastmcp import FastMCP
mcp = FastMCP("slow")

@mcp.tool
def ping() -> str:
    return "pong"

mcp.run(show_banner=False)
"""


@pytest.mark.slow
def test_a_server_slow_to_register_its_tools_gets_the_start_timeout(tmp_path: Path) -> None:
    script = tmp_path / "slow_server.py"
    script.write_text(SLOW_SERVER)
    spec = ApiSpec(framework="fastapi", app_locator="main:app", openapi={}, endpoints=[])
    agent = DeterministicAgent(AgentSetup(McpCommand(sys.executable, [str(script)]), spec, {},
                                          CallLog(tmp_path / "calls.jsonl"), call_timeout=0.5,
                                          start_timeout=300))

    async def connect() -> list[str]:
        await agent.connect()
        try:
            return list(agent._tools)
        finally:
            await agent.close()

    assert asyncio.run(connect()) == ["ping"]
