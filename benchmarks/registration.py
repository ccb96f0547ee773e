"""CPU seconds to register and list N generated tools: the runtime's ToolIndex against FastMCP's own
way (`Tool.from_function`, a pydantic model per tool), in the same process.

    .venv/bin/python benchmarks/registration.py [--ops 11 500 5000]

For each N it writes the wide FastAPI app (benchmarks/apps.py), takes its OpenAPI document (FastAPI
is in this environment with the test extras), generates the harness server, and in a fresh
process times: importing the server's libraries, importing the server module (every tool
registered), listing the tools over an in-process MCP client, then `Tool.from_function` for the
same functions. CPU is the process' user + system time, so a loaded machine changes it little.
Target (issue 17): 5,000 tools register in time linear in N and cheap.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from apps import wide_app  # benchmarks/apps.py (scripts run from their folder)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from runner.mcpgen import MCPGenerator
from runner.models import ApiSpec
from runner.openapi import endpoints_from_openapi

CHILD = r"""
import asyncio, json, resource, sys, time
sys.path.insert(0, sys.argv[1])
cpu = time.process_time
start = cpu()
import fastmcp.tools, httpx, mcp_harness, mcp_runtime  # the libraries, not the tools
from fastmcp import Client, FastMCP
libraries = cpu() - start
start = cpu()
import mcp_server
registered = cpu() - start
async def listing():
    async with Client(mcp_server.mcp) as client:
        return len(await client.list_tools())
start = cpu()
listed = asyncio.run(listing())
listing_s = cpu() - start
start = cpu()
for name, tool in mcp_server.tools._tools.items():
    fastmcp.tools.Tool.from_function(tool.fn, name=name)
own = cpu() - start
print(json.dumps({"libraries": libraries, "register": registered, "list": listing_s,
                  "listed": listed, "fastmcp_own": own,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def openapi_of(app_dir: Path) -> dict:
    module_spec = importlib.util.spec_from_file_location(f"wide_{app_dir.name}", app_dir / "main.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.app.openapi()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, nargs="+", default=[11, 500, 5000])
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"{'tools':>6} {'libs s':>7} {'register s':>10} {'ms/tool':>8} {'list s':>7} "
          f"{'FastMCP own s':>13} {'ms/tool':>8} {'RSS MB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.ops:
            doc = openapi_of(wide_app(Path(tmp) / f"wide{count}", count))
            spec = ApiSpec(framework="fastapi", app_locator="main:app", openapi=doc,
                           endpoints=endpoints_from_openapi(doc), title="Wide API")
            generator = MCPGenerator()
            folder = Path(tmp) / f"server{count}"
            generator.save_wrapper(generator.generate_mcp_wrapper(spec), folder)
            done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True,
                                  text=True, check=True, env={**os.environ, "API_BASE_URL":
                                                              "http://127.0.0.1:9"})
            row = json.loads(done.stdout.strip().splitlines()[-1])
            tools = row["listed"]
            print(f"{tools:>6} {row['libraries']:>7.2f} {row['register']:>10.2f} "
                  f"{1000 * row['register'] / tools:>8.2f} {row['list']:>7.2f} "
                  f"{row['fastmcp_own']:>13.2f} {1000 * row['fastmcp_own'] / tools:>8.2f} "
                  f"{row['rss_mb']:>7.0f}")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
